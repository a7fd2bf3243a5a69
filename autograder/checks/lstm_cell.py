"""Checks for 02_lstm_cell, and the course's LSTM-cell diagnostics.

Later notebooks import the diagnosis of a whole cell step:

    from autograder.checks.lstm_cell import diagnose_lstm_cell

    diagnose_lstm_cell(cell, *, name="lstm_cell", input_size=3, hidden_size=5,
                       batch=4, seed=0, bias=True, unbatched=True) -> None

`cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh) -> (h', c')` takes the
arguments of `lstm_ref.functional.lstm_cell` (wrap another signature in a lambda):
x (N, H_in), h and c (N, H), weight_ih (4*H, H_in), weight_hh (4*H, H), biases (4*H)
or None when `bias=False`. It returns None when the cell agrees with `lstm_ref` in
float64, batched and (if `unbatched`) on one unbatched sample, and otherwise raises
`CheckFailed` naming the likely mistake: the gate order (any of the 23 wrong ones),
a missing or doubled bias, sigmoid and tanh swapped, a gate without or with the wrong
activation, transposed weights, the cell update, tanh(c') missing in h', the old c
used in h', (c', h') returned in the wrong order, unbatched input not handled. When
no known mistake fits it zeroes all but one term (x, h, bias_ih, bias_hh, c) to say
which part disagrees. It prints nothing on success: the caller's check does.

The same keyword arguments serve two siblings:

    diagnose_lstm_gates(gates_fn, ...)  # gates_fn(x, h, weight_ih, weight_hh,
                                        #   bias_ih, bias_hh) -> (i, f, g, o), after
                                        #   their activations; names each wrong gate's
                                        #   row block, activation and missing terms
    diagnose_gru_cell(cell, ...)        # cell(x, h, weight_ih, weight_hh, bias_ih,
                                        #   bias_hh) -> h', torch's gate order r, z, n

`reference_gates(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None)` returns
torch's gates after their activations, `(i, f, g, o)`: substitute it for a learner's
`lstm_gates` with `core.using` when grading code built on it. `CELL_MISTAKES` and
`GRU_MISTAKES` are the known wrong steps the diagnoses compare against.

The rest of the module is 02_lstm_cell's checks (`check_*`), each with `hidden=False`
for the visible test and `hidden=True` for the hidden one (other sizes and seeds).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from lstm_ref import functional as ref

from . import core

Tensor = torch.Tensor

GATES = "ifgo"  # torch's order of the row blocks of weight_ih, weight_hh and the biases
GATE_NAMES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
}
LSTM_ACTS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}
ACTS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "no activation": lambda a: a,
    "relu": torch.relu,
}
TERMS = ("x", "h", "bias_ih", "bias_hh")
TRANSPOSE_HINT = (
    "torch stores weight_ih as (4*H, H_in) and weight_hh as (4*H, H) (3*H in a GRU): "
    "multiply x @ weight_ih.T and h @ weight_hh.T (did you transpose the weights?)"
)
UNBATCHED_HINT = (
    "unbatched input: x of shape (H_in,) with h, c of shape (H,) must work too — "
    "use dim=-1 (e.g. chunk(4, dim=-1)) so the same code serves (N, H_in) and (H_in,)"
)


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """The inputs of one cell step, float64. `c` is unused by the GRU."""

    x: Tensor
    h: Tensor
    c: Tensor
    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor | None
    bias_hh: Tensor | None

    def lstm_args(self) -> tuple:
        return (
            self.x,
            (self.h, self.c),
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
        )

    def gru_args(self) -> tuple:
        return (
            self.x,
            self.h,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
        )

    def only(self, term: str) -> Case:
        """Zero all but one term: "x", "h", "bias_ih", "bias_hh" or "c"."""

        def keep(name: str, value: Tensor | None) -> Tensor | None:
            if value is None or name == term:
                return value
            return torch.zeros_like(value)

        return replace(
            self,
            x=keep("x", self.x),
            h=keep("h", self.h),
            c=keep("c", self.c),
            bias_ih=keep("bias_ih", self.bias_ih),
            bias_hh=keep("bias_hh", self.bias_hh),
        )

    def first_sample(self) -> Case:
        """Sample 0 without its batch dimension."""
        return replace(self, x=self.x[0], h=self.h[0], c=self.c[0])


def make_case(
    input_size: int,
    hidden_size: int,
    batch: int,
    seed: int,
    num_chunks: int = 4,
    bias: bool = True,
) -> Case:
    """Seeded float64 inputs, large enough that every activation matters."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    rows = num_chunks * hidden_size
    bias_ih, bias_hh = randn(rows), randn(rows)
    return Case(
        x=randn(batch, input_size),
        h=randn(batch, hidden_size),
        c=randn(batch, hidden_size),
        weight_ih=randn(rows, input_size) * 0.7,
        weight_hh=randn(rows, hidden_size) * 0.7,
        bias_ih=bias_ih if bias else None,
        bias_hh=bias_hh if bias else None,
    )


def pre_activation_terms(case: Case) -> dict[str, Tensor]:
    """The four terms whose sum is the gates' pre-activation, each (N, chunks*H)."""
    rows = case.weight_ih.shape[0]
    zero = torch.zeros(rows, dtype=case.x.dtype)
    return {
        "x": case.x @ case.weight_ih.T,
        "h": case.h @ case.weight_hh.T,
        "bias_ih": zero if case.bias_ih is None else case.bias_ih,
        "bias_hh": zero if case.bias_hh is None else case.bias_hh,
    }


# --- the reference and its known mistakes ---------------------------------------------


def reference_gates(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """torch's four gates after their activations, in the order (i, f, g, o)."""
    return variant_gates(Case(x, h, h, weight_ih, weight_hh, bias_ih, bias_hh))


def variant_gates(
    case: Case, order: str = GATES, acts: dict | None = None, terms: tuple = TERMS
) -> tuple[Tensor, ...]:
    """The gates (i, f, g, o) as a cell computes them that reads the row blocks in
    `order`, applies `acts` and sums `terms` (torch's choices by default)."""
    acts = LSTM_ACTS if acts is None else acts
    parts = pre_activation_terms(case)
    pre = sum(parts[t] for t in terms)
    blocks = dict(zip(order, pre.chunk(4, dim=-1), strict=True))
    return tuple(ACTS[acts[gate]](blocks[gate]) for gate in GATES)


def torch_update(i, f, g, o, c):
    return f * c + i * g


def torch_output(o, c_new, c_old):
    return o * torch.tanh(c_new)


@dataclass(frozen=True)
class CellMistake:
    """A known wrong LSTM step: torch's except for the fields given."""

    message: str
    order: str = GATES
    acts: tuple = ()  # (gate, activation) pairs that differ from torch's
    terms: tuple = TERMS
    update: Callable = torch_update
    output: Callable = torch_output

    def __call__(self, case: Case) -> tuple[Tensor, Tensor]:
        gates = variant_gates(
            case, self.order, {**LSTM_ACTS, **dict(self.acts)}, self.terms
        )
        i, f, g, o = gates
        c_new = self.update(i, f, g, o, case.c)
        return self.output(o, c_new, case.c), c_new


def _order_message(order: str) -> str:
    known = {"ifog": " (CS231n's and char-rnn's order)"}.get(order, "")
    blocks = ", ".join(order)
    return (
        f"gate order: your cell reads the row blocks of weight_ih as {blocks}"
        f"{known}; torch stacks them i, f, g, o — rows 0:H input gate, H:2H forget, "
        "2H:3H candidate g, 3H:4H output"
    )


def _activation_mistakes() -> list[CellMistake]:
    swapped = CellMistake(
        "sigmoid and tanh swapped between the input gate and the candidate: "
        "i = σ(·) decides how much is written (0 to 1), g = tanh(·) is what is written "
        "(-1 to 1)",
        acts=(("i", "tanh"), ("g", "sigmoid")),
    )
    single = [
        CellMistake(
            f"the {GATE_NAMES[gate]} has {act} where torch uses {LSTM_ACTS[gate]}",
            acts=((gate, act),),
        )
        for gate in GATES
        for act in ACTS
        if act != LSTM_ACTS[gate]
    ]
    return [swapped, *single]


def _term_mistakes() -> list[CellMistake]:
    missing = [
        CellMistake(
            f"{term} is missing from the gates: torch sums x @ weight_ih.T "
            "+ bias_ih + h @ weight_hh.T + bias_hh",
            terms=tuple(t for t in TERMS if t != term),
        )
        for term in TERMS
    ]
    return [
        *missing,
        CellMistake(
            "both biases are missing: torch adds bias_ih and bias_hh", terms=("x", "h")
        ),
        CellMistake(
            "bias_ih is added twice and bias_hh never",
            terms=("x", "h", "bias_ih", "bias_ih"),
        ),
        CellMistake(
            "bias_hh is added twice and bias_ih never",
            terms=("x", "h", "bias_hh", "bias_hh"),
        ),
    ]


UPDATE_HINT = "the cell update is c' = f * c + i * g"
OUTPUT_HINT = "h' = o * tanh(c'), with the new cell state c'"

CELL_MISTAKES: list[CellMistake] = [
    *_activation_mistakes(),
    *_term_mistakes(),
    CellMistake(
        f"the input gate is missing from the update — {UPDATE_HINT}",
        update=lambda i, f, g, o, c: f * c + g,
    ),
    CellMistake(
        f"the forget gate is missing from the update — {UPDATE_HINT}",
        update=lambda i, f, g, o, c: c + i * g,
    ),
    CellMistake(
        f"i and f are swapped in the update (or their row blocks are) — {UPDATE_HINT}",
        update=lambda i, f, g, o, c: i * c + f * g,
    ),
    CellMistake(
        f"the update multiplies where it should add — {UPDATE_HINT}",
        update=lambda i, f, g, o, c: f * c * i * g,
    ),
    CellMistake(
        f"tanh(c') is missing in h': {OUTPUT_HINT}",
        output=lambda o, c_new, c_old: o * c_new,
    ),
    CellMistake(
        f"tanh is applied after the output gate: {OUTPUT_HINT}",
        output=lambda o, c_new, c_old: torch.tanh(o * c_new),
    ),
    CellMistake(
        f"the output gate is missing from h': {OUTPUT_HINT}",
        output=lambda o, c_new, c_old: torch.tanh(c_new),
    ),
    CellMistake(
        f"h' uses the old cell state c: {OUTPUT_HINT}",
        output=lambda o, c_new, c_old: o * torch.tanh(c_old),
    ),
    *(
        CellMistake(_order_message("".join(p)), order="".join(p))
        for p in itertools.permutations(GATES)
        if "".join(p) != GATES
    ),
]


# --- running learner code -------------------------------------------------------------


NONE_HINT = (
    "bias_ih and bias_hh are None for a cell built with bias=False: leave the biases "
    "out then"
)


def run(name: str, fn: Callable, args: tuple, batched: bool) -> object:
    """`core.call`, adding the likely cause when the learner's code raised."""
    try:
        return core.call(name, fn, *args)
    except core.CheckFailed as error:
        text = str(error)
        if "NoneType" in text:
            hint = NONE_HINT
        elif not batched:
            hint = UNBATCHED_HINT
        elif "multiplied" in text or "size mismatch" in text:
            hint = TRANSPOSE_HINT
        else:
            raise
        core.fail(f"{text} — {hint}")


def shape_hint(got: Tensor, expected: tuple) -> str:
    if tuple(got.shape) == tuple(reversed(expected)):
        return "transposed: " + TRANSPOSE_HINT
    if got.dim() and got.shape[-1] in (3 * expected[-1], 4 * expected[-1]):
        return "the gates are still packed together: split them with chunk(…, dim=-1)"
    return ""


def expect_pair(name: str, got: object, first: str, second: str) -> tuple:
    if not isinstance(got, tuple | list) or len(got) != 2:
        core.fail(
            f"{name} should return the pair ({first}, {second}), got "
            f"{core.describe(got)}"
        )
    return tuple(got)


def differing_terms(
    cell: Callable, reference: Callable, case: Case, terms: tuple
) -> list[str]:
    """The terms on which `cell` and `reference` disagree when all others are zero."""
    differ = []
    for term in terms:
        alone = case.only(term)
        with core.quiet():
            try:
                got, want = cell(alone), reference(alone)
            except Exception:  # noqa: BLE001 - any failure counts as a disagreement
                differ.append(term)
                continue
        if not all(core.matches(a, b) for a, b in zip(got, want, strict=True)):
            differ.append(term)
    return differ


def term_message(differ: list[str], terms: tuple) -> str:
    if not differ:
        return (
            "each term alone agrees with torch but their sum does not: check that all "
            "four terms are added before the activations"
        )
    if len(differ) == len(terms):
        return (
            "it disagrees even with a single term: look after the sum — the gate "
            "order, the activations and the updates"
        )
    if differ == ["c"]:
        return f"only the old cell state c disagrees: {UPDATE_HINT}"
    agree = ", ".join(t for t in terms if t not in differ)
    return (
        f"with only {' or '.join(differ)} non-zero it disagrees with torch (with only "
        f"{agree} it agrees): check how {' and '.join(differ)} "
        + ("enters" if len(differ) == 1 else "enter")
    )


# --- the whole LSTM step --------------------------------------------------------------


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


def batched_then_unbatched(
    diagnose_step: Callable, fn: Callable, name: str, case: Case, unbatched: bool
) -> None:
    """Diagnose `case`, then (if `unbatched`) its first sample without a batch dim."""
    diagnose_step(fn, name, case, True)
    if unbatched:
        diagnose_step(fn, name, case.first_sample(), False)


def _lstm_outputs(cell: Callable, name: str, case: Case, batched: bool) -> tuple:
    got = run(name, cell, case.lstm_args(), batched)
    return expect_pair(name, got, "h'", "c'")


def _diagnose_step(cell: Callable, name: str, case: Case, batched: bool) -> None:
    h_ref, c_ref = ref.lstm_cell(*case.lstm_args())
    h, c = _lstm_outputs(cell, name, case, batched)
    if not batched:
        for label, got, want in (("h'", h, h_ref), ("c'", c, c_ref)):
            if isinstance(got, Tensor) and got.shape != want.shape:
                core.fail(
                    f"{name}: {label} has shape {tuple(got.shape)} for unbatched "
                    f"input, expected {tuple(want.shape)} — {UNBATCHED_HINT}"
                )
    if core.matches(h, c_ref) and core.matches(c, h_ref):
        core.fail(f"{name} returns (c', h'); return them in torch's order (h', c')")
    for label, got, want in (("h'", h, h_ref), ("c'", c, c_ref)):
        core.expect_shape(
            f"{name}: {label}",
            got,
            tuple(want.shape),
            shape_hint(core.expect_tensor(label, got), tuple(want.shape)),
        )
    if core.matches(h, h_ref) and core.matches(c, c_ref):
        return
    where = "" if batched else " (unbatched input)"
    for mistake in CELL_MISTAKES:
        h_bad, c_bad = mistake(case)
        if core.matches(h, h_bad) and core.matches(c, c_bad):
            core.fail(f"{name}{where}: {mistake.message}")
    if core.matches(c, c_ref):
        core.fail(f"{name}{where}: c' is right but h' is not — {OUTPUT_HINT}")

    def learner(alone: Case) -> tuple:
        return _lstm_outputs(cell, name, alone, batched)

    def reference(alone: Case) -> tuple:
        return ref.lstm_cell(*alone.lstm_args())

    terms = (*TERMS, "c") if case.bias_ih is not None else ("x", "h", "c")
    differ = differing_terms(learner, reference, case, terms)
    core.fail(
        f"{name}{where}: h' and c' differ from torch's — {term_message(differ, terms)}"
    )


# --- lstm_gates -----------------------------------------------------------------------


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
    return f"rows {k * H}:{(k + 1) * H}"


def gate_problems(gate: str, reading: GateReading, H: int, bias: bool) -> str:
    def rows(g: str) -> str:
        return gate_rows(g, H)

    problems = []
    if reading.block != gate:
        problems.append(
            f"it comes from {rows(reading.block)}, the {GATE_NAMES[reading.block]}'s "
            f"block (gate order: torch stacks i, f, g, o, so {gate} is {rows(gate)})"
        )
    if reading.act != LSTM_ACTS[gate]:
        problems.append(f"it has {reading.act} where torch uses {LSTM_ACTS[gate]}")
    missing = [t for t in TERMS if t not in reading.terms]
    if missing and bias:
        problems.append(f"{' and '.join(missing)} is missing from its sum")
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


def _gate_args(case: Case) -> tuple:
    return (case.x, case.h, case.weight_ih, case.weight_hh, case.bias_ih, case.bias_hh)


def _gates_of(gates_fn: Callable, name: str, case: Case, batched: bool) -> tuple:
    got = run(name, gates_fn, _gate_args(case), batched)
    if not isinstance(got, tuple | list) or len(got) != 4:
        core.fail(
            f"{name} should return the four gates (i, f, g, o), got "
            f"{core.describe(got)}"
        )
    return tuple(got)


def _diagnose_gates(gates_fn: Callable, name: str, case: Case, batched: bool) -> None:
    got = _gates_of(gates_fn, name, case, batched)
    want = reference_gates(*_gate_args(case))
    where = "" if batched else " (unbatched input)"
    for gate, g_got, g_want in zip(GATES, got, want, strict=True):
        g_got = core.expect_tensor(f"{name}: {gate}", g_got)
        if g_got.shape != g_want.shape:
            because = UNBATCHED_HINT if not batched else shape_hint(g_got, g_want.shape)
            core.fail(
                f"{name}{where}: {gate} has shape {tuple(g_got.shape)}, expected "
                f"{tuple(g_want.shape)}" + (f" — {because}" if because else "")
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
            f"{name}{where}: {', '.join(wrong)} are pre-activations — return the "
            "gates after σ (i, f, o) and tanh (g)"
        )
    i_read, g_read = readings.get("i"), readings.get("g")
    if (
        i_read
        and g_read
        and (i_read.block, i_read.act) == ("i", "tanh")
        and (g_read.block, g_read.act) == ("g", "sigmoid")
    ):
        core.fail(
            f"{name}{where}: sigmoid and tanh swapped between the input gate i "
            "and the candidate g — i = σ(·) decides how much is written (0 to 1), "
            "g = tanh(·) is what is written (-1 to 1)"
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
            f"{name}{where}: {' and '.join(left_out)} is missing from every gate: "
            "torch sums x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh"
        )
    H = case.h.shape[-1]
    if all(
        r and r.terms == TERMS and r.act == LSTM_ACTS[g] and r.block != g
        for g, r in readings.items()
    ):
        moved = ", ".join(
            f"your {g} is {gate_rows(r.block, H)}, torch's {r.block}"
            for g, r in readings.items()
        )
        core.fail(
            f"{name}{where}: gate order — {moved}; torch stacks the row blocks i, f, "
            "g, o"
        )
    found = [
        f"{GATE_NAMES[g]}: {gate_problems(g, r, H, case.bias_ih is not None)}"
        for g, r in readings.items()
        if r
    ]
    if found:
        core.fail(f"{name}{where}: " + " | ".join(found))

    def reference(alone: Case) -> tuple:
        return reference_gates(*_gate_args(alone))

    def learner(alone: Case) -> tuple:
        return _gates_of(gates_fn, name, alone, batched)

    terms = TERMS if case.bias_ih is not None else ("x", "h")
    differ = differing_terms(learner, reference, case, terms)
    core.fail(
        f"{name}{where}: {', '.join(wrong)} differ from torch's — "
        f"{term_message(differ, terms)}"
    )


# --- 02_lstm_cell's exercises ---------------------------------------------------------

VISIBLE_SIZES = [dict(input_size=3, hidden_size=5, batch=4, seed=0)]
HIDDEN_SIZES = [
    dict(input_size=7, hidden_size=4, batch=3, seed=11),
    dict(input_size=2, hidden_size=6, batch=1, seed=12),
    dict(input_size=5, hidden_size=3, batch=2, seed=13, bias=False),
]


def _sizes(hidden: bool) -> list[dict]:
    return HIDDEN_SIZES if hidden else VISIBLE_SIZES


def check_forget_gate_prediction(predicted_f: object) -> None:
    """σ(0 + 1 + 1): both biases enter before the sigmoid."""
    expected = float(torch.sigmoid(torch.tensor(2.0)))
    if not isinstance(predicted_f, int | float) or isinstance(predicted_f, bool):
        core.fail(f"predicted_f should be a number, got {core.describe(predicted_f)}")
    wrong = {
        float(
            torch.sigmoid(torch.tensor(1.0))
        ): "that is σ(1): torch adds both biases, "
        "bias_ih and bias_hh, so the pre-activation is 0 + 1 + 1",
        0.5 + 2.0: "the biases go inside the sigmoid, not after it: f = σ(0 + 1 + 1)",
        float(torch.tanh(torch.tensor(2.0))): "the forget gate uses σ, not tanh",
        0.5: "the biases are part of the pre-activation: f = σ(0 + 1 + 1)",
    }
    if abs(predicted_f - expected) > 0.01:
        for value, why in wrong.items():
            if abs(predicted_f - value) <= 0.01:
                core.fail(f"predicted_f = {predicted_f}: {why}")
        core.fail(f"predicted_f = {predicted_f} is not σ(0 + 1 + 1) to two decimals")
    core.passed(f"f = σ(2) ≈ {expected:.3f}")


def check_forget_gate_claim(claim: object) -> None:
    """The sigmoid comes last, so f stays in (0, 1) whatever the bias."""
    if claim not in ("A", "B", "C"):
        core.fail(f'forget_gate_claim should be "A", "B" or "C", got {claim!r}')
    if claim != "B":
        core.fail(
            f'forget_gate_claim = "{claim}": the biases are added inside σ, and σ '
            "maps every real number into (0, 1), so f stays in (0, 1) whatever "
            "the bias"
        )
    core.passed("f = σ(·) stays in (0, 1) for any bias: σ comes after the sum")


def check_lstm_gates(lstm_gates: Callable, hidden: bool = False) -> None:
    for sizes in _sizes(hidden):
        diagnose_lstm_gates(lstm_gates, **sizes)
    core.passed(
        "lstm_gates matches torch's i, f, g, o, batched and unbatched"
        + (" (other sizes, bias=False)" if hidden else "")
    )


def match_torch_cell(
    cell: Callable,
    input_size: int,
    hidden_size: int,
    seed: int,
    name: str = "lstm_cell",
) -> None:
    """`cell` with an `nn.LSTMCell`'s own parameters must give the module's output."""
    with torch.random.fork_rng():  # leave the learner's random stream alone
        torch.manual_seed(seed)
        module = torch.nn.LSTMCell(input_size, hidden_size, dtype=torch.float64)
        x = torch.randn(2, input_size, dtype=torch.float64)
        state = tuple(torch.randn(2, hidden_size, dtype=torch.float64) for _ in "hc")
    with torch.no_grad():
        want = module(x, state)
        params = dict(module.named_parameters())
        got = expect_pair(
            name, run(name, cell, (x, state, *params.values()), True), "h'", "c'"
        )
    for label, g, w in zip(("h'", "c'"), got, want, strict=True):
        core.expect_close(f"{name} with nn.LSTMCell's parameters: {label}", g, w)


def check_lstm_cell(lstm_cell: Callable, hidden: bool = False) -> None:
    """Graded with torch's gates in place of the learner's `lstm_gates`."""
    with core.using(lstm_cell, lstm_gates=reference_gates):
        for sizes in _sizes(hidden):
            diagnose_lstm_cell(lstm_cell, **sizes)
        match_torch_cell(lstm_cell, 6, 3, seed=21 if hidden else 1)
    core.passed(
        "lstm_cell matches lstm_ref.functional.lstm_cell and nn.LSTMCell, batched and "
        "unbatched" + (" (other sizes, bias=False)" if hidden else "")
    )


# --- parameter counts -----------------------------------------------------------------

CELLS = {4: torch.nn.LSTMCell, 3: torch.nn.GRUCell, 1: torch.nn.RNNCell}


def torch_num_parameters(
    input_size: int, hidden_size: int, num_chunks: int, bias: bool
) -> int:
    module = CELLS[num_chunks](input_size, hidden_size, bias=bias)
    return sum(p.numel() for p in module.parameters())


def _count_mistake(got: object, I: int, H: int, G: int, bias: bool) -> str:
    """The likely cause of a wrong parameter count, from known wrong formulas."""
    b = 2 * G * H if bias else 0
    known = [
        (
            G * H * (I + H + 1),
            "torch has two bias vectors, bias_ih and bias_hh, each of num_chunks*H"
            if bias
            else "with bias=False there are no biases",
        ),
        (G * H * (I + H) + 2 * G * H, "with bias=False there are no biases"),
        (G * H * (I + H), "the two biases (num_chunks*H each) are missing"),
        (
            H * (I + H) + 2 * H * bias,
            "each of the num_chunks gates has its own rows: "
            "weight_ih is (num_chunks*H, I)",
        ),
        (G * H * 2 * I + b, "weight_hh is (num_chunks*H, H), not (num_chunks*H, I)"),
        (G * H * (I + 1) + b, "weight_hh is (num_chunks*H, H)"),
    ]
    for value, why in known:
        if got == value:
            return why
    return (
        "count weight_ih (num_chunks*H, I), weight_hh (num_chunks*H, H) and, with "
        "bias, two biases (num_chunks*H,)"
    )


def check_num_parameters(num_parameters: Callable, hidden: bool = False) -> None:
    sizes = [(10, 20), (1, 1), (64, 7)] if hidden else [(3, 2)]
    for (I, H), chunks, bias in itertools.product(sizes, CELLS, (True, False)):
        got = core.call(
            "num_parameters", num_parameters, I, H, num_chunks=chunks, bias=bias
        )
        want = torch_num_parameters(I, H, chunks, bias)
        if got != want:
            core.fail(
                f"num_parameters({I}, {H}, num_chunks={chunks}, bias={bias}) returned "
                f"{got!r}, torch's {CELLS[chunks].__name__} has {want} — "
                f"{_count_mistake(got, I, H, chunks, bias)}"
            )
    core.passed(
        "num_parameters matches torch's LSTMCell, GRUCell and RNNCell"
        + (" (other sizes)" if hidden else ", input_size 3, hidden_size 2")
    )


# --- the hand-set memory cell ---------------------------------------------------------

MEMORY_KEYS = ("i", "f", "g", "o")


def pack_memory_params(params: object) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """{"i": ([w_write, w_value], [w_h], b), ...} -> weight_ih (4, 2), weight_hh (4, 1),
    bias_ih (4,), bias_hh (4,) zeros, in torch's order i, f, g, o."""
    if not isinstance(params, dict) or set(params) != set(MEMORY_KEYS):
        got = sorted(params) if isinstance(params, dict) else core.describe(params)
        core.fail(
            f'memory_params should be a dict with the keys "i", "f", "g", "o", '
            f"got {got}"
        )
    rows_x, rows_h, biases = [], [], []
    for gate in MEMORY_KEYS:
        entry = params[gate]
        try:
            w_x, w_h, b = entry
            w_x = torch.as_tensor(w_x, dtype=torch.float64).reshape(2)
            w_h = torch.as_tensor(w_h, dtype=torch.float64).reshape(1)
            b = torch.as_tensor(b, dtype=torch.float64).reshape(())
        except (TypeError, ValueError, RuntimeError):
            core.fail(
                f'memory_params["{gate}"] should be ([w_write, w_value], [w_h], '
                f"bias) — three entries of 2, 1 and 1 numbers, got {entry!r}"
            )
        rows_x.append(w_x)
        rows_h.append(w_h)
        biases.append(b)
    return (
        torch.stack(rows_x),
        torch.stack(rows_h),
        torch.stack(biases),
        torch.zeros(4, dtype=torch.float64),
    )


def memory_sequence(
    bit: int, steps: int = 50, seed: int = 0, write_at: int = 0, noise: float = 1.0
) -> Tensor:
    """(write_at + 1 + steps, 2) inputs (write, value): the bit ±1 written once,
    then `steps` distractor values in [-noise, noise] with write = 0."""
    gen = torch.Generator().manual_seed(seed)
    length = write_at + 1 + steps
    values = (torch.rand(length, generator=gen, dtype=torch.float64) * 2 - 1) * noise
    write = torch.zeros(length, dtype=torch.float64)
    write[write_at], values[write_at] = 1.0, float(bit)
    return torch.stack([write, values], dim=1)


def memory_trace(params: object, xs: Tensor) -> dict[str, Tensor]:
    """Run the hand-set cell along `xs` (T, 2): gates, c and h, each (T,)."""
    weight_ih, weight_hh, bias_ih, bias_hh = pack_memory_params(params)
    h = c = torch.zeros(1, dtype=torch.float64)
    rows = {k: [] for k in ("i", "f", "g", "o", "c", "h")}
    for x in xs:
        gates = reference_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
        h, c = ref.lstm_cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
        for key, value in zip(
            ("i", "f", "g", "o", "c", "h"), (*gates, c, h), strict=True
        ):
            rows[key].append(float(value))
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in rows.items()}


def _memory_failure(trace: dict[str, Tensor], bit: int, write_at: int) -> str:
    w = write_at
    later = slice(w + 1, None)
    written = float(trace["i"][w] * trace["g"][w])
    kept = float(trace["f"][later].prod())
    leak = float((trace["i"][later] * trace["g"][later].abs()).sum())
    if abs(written) < 0.5:
        return (
            f"at the write step i·g = {written:.2f}: the bit barely enters c — "
            "open the input gate when write = 1 and make g = tanh(large × value)"
        )
    if written * bit < 0:
        return "at the write step g has the wrong sign: g should follow the value"
    if kept < 0.5:
        return (
            f"the forget gate closes: f is between {float(trace['f'][later].min()):.3f}"
            f" and {float(trace['f'][later].max()):.3f}, so c keeps only "
            f"{kept:.2g} of the bit — hold f near 1 with a large positive bias"
        )
    if leak > 0.5:
        return (
            f"distractors leak into c: the input gate reaches "
            f"{float(trace['i'][later].max()):.2f} after the write — keep it "
            "closed unless write = 1 (a negative bias)"
        )
    if float(trace["o"][-1]) < 0.5:
        return (
            f"the bit is in c but the output gate hides it: o = "
            f"{float(trace['o'][-1]):.2f} at the end"
        )
    return f"h at the end is {float(trace['h'][-1]):.2f}"


def check_memory_cell(memory_params: object, hidden: bool = False) -> None:
    """The hand-set cell must keep a written bit for 50 steps of distractors:
    sign(h_T) = bit and |h_T| ≥ 0.5."""
    runs = [(seed, w) for seed in (5, 6, 7) for w in (0, 3)] if hidden else [(0, 0)]
    for (seed, write_at), bit in itertools.product(runs, (1, -1)):
        xs = memory_sequence(bit, 50, seed, write_at)
        trace = memory_trace(memory_params, xs)
        h_end = float(trace["h"][-1])
        if h_end * bit < 0.5:
            core.fail(
                f"the bit {bit:+d} written at step {write_at} is lost after 50 "
                f"steps (h = {h_end:.2f}, want sign {bit:+d} and |h| ≥ 0.5): "
                f"{_memory_failure(trace, bit, write_at)}"
            )
    core.passed(
        "the hand-set cell keeps the bit for 50 steps"
        + (" (other distractors, later writes)" if hidden else "")
    )


# --- the GRU --------------------------------------------------------------------------

GRU_GATES = "rzn"


@dataclass(frozen=True)
class GruMistake:
    """A known wrong GRU step: torch's except for the fields given."""

    message: str
    order: str = GRU_GATES
    acts: tuple = ()
    terms: tuple = TERMS
    reset: str = (
        "torch"  # torch: r ⊙ (h W_hn^T + b_hn); "before": (r ⊙ h) W_hn^T + b_hn
    )
    blend: str = "torch"  # torch: (1 - z) ⊙ n + z ⊙ h; "swapped": z ⊙ n + (1 - z) ⊙ h

    def __call__(self, case: Case) -> Tensor:
        parts = pre_activation_terms(case)
        x_part = sum(
            (parts[t] for t in self.terms if t in ("x", "bias_ih")), torch.zeros(())
        )
        h_part = sum(
            (parts[t] for t in self.terms if t in ("h", "bias_hh")), torch.zeros(())
        )
        x_b = dict(
            zip(self.order, torch.atleast_1d(x_part).chunk(3, dim=-1), strict=True)
        )
        h_b = dict(
            zip(self.order, torch.atleast_1d(h_part).chunk(3, dim=-1), strict=True)
        )
        acts = {"r": "sigmoid", "z": "sigmoid", **dict(self.acts)}
        r = ACTS[acts["r"]](x_b["r"] + h_b["r"])
        z = ACTS[acts["z"]](x_b["z"] + h_b["z"])
        if self.reset == "before":
            w_hn = dict(zip(self.order, case.weight_hh.chunk(3, dim=0), strict=True))[
                "n"
            ]
            b_hn = h_b["n"] - case.h @ w_hn.T
            n = torch.tanh(x_b["n"] + (r * case.h) @ w_hn.T + b_hn)
        elif self.reset == "none":
            n = torch.tanh(x_b["n"] + h_b["n"])
        else:
            n = torch.tanh(x_b["n"] + r * h_b["n"])
        if self.blend == "swapped":
            return z * n + (1 - z) * case.h
        return (1 - z) * n + z * case.h


GRU_MISTAKES: list[GruMistake] = [
    *(
        GruMistake(
            f"gate order: your cell reads the row blocks as {', '.join(p)}; torch "
            "stacks them r, z, n (reset, update, new)",
            order="".join(p),
        )
        for p in itertools.permutations(GRU_GATES)
        if "".join(p) != GRU_GATES
    ),
    GruMistake(
        "the reset gate multiplies h before weight_hh (the original paper's "
        "and D2L's form); torch applies it after: r ⊙ (h W_hn^T + b_hn)",
        reset="before",
    ),
    GruMistake(
        "the reset gate is missing from n: torch has n = tanh(x_n + r ⊙ h_n)",
        reset="none",
    ),
    GruMistake(
        "z and 1 - z are swapped: torch keeps z of the old state, "
        "h' = (1 - z) ⊙ n + z ⊙ h",
        blend="swapped",
    ),
    *(
        GruMistake(
            f"{term} is missing from the gates",
            terms=tuple(t for t in TERMS if t != term),
        )
        for term in TERMS
    ),
    *(
        GruMistake(
            f"the {gate} gate has {act} where torch uses sigmoid", acts=((gate, act),)
        )
        for gate in "rz"
        for act in ("tanh", "no activation")
    ),
]


def diagnose_gru_cell(
    cell: Callable,
    *,
    name: str = "gru_cell",
    input_size: int = 3,
    hidden_size: int = 5,
    batch: int = 4,
    seed: int = 0,
    bias: bool = True,
    unbatched: bool = True,
) -> None:
    """Raise `CheckFailed` unless `cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    -> h'` matches lstm_ref.functional.gru_cell (gate order r, z, n)."""
    case = make_case(input_size, hidden_size, batch, seed, num_chunks=3, bias=bias)
    batched_then_unbatched(_diagnose_gru_step, cell, name, case, unbatched)


def _diagnose_gru_step(cell: Callable, name: str, case: Case, batched: bool) -> None:
    want = ref.gru_cell(*case.gru_args())
    got = core.expect_tensor(name, run(name, cell, case.gru_args(), batched))
    where = "" if batched else " (unbatched input)"
    because = UNBATCHED_HINT if not batched else shape_hint(got, want.shape)
    core.expect_shape(f"{name}{where}: h'", got, tuple(want.shape), because)
    if core.matches(got, want):
        return
    for mistake in GRU_MISTAKES:
        if core.matches(got, mistake(case)):
            core.fail(f"{name}{where}: {mistake.message}")

    def learner(alone: Case) -> tuple:
        return (run(name, cell, alone.gru_args(), batched),)

    def reference(alone: Case) -> tuple:
        return (ref.gru_cell(*alone.gru_args()),)

    terms = TERMS if case.bias_ih is not None else ("x", "h")
    differ = differing_terms(learner, reference, case, terms)
    core.fail(
        f"{name}{where}: h' differs from torch's — {term_message(differ, terms)}. "
        "torch: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n), "
        "h' = (1 - z) ⊙ n + z ⊙ h"
    )


def check_gru_cell(gru_cell: Callable, hidden: bool = False) -> None:
    for sizes in _sizes(hidden):
        diagnose_gru_cell(gru_cell, **sizes)
    core.passed(
        "gru_cell matches lstm_ref.functional.gru_cell, batched and unbatched"
        + (" (other sizes, bias=False)" if hidden else "")
    )
