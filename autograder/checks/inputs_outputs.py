"""Checks for 05_inputs_outputs: what goes into an LSTM and what comes out.

The oracle is `lstm_ref.LSTM` run in float64 (`outputs_oracle`). Here: the predicted
shapes and the bidirectional choices (each read off a run), `split_h_n` and
`final_features`. The padded-batch exercises (last-valid-output,
bidirectional-features) are checked in `padded_outputs`; their checks, and the oracle
the tests read, are offered here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from autograder.checks import core
from autograder.checks.core import fail, passed
from autograder.checks.outputs_oracle import INPUT_SIZE as INPUT_SIZE
from autograder.checks.outputs_oracle import _attempt, _describe, _diagnose, _run
from autograder.checks.outputs_oracle import _lstm as _lstm
from autograder.checks.padded_outputs import _padded_run as _padded_run
from autograder.checks.padded_outputs import (
    check_bidirectional_features as check_bidirectional_features,
)
from autograder.checks.padded_outputs import (
    check_last_valid_output as check_last_valid_output,
)
from autograder.i18n import N_, _
from lstm_ref import LSTM

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


def _shape_hint(
    got: tuple, kwargs: dict, input_shape: tuple, tensor: str
) -> core.Diagnosis | None:
    """The likely misconception behind a wrong predicted shape, named."""
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
                "output-layout",
                (L, N, D * H) if batch_first else (N, L, D * H),
                _("batch_first decides the layout of output as it does of the input"),
            ),
            (
                "unbatched-output",
                (L, 1, D * H),
                _("an unbatched input gives an unbatched output: no N at all"),
            ),
            (
                "output-one-direction",
                (N, L, H) if batch_first else (L, N, H),
                concatenated,
            ),
            ("output-one-direction", (L, H), concatenated),
            (
                "output-all-layers",
                (L, N, layers * H),
                _("output holds the last layer only, not every layer"),
            ),
        ]
    else:
        hints = [
            (
                "state-no-batch-dim",
                (D * layers, H),
                _(
                    "you dropped N: only an unbatched input drops N from "
                    "h_0/h_n/c_0/c_n"
                ),
            ),
            (
                "state-batch-first",
                (N, D * layers, H),
                _(
                    "h_0, c_0, h_n and c_n are never batch-first, whatever "
                    "batch_first is"
                ),
            ),
            (
                "unbatched-state",
                (D * layers, 1, H),
                _("an unbatched input has no N anywhere, h_n included"),
            ),
            (
                "directions-concatenated",
                (layers, N, D * H),
                _(
                    "the directions are not concatenated in h_n: one row per layer "
                    "and direction, D·num_layers rows of H_out"
                ),
            ),
            ("state-one-direction", (layers, N, H), rows),
            ("state-one-direction", (layers, H), rows),
            (
                "state-no-first-dim",
                (H,),
                _("h_n keeps its first dimension, D·num_layers, even unbatched"),
            ),
            (
                "state-no-first-dim",
                (N, H),
                _("h_n keeps its first dimension, D·num_layers, even for one layer"),
            ),
        ]
    known = [core.Known(name, hint, shape) for name, shape, hint in hints]
    return core.find_mistake(got, known)


@core.exercise("predict-shapes")
def check_predicted_shapes(
    predicted: dict, keys: Sequence[str], hidden_test_grades: Sequence[str] = ()
) -> None:
    """Compare `predicted[key]` with the shape the LSTM really gives, for each key;
    the ✓ of a visible test names the keys only the hidden test grades."""
    if not isinstance(predicted, dict):
        fail(
            _("predicted should be a dict of shapes, got {got}").format(
                got=type(predicted).__name__
            ),
            "malformed",
        )
    for key in keys:
        if key not in predicted:
            fail(
                _("predicted has no entry {key!r}: fill in every line").format(key=key),
                "not-answered",
            )
        got = core.parse_shape(f"predicted[{key!r}]", predicted[key], (5, 3, 20))
        kwargs, input_shape, tensor = SHAPE_QUESTIONS[key]
        expected = _true_shape(kwargs, input_shape, tensor)
        if got != expected:
            hint = _shape_hint(got, kwargs, input_shape, tensor)
            message = _(
                "predicted[{key!r}] = {got}, but {tensor} has shape {expected}"
            ).format(key=key, got=got, tensor=tensor, expected=expected)
            if hint:
                fail(f"{message} — {hint.message}", hint.mistake)
            fail(message, "differs")
    passed(
        _("shapes {keys} predicted right").format(keys=", ".join(keys)),
        ", ".join(hidden_test_grades),
    )


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


# The misreading each option stands for, when it is the wrong one.
_OPTION_MISTAKE = {
    "A": "forward-last-step",
    "B": "reverse-last-step",
    "C": "reverse-first-step",
    "D": "not-in-output",
}


@core.exercise("predict-bidirectional")
def check_bidirectional_choices(
    equals: dict, targets: Sequence[str], hidden_test_grades: Sequence[str] = ()
) -> None:
    """`equals[target]` must name the option that equals that row of h_n; the ✓ of
    a visible test names the rows only the hidden test grades."""
    if not isinstance(equals, dict):
        fail(
            _("equals should be a dict like {example}, got {got}").format(
                example="{'h_n[-1]': 'A'}", got=type(equals).__name__
            ),
            "malformed",
        )
    for target in targets:
        got = str(equals.get(target, "")).strip().upper()
        if got not in BIDIRECTIONAL_OPTIONS:
            fail(
                _(
                    "equals[{target!r}] should be one of 'A', 'B', 'C', 'D', got "
                    "{got!r}"
                ).format(target=target, got=equals.get(target)),
                "malformed",
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
            fail(message, _OPTION_MISTAKE[got])
    passed(
        _("{targets} located in output").format(targets=", ".join(targets)),
        ", ".join(hidden_test_grades),
    )


# ---------------------------------------------------------------------------
# split-h-n and final-features

Case = tuple  # (num_layers, bidirectional, batch or None)
SPLIT_CASES: tuple[Case, ...] = ((2, True, 3), (3, False, 2), (1, True, None))


def split_h_n_reference(h_n: torch.Tensor, num_layers: int, bidirectional: bool):
    D = 2 if bidirectional else 1
    return h_n.view(num_layers, D, *h_n.shape[1:])


@core.exercise("split-h-n")
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
            "split_h_n",
            split_h_n,
            h_n,
            num_layers,
            bidirectional,
            hint=hint,
            mistake="unbatched" if not batch else "two-directions",
        )
        core.expect_tensor("split_h_n", got)
        direction_major = h_n.view(D, num_layers, *h_n.shape[1:])
        hints = [
            core.Known(
                "direction-first",
                _(
                    "you split direction-first: h_n's rows "
                    "run layer by layer (row = layer·D + direction), so the shape is "
                    "(num_layers, D, …)"
                ),
                tuple(direction_major.shape),
            ),
            core.Known(
                "two-directions",
                _("bidirectional=False means one direction, D = 1"),
                (num_layers, 2, *h_n.shape[1:]),
            ),
            core.Known(
                "unbatched",
                _("an unbatched h_n has no N: keep h_n.shape[1:] as it is"),
                None if batch else (num_layers, D, 1, h_n.shape[-1]),
            ),
        ]
        if tuple(got.shape) != tuple(expected.shape):
            cause = core.find_mistake(tuple(got.shape), hints) or core.Diagnosis(
                "wrong-shape", ""
            )
            core.expect_shape(
                _("{name} for {context}").format(name="split_h_n", context=context),
                got,
                tuple(expected.shape),
                cause.message,
                cause.mistake,
            )
        _diagnose(
            "split_h_n",
            got,
            expected,
            [
                core.Known(
                    "direction-first",
                    _(
                        "you split direction-first: h_n's rows run layer by layer "
                        "(row = layer·D + direction)"
                    ),
                    direction_major.transpose(0, 1),
                ),
            ],
            context,
        )
    passed(_("split_h_n puts every row of h_n at [layer, direction]"))


@core.exercise("final-features")
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
                mistake="unbatched",
            )
        core.expect_tensor("final_features", got)
        rows = split_h_n_reference(h_n, num_layers, bidirectional)
        known = [
            core.Known(
                "first-layer",
                _(
                    "you took the first layer's states; a classifier reads the last "
                    "layer"
                ),
                torch.cat(list(rows[0]), -1) if num_layers > 1 else None,
            ),
            core.Known(
                "directions-swapped",
                _(
                    "the directions are swapped: forward first, then reverse, as in "
                    "output's last dimension"
                ),
                torch.cat([h_n[-1], h_n[-2]], -1) if D == 2 else None,
            ),
            core.Known(
                "reverse-only",
                _(
                    "h_n[-1] alone is the last layer's reverse direction only: the "
                    "features hold its forward direction too, first"
                ),
                h_n[-1] if D == 2 else None,
            ),
            core.Known(
                "batch-concatenated",
                _(
                    "you concatenated along the batch: features go side by side on "
                    "the last dimension (dim=-1)"
                ),
                torch.cat(list(rows[-1]), 0) if batch and D == 2 else None,
            ),
        ]
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
