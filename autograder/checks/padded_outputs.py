"""Checks for 05's padded-batch exercises: last-valid-output and
bidirectional-features.

A padded batch is built the way torch's `pad_packed_sequence` builds it (each
sequence's outputs, zeros after its length), and its answers come from running every
sequence alone: packed results equal those runs, so the oracle never relies on the
indexing the learner is asked to write. The notebook's test cells call these checks
through `inputs_outputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from autograder.checks import core
from autograder.checks.core import fail, passed
from autograder.checks.outputs_oracle import INPUT_SIZE, _attempt, _diagnose, _lstm
from autograder.i18n import _


def _padded_run(
    seed: int,
    lengths: Sequence[int],
    total_length: int,
    num_layers=1,
    bidirectional=False,
):
    """The padded output of a variable-length batch, (total_length, N, D*H_out), and
    the h_n of each sequence run alone, (N, D*num_layers, H_out)."""
    outputs, finals = [], []
    with core.forked_rng(seed), torch.no_grad():
        lstm = _lstm(4, num_layers, bidirectional)
        for length in lengths:
            x = torch.randn(length, INPUT_SIZE, dtype=torch.float64)
            output, (h_n, _c_n) = lstm(x)
            outputs.append(output)
            finals.append(h_n)
    padded = torch.zeros(
        total_length, len(lengths), outputs[0].shape[-1], dtype=torch.float64
    )
    for b, output in enumerate(outputs):
        padded[: len(output), b] = output
    return padded, torch.stack(finals)


# ---------------------------------------------------------------------------
# last-valid-output and bidirectional-features

PaddedCase = tuple  # (lengths, total_length, batch_first)
PADDED_CASES: tuple[PaddedCase, ...] = (  # lengths as a tensor and as a list
    ((4, 2, 3), 6, False),
    ([5, 1, 3, 2], 5, True),
)


def last_valid_output_reference(output, lengths, batch_first=False):
    if batch_first:
        output = output.transpose(0, 1)
    index = torch.as_tensor(lengths) - 1
    return output[index, torch.arange(output.shape[1])]


@dataclass
class _Padded:
    """One padded batch: `output` time-major, `shown` as the learner gets it."""

    output: torch.Tensor  # (L, N, D*H_out), zeros after each length
    h_n: torch.Tensor  # (N, D*num_layers, H_out): each sequence run alone
    lengths: torch.Tensor | list  # as passed to the learner
    batch_first: bool
    context: str

    @property
    def shown(self) -> torch.Tensor:
        return (
            self.output.transpose(0, 1).contiguous()
            if self.batch_first
            else self.output
        )


def _padded_case(seed, lengths, total_length, batch_first, bidirectional) -> _Padded:
    output, h_n = _padded_run(seed, lengths, total_length, bidirectional=bidirectional)
    return _Padded(
        output,
        h_n,
        torch.tensor(lengths) if isinstance(lengths, tuple) else lengths,
        batch_first,
        _(
            "lengths {lengths}, padded to L = {total_length}, batch_first={batch_first}"
        ).format(
            lengths=list(lengths), total_length=total_length, batch_first=batch_first
        ),
    )


def _check_padded(name, fn, case: _Padded, expected, known, **hints):
    """Call `fn(case.shown, lengths, batch_first)` and diagnose its answer; when a
    batch-first case fails, try the same call time-major to blame the layout."""

    def explain():
        if not case.batch_first:
            return
        try:
            with core.quiet():
                time_major = fn(case.output, case.lengths, False)
        except Exception:  # noqa: BLE001 - only diagnosing
            return
        if core.matches(time_major, expected):
            fail(
                _(
                    "{name} for {context}: with batch_first=True, output is "
                    "(N, L, F): time is dim 1, so index there (or transpose first)"
                ).format(name=name, context=case.context),
                "batch-first-ignored",
            )

    try:
        got = _attempt(name, fn, case.shown, case.lengths, case.batch_first, **hints)
    except core.CheckFailed:
        explain()
        raise
    _diagnose(name, got, expected, known, case.context, explain=explain)


@core.exercise("last-valid-output")
def check_last_valid_output(
    last_valid_output: Callable,
    seed: int = 0,
    cases: Sequence[PaddedCase] = PADDED_CASES,
    bidirectional: bool = False,
) -> None:
    """last_valid_output(output, lengths, batch_first)[b] must be the output of
    sequence b at its last real step, t = lengths[b] - 1, i.e. the last output of
    that sequence run alone."""
    for lengths, total_length, batch_first in cases:
        case = _padded_case(seed, lengths, total_length, batch_first, bidirectional)
        output = case.output
        index, batch = torch.as_tensor(lengths), torch.arange(len(lengths))
        expected = output[index - 1, batch]
        full = max(lengths) == total_length  # else index -1 gives pads only
        known = [
            core.Known(
                "padded-last-step",
                _(
                    "you took index -1 of the padded batch: for a sequence shorter "
                    "than L that is a pad (zeros). Take t = lengths[b] - 1"
                ),
                output[-1] if full else None,
            ),
            core.Known(
                "picked-pads",
                _(
                    "you picked pads (zeros): index -1 of the padded batch, or "
                    "t = lengths[b] (off by one), is past a short sequence's end; its "
                    "last real step is t = lengths[b] - 1"
                ),
                torch.zeros_like(expected),
            ),
            core.Known(
                "view-not-transpose",
                _(
                    "you turned (N, L, F) into (L, N, F) with view or reshape, which "
                    "mixes steps and sequences: use transpose(0, 1)"
                ),
                last_valid_output_reference(
                    case.shown.view(total_length, len(lengths), -1), index
                )
                if batch_first
                else None,
            ),
        ]
        by_error = {
            "IndexError": (
                "off-by-one",
                _(
                    "off by one? t = lengths[b] is past the end when "
                    "lengths[b] = L: the last real step is t = lengths[b] - 1"
                ),
            ),
            "TypeError": (
                "lengths-type",
                _(
                    "lengths may be a list of ints or a tensor: "
                    "torch.as_tensor(lengths) takes both"
                ),
            ),
        }
        _check_padded(
            "last_valid_output",
            last_valid_output,
            case,
            expected,
            known,
            by_error=by_error,
        )
    passed(_("last_valid_output picks each sequence's last real step"))


@core.exercise("bidirectional-features")
def check_bidirectional_features(
    bidirectional_features: Callable,
    seed: int = 0,
    cases: Sequence[PaddedCase] = PADDED_CASES,
) -> None:
    """bidirectional_features(output, lengths, batch_first) of a padded bidirectional
    output must equal h_n's last-layer rows (forward, reverse) of each sequence run
    alone: what packing would have given."""
    for lengths, total_length, batch_first in cases:
        case = _padded_case(seed, lengths, total_length, batch_first, True)
        output, h_n = case.output, case.h_n
        expected = torch.cat([h_n[:, -2], h_n[:, -1]], -1)
        H = h_n.shape[-1]
        valid = last_valid_output_reference(output, case.lengths)
        known = [
            core.Known(
                "reverse-at-padded-end",
                _(
                    "you took output[-1] for the reverse direction: it runs from the "
                    "last step to the first, so its final state is at t = 0 (pytorch "
                    "issue #3587)"
                ),
                torch.cat([valid[:, :H], output[-1, :, H:]], -1),
            ),
            core.Known(
                "both-at-padded-end",
                _(
                    "you took output[-1] for both directions: the forward one ends at "
                    "t = lengths - 1, the reverse one at t = 0 (pytorch issue #3587)"
                ),
                output[-1],
            ),
            core.Known(
                "reverse-at-last-real-step",
                _(
                    "the reverse direction ends at t = 0, not at the last real step "
                    "(where it starts)"
                ),
                valid,
            ),
            core.Known(
                "forward-at-padded-end",
                _(
                    "the forward half comes from the padded last step: take it at "
                    "t = lengths - 1"
                ),
                torch.cat([output[-1, :, :H], output[0, :, H:]], -1),
            ),
            core.Known(
                "directions-swapped",
                _("the directions are swapped: forward first, then reverse"),
                torch.cat([output[0, :, H:], valid[:, :H]], -1),
            ),
        ]
        with core.using(
            bidirectional_features, last_valid_output=last_valid_output_reference
        ):
            _check_padded(
                "bidirectional_features", bidirectional_features, case, expected, known
            )
    passed(_("bidirectional_features equals the packed run's final states"))
