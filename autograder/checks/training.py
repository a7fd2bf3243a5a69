"""Checks for 07_training: predicted shapes, a batch pipeline, a training loop.

Predicted shapes are read by `core.parse_shape` and compared with a real `nn.LSTM`;
`make_batch` is judged by unpacking what it packed. The training loop has its own
module, `training_loop`, the classifier exercise its own, `classifier`, and the
references they grade with (`reference_make_batch`, `ReferenceClassifier`: an exercise
that builds on an earlier one is graded with them in place of the learner's earlier
answer) and their data are in `training_references`. The loop's checks and the
references are offered here too, as the notebook's test cells and the tests use them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from autograder.checks import core
from autograder.checks.training_loop import check_train as check_train
from autograder.checks.training_loop import (
    check_train_accuracy as check_train_accuracy,
)
from autograder.checks.training_references import (
    ReferenceClassifier as ReferenceClassifier,
)
from autograder.checks.training_references import _random_sequences
from autograder.checks.training_references import (
    reference_make_batch as reference_make_batch,
)
from autograder.i18n import N_, _

# The LSTM whose shapes the learner predicts (the notebook builds the same one).
PREDICT_LSTM = dict(
    input_size=8, hidden_size=16, num_layers=2, bidirectional=True, batch_first=True
)


# --- exercise 1: predict the shapes ---------------------------------------------------


def _actual_shapes(input_shape: tuple) -> dict[str, tuple]:
    with core.forked_rng(0):
        lstm = nn.LSTM(**PREDICT_LSTM)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.zeros(input_shape))
    return {
        "output": tuple(output.shape),
        "h_n": tuple(h_n.shape),
        "c_n": tuple(c_n.shape),
    }


def _shape_mistakes(expected: dict[str, tuple], batched: bool) -> dict:
    """(tensor, wrong shape) -> (the mistake's name, the reason), for the wrong
    shapes learners write."""
    H = PREDICT_LSTM["hidden_size"]
    layers = PREDICT_LSTM["num_layers"]
    states = ("h_n", "c_n")
    if not batched:
        L = expected["output"][0]
        found = {
            ("output", (1, *expected["output"])): (
                "unbatched-output",
                _(
                    "an unbatched input (L, H_in) gives an unbatched output "
                    "(L, D*H_out): no batch dimension is added"
                ),
            ),
            ("output", (L, H)): (
                "output-one-direction",
                _("output concatenates both directions: D*H_out features per step"),
            ),
        }
        for name in states:
            found[name, (expected["h_n"][0], 1, H)] = (
                "unbatched-state",
                _(
                    "an unbatched input gives an unbatched {name} (D*num_layers, "
                    "H_out): no batch dimension is added"
                ).format(name=name),
            )
            found[name, (layers, H)] = (
                "state-one-direction",
                _(
                    "{name} stacks num_layers * D = 2 * 2 final states, one per layer "
                    "and direction"
                ).format(name=name),
            )
        return found
    N, L, _H_in = expected["output"]
    found = {
        ("output", (N, L, H)): (
            "output-one-direction",
            _("output concatenates both directions: D*H_out = 2*16 = 32 features"),
        ),
        ("output", (L, N, 2 * H)): (
            "output-layout",
            _("batch_first=True makes output (N, L, D*H_out)"),
        ),
    }
    for name in states:
        found[name, (N, 2 * layers, H)] = (
            "state-batch-first",
            _(
                "{name} ignores batch_first: it is always (D*num_layers, N, H_out)"
            ).format(name=name),
        )
        found[name, (layers, N, H)] = (
            "state-one-direction",
            _(
                "{name} stacks num_layers * D = 2 * 2 final states, one per layer and "
                "direction"
            ).format(name=name),
        )
        found[name, (2 * layers, N, 2 * H)] = (
            "state-width",
            _(
                "{name} keeps the directions apart (first axis), each H_out = 16 wide"
            ).format(name=name),
        )
    return found


def _check_shapes(
    prefix: str, predictions: dict, input_shape: tuple, batched: bool, hidden: str = ""
) -> None:
    expected = _actual_shapes(input_shape)
    mistakes = _shape_mistakes(expected, batched)
    for kind, value in predictions.items():
        got = core.parse_shape(f"{prefix}_{kind}", value, example=(2, 3, 4))
        if got != expected[kind]:
            mistake, reason = mistakes.get(
                (kind, got), ("differs", _("run the cell below and compare"))
            )
            core.fail(
                _(
                    "{name} = {got} is not the shape nn.LSTM gives for an "
                    "input {input_shape} — {reason}"
                ).format(
                    name=f"{prefix}_{kind}",
                    got=got,
                    input_shape=input_shape,
                    reason=reason,
                ),
                mistake,
            )
    shapes = ", ".join(f"{kind} {tuple(value)}" for kind, value in predictions.items())
    core.passed(
        _("shapes for an input {input_shape}: {shapes}").format(
            input_shape=input_shape, shapes=shapes
        ),
        hidden,
    )


@core.exercise("predict-digit-shapes")
def check_batch_shapes(batch_output, batch_h_n, batch_c_n) -> None:
    """The predicted shapes for a batch of 32 digits, (32, 8, 8): the visible test
    (its ✓ says that the unbatched digit's are the hidden test's)."""
    _check_shapes(
        "batch",
        {"output": batch_output, "h_n": batch_h_n, "c_n": batch_c_n},
        (32, 8, 8),
        batched=True,
        hidden="single_output, single_h_n",
    )


@core.exercise("predict-digit-shapes")
def check_single_shapes(single_output, single_h_n) -> None:
    """The predicted shapes for one digit without a batch dimension, (8, 8)."""
    _check_shapes(
        "single", {"output": single_output, "h_n": single_h_n}, (8, 8), batched=False
    )


# --- exercise 2: make_batch -----------------------------------------------------------


_LAYOUT = N_(
    "pad_sequence and pack_padded_sequence must agree on the layout: pass "
    "batch_first=True to both"
)


def _call_make_batch(make_batch: Callable, sequences: list[torch.Tensor]):
    rules = (
        ("enforce_sorted", _("the lengths are not sorted: pass enforce_sorted=False "
         "so pack_padded_sequence sorts them and remembers the order"), "unsorted"),
        (("batch_size", "batch_first"), _(_LAYOUT), "layout"),
        ("", _("see the hints below the test cells")),
    )  # fmt: skip
    with core.explain(*rules):
        result = core.call("make_batch", make_batch, list(sequences))
    return core.expect_pair("make_batch", result, "packed", "lengths")


@core.exercise("make-batch")
def check_make_batch(
    make_batch: Callable, lengths=(5, 2, 7, 3), features: int = 3, seed: int = 0
) -> None:
    """make_batch(sequences) must return (PackedSequence, lengths) that keeps every
    sequence whole and in the order given."""
    sequences = _random_sequences(lengths, features, seed)
    originals = [s.clone() for s in sequences]
    packed, got_lengths = _call_make_batch(make_batch, sequences)
    if any(not torch.equal(s, o) for s, o in zip(sequences, originals, strict=True)):
        core.fail(
            _("make_batch changed the sequences it was given; build new tensors"),
            "inputs-changed",
        )
    if not isinstance(packed, PackedSequence):
        core.fail(
            _(
                "make_batch should return a PackedSequence first (from "
                "pack_padded_sequence), got {got} — a padded "
                "tensor alone lets the LSTM run over the padding"
            ).format(got=core.describe(packed)),
            "not-packed",
        )
    _check_lengths(got_lengths, lengths, features)
    try:
        unpacked = _unpack(packed)
    except RuntimeError as error:
        core.fail(
            _("the PackedSequence cannot be unpacked ({error}) — {layout}").format(
                error=error, layout=_(_LAYOUT)
            ),
            "layout",
        )
    if len(unpacked) != len(originals):
        core.fail(
            _(
                "the PackedSequence holds {count} sequences, expected "
                "{expected} — {layout}"
            ).format(count=len(unpacked), expected=len(originals), layout=_(_LAYOUT)),
            "layout",
        )
    for i, (original, got) in enumerate(zip(originals, unpacked, strict=True)):
        if torch.equal(got, original):
            continue
        if any(torch.equal(got, o) for o in originals):
            core.fail(
                _(
                    "sequence {index} of the batch is another sequence of the input: "
                    "keep the order of `sequences` (enforce_sorted=False sorts "
                    "internally and restores the order)"
                ).format(index=i),
                "order-changed",
            )
        core.fail(
            _(
                "sequence {index} (length {length}) does not come back from the "
                "packed batch unchanged: got {shape} — check the "
                "lengths; {layout}"
            ).format(
                index=i,
                length=lengths[i],
                shape=tuple(got.shape),
                layout=_(_LAYOUT),
            ),
            "sequence-changed",
        )
    core.passed(
        _("make_batch packs {count} sequences of lengths {lengths}").format(
            count=len(lengths), lengths=list(lengths)
        )
    )


def _check_lengths(got, lengths, features: int) -> None:
    """The docstring's promise: a tensor of the N lengths, int64, in input order."""
    if not isinstance(got, torch.Tensor) or got.dtype != torch.int64 or got.dim() != 1:
        if isinstance(got, torch.Tensor):
            message = _(
                "lengths should be a 1-D int64 tensor, one length per sequence, got "
                "a {dtype} tensor"
            ).format(dtype=got.dtype)
        else:
            message = _(
                "lengths should be a 1-D int64 tensor, one length per sequence, got "
                "{got}"
            ).format(got=core.describe(got))
        core.fail(message, "lengths-type")
    got = got.tolist()
    if got == list(lengths):
        return
    if got == sorted(lengths, reverse=True) != list(lengths):
        mistake, reason = (
            "lengths-sorted",
            _("they are sorted: keep the order of `sequences`"),
        )
    elif got == [features] * len(lengths):
        mistake, reason = (
            "lengths-features",
            _(
                "each is the number of features: count the time steps of each "
                "sequence, len(s) or s.shape[0]"
            ),
        )
    else:
        mistake, reason = (
            "lengths-wrong",
            _("count the time steps of each sequence, len(s) or s.shape[0]"),
        )
    core.fail(
        _("lengths = {got}, expected {expected} — {reason}").format(
            got=got, expected=list(lengths), reason=reason
        ),
        mistake,
    )


def _unpack(packed: PackedSequence) -> list[torch.Tensor]:
    """The sequences a PackedSequence holds, in its original order."""
    padded, lengths = pad_packed_sequence(packed, batch_first=True)
    return [row[:n] for row, n in zip(padded, lengths.tolist(), strict=True)]
