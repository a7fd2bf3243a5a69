"""The vocabulary and tools the cell diagnoses share: `cell_diagnosis` (one LSTM
step), `gate_diagnosis` (its gates) and `gru` (the GRU's step).

The gates in torch's order (`GATES`), their activations (`ACTS`) and the four terms
of their pre-activation (`TERMS`); the inputs of one step (`Case`, `make_case`: seeded,
float64); running learner code with the likely cause of its exception (`run`); the
messages the diagnoses share (`fill`, `shape_hint`, `unbatched_hint`, `at`); and,
when no known mistake fits, the term that disagrees alone (`differing_terms`,
`term_message`). Every diagnosis comes with its mistake's name (`core.Diagnosis`):
the exercise being checked makes it an id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from autograder.i18n import N_, _

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
    "torch stores weight_ih as (4*H, H_in) and weight_hh as (4*H, H) (3*H in a GRU), "
    "one row per gate unit: check which side of each product a weight goes on (did "
    "you transpose the weights?)"
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
UPDATE_HINT = N_("the cell update is c' = f ⊙ c + i ⊙ g (§1)")
OUTPUT_HINT = N_("h' = o ⊙ tanh(c'), with the new cell state c' (§1)")


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


# --- messages -------------------------------------------------------------------------


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


# --- running learner code -------------------------------------------------------------


NONE_HINT = N_(
    "bias_ih and bias_hh are None for a cell built with bias=False: leave the biases "
    "out then"
)


def run(name: str, fn: Callable, args: tuple, batched: bool) -> object:
    """`core.call`, adding the likely cause when the learner's code raised."""
    rules: list[core.Rule] = [("NoneType", _(NONE_HINT), "bias-none")]
    if not batched:
        rules.append(("", unbatched_hint(args), "unbatched"))
    rules.append(
        (("multiplied", "size mismatch"), _(TRANSPOSE_HINT), "weights-untransposed")
    )
    with core.explain(*rules):
        return core.call(name, fn, *args)


def shape_hint(got: Tensor, expected: tuple) -> core.Diagnosis:
    """The likely cause of a wrong shape (its message "" when none is known)."""
    if tuple(got.shape) == tuple(reversed(expected)):
        hint = _("transposed: {hint}").format(hint=_(TRANSPOSE_HINT))
        return core.Diagnosis("output-transposed", hint)
    if got.dim() and got.shape[-1] in (3 * expected[-1], 4 * expected[-1]):
        return core.Diagnosis(
            "gates-packed",
            _("the gates are still packed together: split them with chunk(…, dim=-1)"),
        )
    return core.Diagnosis("wrong-shape", "")


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


def term_message(differ: list[str], terms: tuple) -> core.Diagnosis:
    """What `differing_terms` found, named: `terms-sum` (each term alone agrees),
    `all-zero-differs`, `after-sum` (every term alone disagrees), or the terms that
    disagree alone (`x-term`, `h-bias-hh-term`, …)."""
    if not differ:
        return core.Diagnosis(
            "terms-sum",
            _(
                "each term alone agrees with torch but their sum does not: check "
                "that all four terms are added before the activations"
            ),
        )
    if "" in differ:
        return core.Diagnosis(
            "all-zero-differs",
            _(
                "it disagrees even with every input, state and bias zero, where "
                "torch's gates are σ(0) = 0.5 and tanh(0) = 0: something is added to "
                "the sum, or an activation or the update is not torch's"
            ),
        )
    if len(differ) == len(terms):
        return core.Diagnosis(
            "after-sum",
            _(
                "it disagrees even with a single term: look after the sum — the gate "
                "order, the activations and the updates"
            ),
        )
    name = "-".join(t.replace("_", "-") for t in differ) + "-term"
    if differ == ["c"]:
        return core.Diagnosis(
            name,
            _("only the old cell state c disagrees: {update}").format(
                update=_(UPDATE_HINT)
            ),
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
    return core.Diagnosis(name, message.format(**fields))


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
