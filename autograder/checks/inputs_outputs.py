"""Checks for 05_inputs_outputs: what goes into an LSTM and what comes out.

The oracle is `lstm_ref.LSTM` run in float64. A padded batch is built the way torch's
`pad_packed_sequence` builds it (each sequence's outputs, zeros after its length), and
its answers come from running every sequence alone: packed results equal those runs, so
the oracle never relies on the indexing the learner is asked to write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from autograder.checks import core
from autograder.checks.core import fail, passed
from autograder.i18n import N_, _
from lstm_ref import LSTM

INPUT_SIZE = 3

# ---------------------------------------------------------------------------
# Running the oracle


def _lstm(hidden_size: int, num_layers: int = 1, bidirectional=False):
    return LSTM(
        INPUT_SIZE, hidden_size, num_layers, bidirectional=bidirectional
    ).double()


def _run(seed: int, num_layers: int, bidirectional: bool, batch: int | None, steps=5):
    """(output, h_n) of a seeded LSTM on a batched (batch = N) or unbatched input."""
    shape = (steps, batch, INPUT_SIZE) if batch else (steps, INPUT_SIZE)
    with core.forked_rng(seed), torch.no_grad():
        lstm = _lstm(4, num_layers, bidirectional)
        output, (h_n, _c_n) = lstm(torch.randn(shape, dtype=torch.float64))
    return output, h_n


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


def _describe(num_layers: int, bidirectional: bool, batch: int | None) -> str:
    if bidirectional and batch:
        text = _("a {num_layers}-layer bidirectional LSTM on a batch of {batch}")
    elif bidirectional:
        text = _("a {num_layers}-layer bidirectional LSTM on an unbatched input")
    elif batch:
        text = _("a {num_layers}-layer unidirectional LSTM on a batch of {batch}")
    else:
        text = _("a {num_layers}-layer unidirectional LSTM on an unbatched input")
    return text.format(num_layers=num_layers, batch=batch)


def _attempt(name: str, fn: Callable, *args, hint: str = "", by_error=None):
    """Call learner code; on an exception, fail with its message and a likely cause:
    `by_error[exception type name]` if given, else `hint`."""
    rules = [(f"{kind}:", because) for kind, because in (by_error or {}).items()]
    with core.explain(*rules, *([("", hint)] if hint else [])):
        return core.call(name, fn, *args)


def _diagnose(
    name: str,
    got,
    expected: torch.Tensor,
    known: dict,
    context: str,
    hint: str = "",
    explain: Callable[[], None] = lambda: None,
):
    """Fail with the first known mistake `got` matches (None, or a mistake that gives
    the right answer on this case, is skipped); else, if `got` is wrong, let
    `explain` name a cause, and compare with `expected`."""
    possible = {m: wrong for m, wrong in known.items() if wrong is not None}
    message = core.find_mistake(got, possible, correct=expected)
    if message:
        fail(
            _("{name} for {context}: {message}").format(
                name=name, context=context, message=message
            )
        )
    if not core.matches(got, expected):
        explain()
    core.expect_close(
        _("{name} for {context}").format(name=name, context=context),
        got,
        expected,
        hint,
    )


# ---------------------------------------------------------------------------
# predict-shapes

SHAPE_QUESTIONS = {
    # key: (nn.LSTM keyword arguments, input shape, tensor asked for)
    "a_h_n": (dict(input_size=10, hidden_size=20, num_layers=2), (5, 3, 10), "h_n"),
    "b_output": (dict(input_size=10, hidden_size=20, num_layers=2), (5, 10), "output"),
    "b_h_n": (dict(input_size=10, hidden_size=20, num_layers=2), (5, 10), "h_n"),
    "c_output": (
        dict(input_size=4, hidden_size=6, batch_first=True, bidirectional=True),
        (3, 7, 4),
        "output",
    ),
    "c_h_n": (
        dict(input_size=4, hidden_size=6, batch_first=True, bidirectional=True),
        (3, 7, 4),
        "h_n",
    ),
    "c_c_0": (
        dict(input_size=4, hidden_size=6, batch_first=True, bidirectional=True),
        (3, 7, 4),
        "c_0",
    ),
}


def _true_shape(kwargs: dict, input_shape: tuple, tensor: str) -> tuple:
    """Run the LSTM on zeros and read the shape off (c_0 has the shape of c_n)."""
    with core.forked_rng(0), torch.no_grad():
        output, (h_n, c_n) = LSTM(**kwargs)(torch.zeros(input_shape))
    return tuple({"output": output, "h_n": h_n, "c_0": c_n}[tensor].shape)


def _shape_hint(got: tuple, kwargs: dict, input_shape: tuple, tensor: str) -> str:
    """The likely misconception behind a wrong predicted shape."""
    batched = len(input_shape) == 3
    batch_first = kwargs.get("batch_first", False)
    D = 2 if kwargs.get("bidirectional", False) else 1
    layers, H = kwargs.get("num_layers", 1), kwargs["hidden_size"]
    N = input_shape[0 if batch_first else 1] if batched else None
    L = input_shape[1 if batch_first else 0]
    rows = _("count the directions too: D·num_layers rows")
    if tensor == "output":
        concatenated = _("output concatenates both directions on its last dim: D·H_out")
        hints = [
            (
                (L, N, D * H) if batch_first else (N, L, D * H),
                _("batch_first decides the layout of output as it does of the input"),
            ),
            (
                (L, 1, D * H),
                _("an unbatched input gives an unbatched output: no N at all"),
            ),
            ((N, L, H) if batch_first else (L, N, H), concatenated),
            ((L, H), concatenated),
            (
                (L, N, layers * H),
                _("output holds the last layer only, not every layer"),
            ),
        ]
    else:
        hints = [
            (
                (D * layers, H),
                _(
                    "you dropped N: only an unbatched input drops N from "
                    "h_0/h_n/c_0/c_n"
                ),
            ),
            (
                (N, D * layers, H),
                _(
                    "h_0, c_0, h_n and c_n are never batch-first, whatever "
                    "batch_first is"
                ),
            ),
            (
                (D * layers, 1, H),
                _("an unbatched input has no N anywhere, h_n included"),
            ),
            (
                (layers, N, D * H),
                _(
                    "the directions are not concatenated in h_n: one row per layer "
                    "and direction, D·num_layers rows of H_out"
                ),
            ),
            ((layers, N, H), rows),
            ((layers, H), rows),
            (
                (H,),
                _("h_n keeps its first dimension, D·num_layers, even unbatched"),
            ),
            (
                (N, H),
                _("h_n keeps its first dimension, D·num_layers, even for one layer"),
            ),
        ]
    return next((hint for shape, hint in hints if shape == got), "")


def check_predicted_shapes(predicted: dict, keys: Sequence[str]) -> None:
    """Compare `predicted[key]` with the shape the LSTM really gives, for each key."""
    if not isinstance(predicted, dict):
        fail(
            _("predicted should be a dict of shapes, got {got}").format(
                got=type(predicted).__name__
            )
        )
    for key in keys:
        if key not in predicted:
            fail(
                _("predicted has no entry {key!r}: fill in every line").format(key=key)
            )
        got = core.parse_shape(f"predicted[{key!r}]", predicted[key], (5, 3, 20))
        kwargs, input_shape, tensor = SHAPE_QUESTIONS[key]
        expected = _true_shape(kwargs, input_shape, tensor)
        if got != expected:
            hint = _shape_hint(got, kwargs, input_shape, tensor)
            message = _(
                "predicted[{key!r}] = {got}, but {tensor} has shape {expected}"
            ).format(key=key, got=got, tensor=tensor, expected=expected)
            fail(f"{message} — {hint}" if hint else message)
    passed(_("shapes {keys} predicted right").format(keys=", ".join(keys)))


# ---------------------------------------------------------------------------
# predict-bidirectional

BIDIRECTIONAL_OPTIONS = {
    "A": "output[-1, :, :H]",
    "B": "output[-1, :, H:]",
    "C": "output[0, :, H:]",
    "D": N_("none of them"),
}
_OPTION_MEANING = {
    "A": N_("the last layer's forward direction at its final step, t = L-1"),
    "B": N_(
        "the last layer's reverse direction at its first step, t = L-1 (it ends "
        "at t = 0, so this is not its final state; pytorch issue #3587)"
    ),
    "C": N_("the last layer's reverse direction at its final step, t = 0"),
    "D": N_("none of the three slices"),
}


def _bidirectional_truth(target: str) -> str:
    """Which option equals h_n[k] for a 2-layer bidirectional LSTM, by running one."""
    output, h_n = _run(seed=3, num_layers=2, bidirectional=True, batch=2)
    H = h_n.shape[-1]
    slices = {"A": output[-1, :, :H], "B": output[-1, :, H:], "C": output[0, :, H:]}
    row = h_n[int(target[len("h_n[") : -1])]
    return next((k for k, s in slices.items() if torch.equal(s, row)), "D")


def _row_meaning(target: str) -> str:
    row = int(target[len("h_n[") : -1]) % 4  # 2 layers x 2 directions
    layer, direction = divmod(row, 2)
    text = (
        _("row {row} = layer·D + direction: layer {layer}'s forward direction"),
        _("row {row} = layer·D + direction: layer {layer}'s reverse direction"),
    )[direction]
    return text.format(row=row, layer=layer)


def check_bidirectional_choices(equals: dict, targets: Sequence[str]) -> None:
    """`equals[target]` must name the option that equals that row of h_n."""
    if not isinstance(equals, dict):
        fail(
            _("equals should be a dict like {example}, got {got}").format(
                example="{'h_n[-1]': 'A'}", got=type(equals).__name__
            )
        )
    for target in targets:
        got = str(equals.get(target, "")).strip().upper()
        if got not in BIDIRECTIONAL_OPTIONS:
            fail(
                _(
                    "equals[{target!r}] should be one of 'A', 'B', 'C', 'D', got "
                    "{got!r}"
                ).format(target=target, got=equals.get(target))
            )
        truth = _bidirectional_truth(target)
        if got != truth:
            message = _(
                "equals[{target!r}] = {got!r} is not right: {target} is "
                "{row}, while {got} ({option}) is {meaning}"
            ).format(
                target=target,
                got=got,
                row=_row_meaning(target),
                option=_(BIDIRECTIONAL_OPTIONS[got]),
                meaning=_(_OPTION_MEANING[got]),
            )
            if truth == "D":
                message += " — " + _("output holds the last layer only")
            fail(message)
    passed(_("{targets} located in output").format(targets=", ".join(targets)))


# ---------------------------------------------------------------------------
# split-h-n and final-features

Case = tuple  # (num_layers, bidirectional, batch or None)
SPLIT_CASES: tuple[Case, ...] = ((2, True, 3), (3, False, 2))


def split_h_n_reference(h_n: torch.Tensor, num_layers: int, bidirectional: bool):
    D = 2 if bidirectional else 1
    return h_n.view(num_layers, D, *h_n.shape[1:])


def check_split_h_n(
    split_h_n: Callable, seed: int = 0, cases: Sequence[Case] = SPLIT_CASES
) -> None:
    """split_h_n(h_n, num_layers, bidirectional)[layer, direction] must be the row
    layer·D + direction of h_n."""
    for num_layers, bidirectional, batch in cases:
        h_n = _run(seed, num_layers, bidirectional, batch)[1]
        D = 2 if bidirectional else 1
        expected = torch.stack(
            [
                torch.stack([h_n[layer * D + d] for d in range(D)])
                for layer in range(num_layers)
            ]
        )
        context = _describe(num_layers, bidirectional, batch)
        causes = ([] if bidirectional else [_("bidirectional=False means D = 1")]) + (
            [] if batch else [_("an unbatched h_n is (D·num_layers, H_out), no N")]
        )
        hint = (
            _("for {context}: {causes}").format(
                context=context, causes="; ".join(causes)
            )
            if causes
            else ""
        )
        got = _attempt(
            "split_h_n", split_h_n, h_n, num_layers, bidirectional, hint=hint
        )
        core.expect_tensor("split_h_n", got)
        direction_major = h_n.view(D, num_layers, *h_n.shape[1:])
        hints = {
            tuple(direction_major.shape): _(
                "you split direction-first: h_n's rows "
                "run layer by layer (row = layer·D + direction), so the shape is "
                "(num_layers, D, …)"
            ),
            (num_layers, 2, *h_n.shape[1:]): _(
                "bidirectional=False means one direction, D = 1"
            ),
        }
        if not batch:
            hints[(num_layers, D, 1, h_n.shape[-1])] = _(
                "an unbatched h_n has no N: keep h_n.shape[1:] as it is"
            )
        if tuple(got.shape) != tuple(expected.shape):
            core.expect_shape(
                _("{name} for {context}").format(name="split_h_n", context=context),
                got,
                tuple(expected.shape),
                hints.get(tuple(got.shape), ""),
            )
        _diagnose(
            "split_h_n",
            got,
            expected,
            {
                _(
                    "you split direction-first: h_n's rows run layer by layer (row = "
                    "layer·D + direction)"
                ): direction_major.transpose(0, 1),
            },
            context,
        )
    passed(_("split_h_n puts every row of h_n at [layer, direction]"))


def check_final_features(
    final_features: Callable, seed: int = 0, cases: Sequence[Case] = SPLIT_CASES
) -> None:
    """final_features(h_n, num_layers, bidirectional) must be the last layer's final
    states, forward then reverse: for a bidirectional LSTM, output[-1, :, :H]
    beside output[0, :, H:]."""
    for num_layers, bidirectional, batch in cases:
        output, h_n = _run(seed, num_layers, bidirectional, batch)
        D, H = (2 if bidirectional else 1), h_n.shape[-1]
        last, first = output[-1], output[0]
        expected = torch.cat([last[..., :H], first[..., H:]], -1) if D == 2 else last
        context = _describe(num_layers, bidirectional, batch)
        with core.using(final_features, split_h_n=split_h_n_reference):
            got = _attempt(
                "final_features",
                final_features,
                h_n,
                num_layers,
                bidirectional,
                hint=""
                if batch
                else _(
                    "an unbatched h_n is "
                    "(D·num_layers, H_out): concatenate on dim=-1, which works "
                    "batched and unbatched"
                ),
            )
        core.expect_tensor("final_features", got)
        rows = split_h_n_reference(h_n, num_layers, bidirectional)
        known = {
            _(
                "you took the first layer's states; a classifier reads the last layer "
                "(split[-1])"
            ): torch.cat(list(rows[0]), -1) if num_layers > 1 else None,
            _(
                "the directions are swapped: forward first, then reverse, as in "
                "output's last dimension"
            ): torch.cat([h_n[-1], h_n[-2]], -1) if D == 2 else None,
            _(
                "h_n[-1] alone is the last layer's reverse direction only: put the "
                "forward one, h_n[-2], before it"
            ): h_n[-1] if D == 2 else None,
            _(
                "you concatenated along the batch: features go side by side on the "
                "last dimension (dim=-1)"
            ): torch.cat(list(rows[-1]), 0) if batch and D == 2 else None,
        }
        _diagnose(
            "final_features",
            got,
            expected,
            known,
            context,
            hint=_("expected the top layer's (forward, reverse) states"),
        )
    passed(
        _("final_features gives the last layer's final states, forward then reverse")
    )


# ---------------------------------------------------------------------------
# last-valid-output and bidirectional-features

PaddedCase = tuple  # (lengths, total_length, batch_first)
PADDED_CASES: tuple[PaddedCase, ...] = (((4, 2, 3), 6, False), ((5, 1, 3, 2), 5, True))


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
                ).format(name=name, context=case.context)
            )

    try:
        got = _attempt(name, fn, case.shown, case.lengths, case.batch_first, **hints)
    except core.CheckFailed:
        explain()
        raise
    _diagnose(name, got, expected, known, case.context, explain=explain)


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
        known = {
            _(
                "you took index -1 of the padded batch: for a sequence shorter than L "
                "that is a pad (zeros). Take t = lengths[b] - 1"
            ): output[-1] if full else None,
            _(
                "you picked pads (zeros): index -1 of the padded batch, or "
                "t = lengths[b] (off by one), is past a short sequence's end; its "
                "last real step is t = lengths[b] - 1"
            ): torch.zeros_like(expected),
            _(
                "you turned (N, L, F) into (L, N, F) with view or reshape, which "
                "mixes steps and sequences: use transpose(0, 1)"
            ): last_valid_output_reference(
                case.shown.view(total_length, len(lengths), -1), index
            )
            if batch_first
            else None,
        }
        by_error = {
            "IndexError": _(
                "off by one? t = lengths[b] is past the end when "
                "lengths[b] = L: the last real step is t = lengths[b] - 1"
            ),
            "TypeError": _(
                "lengths may be a list of ints or a tensor: "
                "torch.as_tensor(lengths) takes both"
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
        known = {
            _(
                "you took output[-1] for the reverse direction: its final state is at "
                "output[0, :, H:] (pytorch issue #3587)"
            ): torch.cat([valid[:, :H], output[-1, :, H:]], -1),
            _(
                "you took output[-1] for both directions: the forward one ends at "
                "t = lengths - 1, the reverse one at t = 0, output[0, :, H:] (pytorch "
                "issue #3587)"
            ): output[-1],
            _(
                "the reverse direction ends at t = 0, not at the last real step "
                "(where it starts): take output[0, :, H:]"
            ): valid,
            _(
                "the forward half comes from the padded last step: take it at "
                "t = lengths - 1"
            ): torch.cat([output[-1, :, :H], output[0, :, H:]], -1),
            _("the directions are swapped: forward first, then reverse"): torch.cat(
                [output[0, :, H:], valid[:, :H]], -1
            ),
        }
        with core.using(
            bidirectional_features, last_valid_output=last_valid_output_reference
        ):
            _check_padded(
                "bidirectional_features", bidirectional_features, case, expected, known
            )
    passed(_("bidirectional_features equals the packed run's final states"))
