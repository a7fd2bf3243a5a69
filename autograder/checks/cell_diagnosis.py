"""The diagnosis of one LSTM step; its gates' is `gate_diagnosis`, the GRU's `gru`.

`diagnose_lstm_cell(cell, *, name, input_size, hidden_size, batch, seed, bias,
unbatched)` runs `cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh) -> (h', c')`
(the arguments of `lstm_ref.functional.lstm_cell`; biases None when `bias=False`),
batched and on one unbatched sample, and raises `CheckFailed` naming the likely
mistake (`CELL_MISTAKES`, in `cell_mistakes`: any wrong gate order, a missing or
doubled bias, swapped or wrong activations, transposed weights, the update, h' from
tanh(c) or without tanh, (c', h') swapped, unbatched input) or, when none fits, the
term (x, h, a bias, c) that disagrees alone (`cell_tools`). It prints nothing on
success: notebook 02's checks (`lstm_cell`) do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from autograder.i18n import _
from lstm_ref import functional as ref

from . import core
from .cell_mistakes import CELL_MISTAKES
from .cell_mistakes import reference_gates as reference_gates  # the tests use it here
from .cell_tools import (
    OUTPUT_HINT,
    TERMS,
    Case,
    at,
    batched_then_unbatched,
    differing_terms,
    make_case,
    run,
    shape_hint,
    term_message,
    unbatched_hint,
)

Tensor = torch.Tensor


def diagnose_lstm_cell(
    cell: Callable,
    *,
    name: str = "lstm_cell",
    input_size: int = 3,
    hidden_size: int = 5,
    batch: int = 4,
    seed: int = 0,
    bias: bool = True,
    unbatched: bool = True,
) -> None:
    """Raise `CheckFailed` naming the likely mistake unless `cell` matches lstm_ref
    (see the module docstring for the signature)."""
    case = make_case(input_size, hidden_size, batch, seed, bias=bias)
    batched_then_unbatched(_diagnose_step, cell, name, case, unbatched)


def _lstm_outputs(cell: Callable, name: str, case: Case, batched: bool) -> tuple:
    got = run(name, cell, case.lstm_args(), batched)
    return core.expect_pair(name, got, "h'", "c'")


def _diagnose_step(cell: Callable, name: str, case: Case, batched: bool) -> None:
    h_ref, c_ref = ref.lstm_cell(*case.lstm_args())
    h, c = _lstm_outputs(cell, name, case, batched)
    if not batched:
        for label, got, want in (("h'", h, h_ref), ("c'", c, c_ref)):
            if isinstance(got, Tensor) and got.shape != want.shape:
                core.fail(
                    _(
                        "{name}: {label} has shape {shape} for unbatched input, "
                        "expected {expected} — {hint}"
                    ).format(
                        name=name,
                        label=label,
                        shape=tuple(got.shape),
                        expected=tuple(want.shape),
                        hint=unbatched_hint(case.lstm_args()),
                    ),
                    "unbatched",
                )
    if core.matches(h, c_ref) and core.matches(c, h_ref):
        core.fail(
            _("{name} returns (c', h'); return them in torch's order (h', c')").format(
                name=name
            ),
            "h-c-swapped",
        )
    for label, got, want in (("h'", h, h_ref), ("c'", c, c_ref)):
        mistake, hint = shape_hint(core.expect_tensor(label, got), tuple(want.shape))
        core.expect_shape(f"{name}: {label}", got, tuple(want.shape), hint, mistake)
    if core.matches(h, h_ref) and core.matches(c, c_ref):
        return
    who = at(name, batched)
    known = (
        core.Known(m.name, m.text(), functools.partial(m, case)) for m in CELL_MISTAKES
    )
    found = core.find_mistake((h, c), known)
    if found:
        core.fail(f"{who}: {found.message}", found.mistake)
    if core.matches(c, c_ref):
        core.fail(
            _("{name}: c' is right but h' is not — {output}").format(
                name=who, output=_(OUTPUT_HINT)
            ),
            "h-wrong",
        )

    def learner(alone: Case) -> tuple:
        return _lstm_outputs(cell, name, alone, batched)

    def reference(alone: Case) -> tuple:
        return ref.lstm_cell(*alone.lstm_args())

    terms = (*TERMS, "c") if case.bias_ih is not None else ("x", "h", "c")
    differ = differing_terms(learner, reference, case, terms)
    cause = term_message(differ, terms)
    core.fail(
        _("{name}: h' and c' differ from torch's — {cause}").format(
            name=who, cause=cause.message
        ),
        cause.mistake,
    )
