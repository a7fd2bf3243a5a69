"""The diagnosis of `lstm_gates`: which gate is wrong, and how.

`diagnose_lstm_gates(gates_fn, *, name, input_size, hidden_size, batch, seed, bias,
unbatched)` runs `gates_fn(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> (i, f, g,
o)`, batched and on one unbatched sample, and raises `CheckFailed` naming, for each
wrong gate, the row block, activation and sum of terms that reproduce it
(`read_gate`), or the term that disagrees alone. It prints nothing on success:
notebook 02's checks (`lstm_cell`) do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from autograder.i18n import _

from . import core
from .cell_mistakes import reference_gates
from .cell_tools import (
    ACTS,
    GATE_NAMES,
    GATES,
    LSTM_ACTS,
    TERMS,
    Case,
    at,
    batched_then_unbatched,
    differing_terms,
    joined_and,
    make_case,
    pre_activation_terms,
    run,
    shape_hint,
    term_message,
    unbatched_hint,
)

Tensor = torch.Tensor


@dataclass(frozen=True)
class GateReading:
    """What a learner's gate turned out to be: act(sum of `terms`)[rows of `block`]."""

    block: str
    act: str
    terms: tuple


def read_gate(case: Case, got: Tensor) -> GateReading | None:
    """Find the row block, activation and terms that reproduce `got`, if any."""
    parts = pre_activation_terms(case)
    subsets = [s for r in range(4, 0, -1) for s in itertools.combinations(TERMS, r)]
    for terms in subsets:
        blocks = sum(parts[t] for t in terms).chunk(4, dim=-1)
        for block, act in itertools.product(range(4), ACTS):
            if core.matches(got, ACTS[act](blocks[block])):
                return GateReading(GATES[block], act, terms)
    return None


def gate_rows(gate: str, H: int) -> str:
    k = GATES.index(gate)
    return _("rows {start}:{stop}").format(start=k * H, stop=(k + 1) * H)


def _missing_name(missing: list[str]) -> str:
    """The mistake's name for terms missing from a sum: `no-bias-hh`, `no-biases`."""
    if sorted(missing) == ["bias_hh", "bias_ih"]:
        return "no-biases"
    return "no-" + "-".join(t.replace("_", "-") for t in missing)


def gate_mistake(gate: str, reading: GateReading, bias: bool) -> str:
    """The name of the first problem `gate_problems` lists."""
    if reading.block != gate:
        return "gate-order"
    if reading.act != LSTM_ACTS[gate]:
        return f"{gate}-{reading.act.replace(' ', '-')}"
    missing = [t for t in TERMS if t not in reading.terms]
    return _missing_name(missing) if missing and bias else "differs"


def gate_problems(gate: str, reading: GateReading, H: int, bias: bool) -> str:
    def rows(g: str) -> str:
        return gate_rows(g, H)

    problems = []
    if reading.block != gate:
        problems.append(
            _(
                "it comes from {rows}, the {other}'s block (gate order: torch stacks "
                "i, f, g, o, so {gate} is {gate_rows})"
            ).format(
                rows=rows(reading.block),
                other=_(GATE_NAMES[reading.block]),
                gate=gate,
                gate_rows=rows(gate),
            )
        )
    if reading.act == "no activation":
        problems.append(
            _("it has no activation where torch uses {torch_act}").format(
                torch_act=LSTM_ACTS[gate]
            )
        )
    elif reading.act != LSTM_ACTS[gate]:
        problems.append(
            _("it has {act} where torch uses {torch_act}").format(
                act=reading.act, torch_act=LSTM_ACTS[gate]
            )
        )
    missing = [t for t in TERMS if t not in reading.terms]
    if missing and bias:
        problems.append(
            _("{terms} is missing from its sum").format(terms=joined_and(missing))
        )
    return "; ".join(problems)


def diagnose_lstm_gates(
    gates_fn: Callable,
    *,
    name: str = "lstm_gates",
    input_size: int = 3,
    hidden_size: int = 5,
    batch: int = 4,
    seed: int = 0,
    bias: bool = True,
    unbatched: bool = True,
) -> None:
    """Like `diagnose_lstm_cell` for `gates_fn(x, h, weight_ih, weight_hh, bias_ih,
    bias_hh) -> (i, f, g, o)`, the gates after their activations."""
    case = make_case(input_size, hidden_size, batch, seed, bias=bias)
    batched_then_unbatched(_diagnose_gates, gates_fn, name, case, unbatched)


def _gates_of(gates_fn: Callable, name: str, case: Case, batched: bool) -> tuple:
    got = run(name, gates_fn, case.gate_args(), batched)
    if not isinstance(got, tuple | list) or len(got) != 4:
        core.fail(
            _("{name} should return the four gates (i, f, g, o), got {got}").format(
                name=name, got=core.describe(got)
            ),
            "not-four-gates",
        )
    return tuple(got)


def _diagnose_gates(gates_fn: Callable, name: str, case: Case, batched: bool) -> None:
    got = _gates_of(gates_fn, name, case, batched)
    want = reference_gates(*case.gate_args())
    who = at(name, batched)
    for gate, g_got, g_want in zip(GATES, got, want, strict=True):
        g_got = core.expect_tensor(f"{name}: {gate}", g_got)
        if g_got.shape != g_want.shape:
            mistake, because = (
                shape_hint(g_got, g_want.shape)
                if batched
                else ("unbatched", unbatched_hint(case.gate_args()))
            )
            fields = dict(
                name=who,
                gate=gate,
                shape=tuple(g_got.shape),
                expected=tuple(g_want.shape),
            )
            if because:
                core.fail(
                    _(
                        "{name}: {gate} has shape {shape}, expected {expected} — {hint}"
                    ).format(**fields, hint=because),
                    mistake,
                )
            core.fail(
                _("{name}: {gate} has shape {shape}, expected {expected}").format(
                    **fields
                ),
                mistake,
            )
    wrong = [
        gate
        for gate, a, b in zip(GATES, got, want, strict=True)
        if not core.matches(a, b)
    ]
    if not wrong:
        return
    readings = {gate: read_gate(case, got[GATES.index(gate)]) for gate in wrong}
    if all(
        r and r.act == "no activation" and r.block == g for g, r in readings.items()
    ):
        core.fail(
            _(
                "{name}: {gates} are pre-activations — return the gates after σ "
                "(i, f, o) and tanh (g)"
            ).format(name=who, gates=", ".join(wrong)),
            "pre-activations",
        )
    i_read, g_read = readings.get("i"), readings.get("g")
    if (
        i_read
        and g_read
        and (i_read.block, i_read.act) == ("i", "tanh")
        and (g_read.block, g_read.act) == ("g", "sigmoid")
    ):
        core.fail(
            _(
                "{name}: sigmoid and tanh swapped between the input gate i and the "
                "candidate g — i = σ(·) decides how much is written (0 to 1), "
                "g = tanh(·) is what is written (-1 to 1)"
            ).format(name=who),
            "sigmoid-tanh-swapped",
        )
    if (
        len(wrong) == 4
        and all(
            r and r.act == LSTM_ACTS[g] and r.block == g for g, r in readings.items()
        )
        and len({r.terms for r in readings.values()}) == 1
    ):
        left_out = [t for t in TERMS if t not in readings["i"].terms]
        core.fail(
            _(
                "{name}: {terms} is missing from every gate: torch's pre-activation "
                "sums four terms, the input's, the state's and both biases (§1)"
            ).format(name=who, terms=joined_and(left_out)),
            _missing_name(left_out),
        )
    H = case.h.shape[-1]
    if all(
        r and r.terms == TERMS and r.act == LSTM_ACTS[g] and r.block != g
        for g, r in readings.items()
    ):
        moved = ", ".join(
            _("your {gate} is {rows}, torch's {block}").format(
                gate=g, rows=gate_rows(r.block, H), block=r.block
            )
            for g, r in readings.items()
        )
        core.fail(
            _(
                "{name}: gate order — {moved}; torch stacks the row blocks i, f, g, o"
            ).format(name=who, moved=moved),
            "gate-order",
        )
    bias = case.bias_ih is not None
    found = [
        f"{_(GATE_NAMES[g])}: {gate_problems(g, r, H, bias)}"
        for g, r in readings.items()
        if r
    ]
    if found:
        first = next(g for g, r in readings.items() if r)
        mistake = gate_mistake(first, readings[first], bias)
        core.fail(f"{who}: " + " | ".join(found), mistake)

    def reference(alone: Case) -> tuple:
        return reference_gates(*alone.gate_args())

    def learner(alone: Case) -> tuple:
        return _gates_of(gates_fn, name, alone, batched)

    terms = TERMS if case.bias_ih is not None else ("x", "h")
    differ = differing_terms(learner, reference, case, terms)
    cause = term_message(differ, terms)
    core.fail(
        _("{name}: {gates} differ from torch's — {cause}").format(
            name=who, gates=", ".join(wrong), cause=cause.message
        ),
        cause.mistake,
    )
