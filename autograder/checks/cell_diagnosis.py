"""The diagnosis of one LSTM step and of its gates; the GRU's (`gru`) shares its tools.

`diagnose_lstm_cell(cell, *, name, input_size, hidden_size, batch, seed, bias,
unbatched)` runs `cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh) -> (h', c')`
(the arguments of `lstm_ref.functional.lstm_cell`; biases None when `bias=False`),
batched and on one unbatched sample, and raises `CheckFailed` naming the likely
mistake (`CELL_MISTAKES`: any wrong gate order, a missing or doubled bias, swapped or
wrong activations, transposed weights, the update, h' from tanh(c) or without tanh,
(c', h') swapped, unbatched input) or, when none fits, the term (x, h, a bias, c) that
disagrees alone. `diagnose_lstm_gates` does the same for `lstm_gates(...) -> (i, f, g,
o)`, naming each wrong gate's row block, activation and missing terms;
`reference_gates` stands in for a learner's `lstm_gates` (`core.using`). Both print
nothing on success: notebook 02's checks (`lstm_cell`) do.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from autograder.i18n import N_, _
from lstm_ref import functional as ref

from . import core

Tensor = torch.Tensor

GATES = "ifgo"  # torch's order of the row blocks of weight_ih, weight_hh and the biases
GATE_NAMES = dict(  # translated where used: _(GATE_NAMES[gate])
    i=N_("input gate i"),
    f=N_("forget gate f"),
    g=N_("candidate g"),
    o=N_("output gate o"),
)
LSTM_ACTS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}
ACTS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "no activation": lambda a: a,
    "relu": torch.relu,
}
TERMS = ("x", "h", "bias_ih", "bias_hh")
# The hints below are translated where used: _(TRANSPOSE_HINT).
TRANSPOSE_HINT = N_(
    "torch stores weight_ih as (4*H, H_in) and weight_hh as (4*H, H) (3*H in a GRU): "
    "multiply x @ weight_ih.T and h @ weight_hh.T (did you transpose the weights?)"
)
UNBATCHED_HINT = N_(  # lstm_gates, gru_cell: x and h
    "unbatched input: x of shape (H_in,) with h of shape (H,) must work too — use "
    "dim=-1 (e.g. chunk({chunks}, dim=-1)) so the same code serves (N, H_in) and "
    "(H_in,)"
)
UNBATCHED_STATE_HINT = N_(  # lstm_cell: x and the state (h, c)
    "unbatched input: x of shape (H_in,) with h and c of shape (H,) must work too — "
    "use dim=-1 (e.g. chunk({chunks}, dim=-1)) so the same code serves (N, H_in) and "
    "(H_in,)"
)


def unbatched_hint(args: tuple) -> str:
    """The unbatched-input hint for a call with `args` (Case.lstm_args() or
    Case.gate_args()): it names only the function's own arguments."""
    state, weight_ih = args[1], args[2]
    hint, h = (
        (UNBATCHED_STATE_HINT, state[0])
        if isinstance(state, tuple)
        else (UNBATCHED_HINT, state)
    )
    return _(hint).format(chunks=weight_ih.shape[0] // h.shape[-1])


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

    def weights(self) -> tuple:
        return (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def lstm_args(self) -> tuple:
        """The arguments of lstm_cell: x, (h, c), the weights."""
        return (self.x, (self.h, self.c), *self.weights())

    def gate_args(self) -> tuple:
        """The arguments of lstm_gates and gru_cell: x, h, the weights."""
        return (self.x, self.h, *self.weights())

    def only(self, term: str) -> Case:
        """Zero all but one term: "x", "h", "bias_ih", "bias_hh" or "c"."""

        def keep(name: str) -> Tensor | None:
            value = getattr(self, name)
            if value is None or name == term:
                return value
            return torch.zeros_like(value)

        return replace(self, **{n: keep(n) for n in ("x", "h", "c", *TERMS[2:])})

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
    gen = core.generator(seed)
    weights = core.cell_weights(
        input_size,
        hidden_size,
        gen,
        num_chunks=num_chunks,
        bias=bias,
        scale=0.7,
        bias_scale=1.0,
    )

    def randn(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    x, h, c = (randn(batch, n) for n in (input_size, hidden_size, hidden_size))
    return Case(x, h, c, **weights)


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


def fill(message: str, fields: tuple = (), words: tuple = ()) -> str:
    """A known mistake's `message` (marked `N_`) in the learner's language, with its
    fields filled in: `fields` as they are, `words` (English marked `N_`) translated,
    and {update} and {output}, the LSTM's two formulas, always available."""
    values = {
        "update": _(UPDATE_HINT),
        "output": _(OUTPUT_HINT),
        **dict(fields),
        **{name: _(text) for name, text in words},
    }
    return _(message).format(**values)


@dataclass(frozen=True)
class CellMistake:
    """A known wrong LSTM step: torch's except for the fields given. `message` is
    marked `N_` and filled in by `text` (see `fill`)."""

    message: str
    order: str = GATES
    acts: tuple = ()  # (gate, activation) pairs that differ from torch's
    terms: tuple = TERMS
    update: Callable = torch_update
    output: Callable = torch_output
    fields: tuple = ()  # (name, value) pairs of the message's fields
    words: tuple = ()  # (name, English words marked N_) pairs, translated

    def text(self) -> str:
        """The message the learner reads."""
        return fill(self.message, self.fields, self.words)

    def __call__(self, case: Case) -> tuple[Tensor, Tensor]:
        acts = {**LSTM_ACTS, **dict(self.acts)}
        i, f, g, o = variant_gates(case, self.order, acts, self.terms)
        c_new = self.update(i, f, g, o, case.c)
        return self.output(o, c_new, case.c), c_new


def _order_mistake(order: str) -> CellMistake:
    if order == "ifog":
        message = N_(
            "gate order: your cell reads the row blocks of weight_ih as {blocks} "
            "(CS231n's and char-rnn's order); torch stacks them i, f, g, o — rows 0:H "
            "input gate, H:2H forget, 2H:3H candidate g, 3H:4H output"
        )
    else:
        message = N_(
            "gate order: your cell reads the row blocks of weight_ih as {blocks}; "
            "torch stacks them i, f, g, o — rows 0:H input gate, H:2H forget, "
            "2H:3H candidate g, 3H:4H output"
        )
    return CellMistake(message, order=order, fields=(("blocks", ", ".join(order)),))


def _has_act(act: str) -> str:
    """The message of a gate with activation `act` where torch uses another."""
    if act == "no activation":
        return N_("the {gate} has no activation where torch uses {torch_act}")
    return N_("the {gate} has {act} where torch uses {torch_act}")


def _activation_mistakes() -> list[CellMistake]:
    swapped = CellMistake(
        N_(
            "sigmoid and tanh swapped between the input gate and the candidate: "
            "i = σ(·) decides how much is written (0 to 1), g = tanh(·) is what is "
            "written (-1 to 1)"
        ),
        acts=(("i", "tanh"), ("g", "sigmoid")),
    )
    single = [
        CellMistake(
            _has_act(act),
            acts=((gate, act),),
            fields=(("act", act), ("torch_act", LSTM_ACTS[gate])),
            words=(("gate", GATE_NAMES[gate]),),
        )
        for gate in GATES
        for act in ACTS
        if act != LSTM_ACTS[gate]
    ]
    return [swapped, *single]


def _term_mistakes() -> list[CellMistake]:
    missing = [
        CellMistake(
            N_(
                "{term} is missing from the gates: torch sums x @ weight_ih.T "
                "+ bias_ih + h @ weight_hh.T + bias_hh"
            ),
            terms=tuple(t for t in TERMS if t != term),
            fields=(("term", term),),
        )
        for term in TERMS
    ]
    return [
        *missing,
        CellMistake(
            N_("both biases are missing: torch adds bias_ih and bias_hh"),
            terms=("x", "h"),
        ),
        CellMistake(
            N_("bias_ih is added twice and bias_hh never"),
            terms=("x", "h", "bias_ih", "bias_ih"),
        ),
        CellMistake(
            N_("bias_hh is added twice and bias_ih never"),
            terms=("x", "h", "bias_hh", "bias_hh"),
        ),
    ]


UPDATE_HINT = N_("the cell update is c' = f * c + i * g")
OUTPUT_HINT = N_("h' = o * tanh(c'), with the new cell state c'")

CELL_MISTAKES: list[CellMistake] = [
    *_activation_mistakes(),
    *_term_mistakes(),
    CellMistake(
        N_("the input gate is missing from the update — {update}"),
        update=lambda i, f, g, o, c: f * c + g,
    ),
    CellMistake(
        N_("the forget gate is missing from the update — {update}"),
        update=lambda i, f, g, o, c: c + i * g,
    ),
    CellMistake(
        N_("i and f are swapped in the update (or their row blocks are) — {update}"),
        update=lambda i, f, g, o, c: i * c + f * g,
    ),
    CellMistake(
        N_("g is squashed twice: lstm_gates already applies tanh to g — {update}"),
        update=lambda i, f, g, o, c: f * c + i * torch.tanh(g),
    ),
    CellMistake(
        N_("the update multiplies where it should add — {update}"),
        update=lambda i, f, g, o, c: f * c * i * g,
    ),
    CellMistake(
        N_("tanh(c') is missing in h': {output}"),
        output=lambda o, c_new, c_old: o * c_new,
    ),
    CellMistake(
        N_("tanh is applied after the output gate: {output}"),
        output=lambda o, c_new, c_old: torch.tanh(o * c_new),
    ),
    CellMistake(
        N_("the output gate is missing from h': {output}"),
        output=lambda o, c_new, c_old: torch.tanh(c_new),
    ),
    CellMistake(
        N_("h' uses the old cell state c: {output}"),
        output=lambda o, c_new, c_old: o * torch.tanh(c_old),
    ),
    *(
        _order_mistake("".join(p))
        for p in itertools.permutations(GATES)
        if "".join(p) != GATES
    ),
]


# --- running learner code -------------------------------------------------------------


NONE_HINT = N_(
    "bias_ih and bias_hh are None for a cell built with bias=False: leave the biases "
    "out then"
)


def run(name: str, fn: Callable, args: tuple, batched: bool) -> object:
    """`core.call`, adding the likely cause when the learner's code raised."""
    rules = [("NoneType", _(NONE_HINT))]
    if not batched:
        rules.append(("", unbatched_hint(args)))
    rules.append((("multiplied", "size mismatch"), _(TRANSPOSE_HINT)))
    with core.explain(*rules):
        return core.call(name, fn, *args)


def shape_hint(got: Tensor, expected: tuple) -> str:
    if tuple(got.shape) == tuple(reversed(expected)):
        return _("transposed: {hint}").format(hint=_(TRANSPOSE_HINT))
    if got.dim() and got.shape[-1] in (3 * expected[-1], 4 * expected[-1]):
        return _(
            "the gates are still packed together: split them with chunk(…, dim=-1)"
        )
    return ""


def differing_terms(
    cell: Callable, reference: Callable, case: Case, terms: tuple
) -> list[str]:
    """The terms on which `cell` and `reference` disagree when all others are zero;
    "" at the end when they disagree on every term and with all of them zero."""

    def differs(alone: Case) -> bool:
        with core.quiet():
            try:
                got, want = cell(alone), reference(alone)
            except Exception:  # noqa: BLE001 - any failure counts as a disagreement
                return True
        return not all(core.matches(a, b) for a, b in zip(got, want, strict=True))

    differ = [term for term in terms if differs(case.only(term))]
    if len(differ) == len(terms) and differs(case.only("")):
        differ.append("")
    return differ


def joined_and(names: list[str]) -> str:
    """ "x and h and bias_ih" in the learner's language."""
    return functools.reduce(
        lambda first, second: _("{first} and {second}").format(
            first=first, second=second
        ),
        names,
    )


def joined_or(names: list[str]) -> str:
    """ "x or h" in the learner's language."""
    return functools.reduce(
        lambda first, second: _("{first} or {second}").format(
            first=first, second=second
        ),
        names,
    )


def term_message(differ: list[str], terms: tuple) -> str:
    if not differ:
        return _(
            "each term alone agrees with torch but their sum does not: check that all "
            "four terms are added before the activations"
        )
    if "" in differ:
        return _(
            "it disagrees even with every input, state and bias zero, where torch's "
            "gates are σ(0) = 0.5 and tanh(0) = 0: something is added to the sum, or "
            "an activation or the update is not torch's"
        )
    if len(differ) == len(terms):
        return _(
            "it disagrees even with a single term: look after the sum — the gate "
            "order, the activations and the updates"
        )
    if differ == ["c"]:
        return _("only the old cell state c disagrees: {update}").format(
            update=_(UPDATE_HINT)
        )
    agree = ", ".join(t for t in terms if t not in differ)
    fields = dict(
        some=joined_or(differ),
        agree=agree,
        each=joined_and(differ),
        update=_(UPDATE_HINT),
    )
    if agree == "c" and len(differ) == 1:
        message = _(
            "with only {some} non-zero it disagrees with torch (with only {agree} it "
            "agrees): check how {each} enters the gates, and the i * g term of the "
            "update ({update}; with only c non-zero, g = tanh(0) = 0)"
        )
    elif agree == "c":
        message = _(
            "with only {some} non-zero it disagrees with torch (with only {agree} it "
            "agrees): check how {each} enter the gates, and the i * g term of the "
            "update ({update}; with only c non-zero, g = tanh(0) = 0)"
        )
    elif len(differ) == 1:
        message = _(
            "with only {some} non-zero it disagrees with torch (with only {agree} it "
            "agrees): check how {each} enters"
        )
    else:
        message = _(
            "with only {some} non-zero it disagrees with torch (with only {agree} it "
            "agrees): check how {each} enter"
        )
    return message.format(**fields)


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


def at(name: str, batched: bool) -> str:
    """`name`, or "`name` (unbatched input)": whom a message is about."""
    return name if batched else _("{name} (unbatched input)").format(name=name)


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
                    )
                )
    if core.matches(h, c_ref) and core.matches(c, h_ref):
        core.fail(
            _("{name} returns (c', h'); return them in torch's order (h', c')").format(
                name=name
            )
        )
    for label, got, want in (("h'", h, h_ref), ("c'", c, c_ref)):
        core.expect_shape(
            f"{name}: {label}",
            got,
            tuple(want.shape),
            shape_hint(core.expect_tensor(label, got), tuple(want.shape)),
        )
    if core.matches(h, h_ref) and core.matches(c, c_ref):
        return
    who = at(name, batched)
    known = ((m.text(), functools.partial(m, case)) for m in CELL_MISTAKES)
    mistake = core.find_mistake((h, c), known)
    if mistake:
        core.fail(f"{who}: {mistake}")
    if core.matches(c, c_ref):
        core.fail(
            _("{name}: c' is right but h' is not — {output}").format(
                name=who, output=_(OUTPUT_HINT)
            )
        )

    def learner(alone: Case) -> tuple:
        return _lstm_outputs(cell, name, alone, batched)

    def reference(alone: Case) -> tuple:
        return ref.lstm_cell(*alone.lstm_args())

    terms = (*TERMS, "c") if case.bias_ih is not None else ("x", "h", "c")
    differ = differing_terms(learner, reference, case, terms)
    core.fail(
        _("{name}: h' and c' differ from torch's — {cause}").format(
            name=who, cause=term_message(differ, terms)
        )
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
    return _("rows {start}:{stop}").format(start=k * H, stop=(k + 1) * H)


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
            )
        )
    return tuple(got)


def _diagnose_gates(gates_fn: Callable, name: str, case: Case, batched: bool) -> None:
    got = _gates_of(gates_fn, name, case, batched)
    want = reference_gates(*case.gate_args())
    who = at(name, batched)
    for gate, g_got, g_want in zip(GATES, got, want, strict=True):
        g_got = core.expect_tensor(f"{name}: {gate}", g_got)
        if g_got.shape != g_want.shape:
            because = (
                unbatched_hint(case.gate_args())
                if not batched
                else shape_hint(g_got, g_want.shape)
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
                    ).format(**fields, hint=because)
                )
            core.fail(
                _("{name}: {gate} has shape {shape}, expected {expected}").format(
                    **fields
                )
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
            ).format(name=who, gates=", ".join(wrong))
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
            ).format(name=who)
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
                "{name}: {terms} is missing from every gate: torch sums "
                "x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh"
            ).format(name=who, terms=joined_and(left_out))
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
            ).format(name=who, moved=moved)
        )
    found = [
        f"{_(GATE_NAMES[g])}: {gate_problems(g, r, H, case.bias_ih is not None)}"
        for g, r in readings.items()
        if r
    ]
    if found:
        core.fail(f"{who}: " + " | ".join(found))

    def reference(alone: Case) -> tuple:
        return reference_gates(*alone.gate_args())

    def learner(alone: Case) -> tuple:
        return _gates_of(gates_fn, name, alone, batched)

    terms = TERMS if case.bias_ih is not None else ("x", "h")
    differ = differing_terms(learner, reference, case, terms)
    core.fail(
        _("{name}: {gates} differ from torch's — {cause}").format(
            name=who, gates=", ".join(wrong), cause=term_message(differ, terms)
        )
    )
