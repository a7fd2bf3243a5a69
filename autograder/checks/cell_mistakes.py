"""The reference LSTM step and its known mistakes.

`reference_gates` computes torch's four gates (i, f, g, o) and stands in for a
learner's `lstm_gates` (`core.using`); `CELL_MISTAKES` lists the known wrong steps
(`CellMistake`: any wrong gate order, a missing or doubled bias, swapped or wrong
activations, the update, h' from tanh(c) or without tanh), each with its name (the
mistake's id within the exercise being checked) and the message that names it,
which `cell_diagnosis` compares with a learner's `lstm_cell`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from autograder.i18n import N_

from .cell_tools import (
    ACTS,
    GATE_NAMES,
    GATES,
    LSTM_ACTS,
    TERMS,
    Case,
    fill,
    pre_activation_terms,
)

Tensor = torch.Tensor

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
    """A known wrong LSTM step: torch's except for the fields given. `name` is the
    mistake's name (`gate-order`), `message` is marked `N_` and filled in by `text`
    (see `fill`)."""

    name: str
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
    blocks = (("blocks", ", ".join(order)),)
    return CellMistake("gate-order", message, order=order, fields=blocks)


def _has_act(act: str) -> str:
    """The message of a gate with activation `act` where torch uses another."""
    if act == "no activation":
        return N_("the {gate} has no activation where torch uses {torch_act}")
    return N_("the {gate} has {act} where torch uses {torch_act}")


def _activation_mistakes() -> list[CellMistake]:
    swapped = CellMistake(
        "sigmoid-tanh-swapped",
        N_(
            "sigmoid and tanh swapped between the input gate and the candidate: "
            "i = σ(·) decides how much is written (0 to 1), g = tanh(·) is what is "
            "written (-1 to 1)"
        ),
        acts=(("i", "tanh"), ("g", "sigmoid")),
    )
    single = [
        CellMistake(
            f"{gate}-{act.replace(' ', '-')}",
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
            f"no-{term.replace('_', '-')}",
            N_(
                "{term} is missing from the gates: torch's pre-activation sums four "
                "terms, the input's, the state's and both biases (§1)"
            ),
            terms=tuple(t for t in TERMS if t != term),
            fields=(("term", term),),
        )
        for term in TERMS
    ]
    return [
        *missing,
        CellMistake(
            "no-biases",
            N_("both biases are missing: torch adds bias_ih and bias_hh"),
            terms=("x", "h"),
        ),
        CellMistake(
            "bias-ih-twice",
            N_("bias_ih is added twice and bias_hh never"),
            terms=("x", "h", "bias_ih", "bias_ih"),
        ),
        CellMistake(
            "bias-hh-twice",
            N_("bias_hh is added twice and bias_ih never"),
            terms=("x", "h", "bias_hh", "bias_hh"),
        ),
    ]


CELL_MISTAKES: list[CellMistake] = [
    *_activation_mistakes(),
    *_term_mistakes(),
    CellMistake(
        "no-input-gate",
        N_("the input gate is missing from the update — {update}"),
        update=lambda i, f, g, o, c: f * c + g,
    ),
    CellMistake(
        "no-forget-gate",
        N_("the forget gate is missing from the update — {update}"),
        update=lambda i, f, g, o, c: c + i * g,
    ),
    CellMistake(
        "i-f-swapped",
        N_("i and f are swapped in the update (or their row blocks are) — {update}"),
        update=lambda i, f, g, o, c: i * c + f * g,
    ),
    CellMistake(
        "coupled-gates",
        N_(
            "the update writes (1 - f) ⊙ g, tying the input gate to the forget gate "
            "as the GRU's z does: the LSTM's input gate i is a gate of its own — "
            "{update}"
        ),
        update=lambda i, f, g, o, c: f * c + (1 - f) * g,
    ),
    CellMistake(
        "g-squashed-twice",
        N_("g is squashed twice: lstm_gates already applies tanh to g — {update}"),
        update=lambda i, f, g, o, c: f * c + i * torch.tanh(g),
    ),
    CellMistake(
        "update-multiplies",
        N_("the update multiplies where it should add — {update}"),
        update=lambda i, f, g, o, c: f * c * i * g,
    ),
    CellMistake(
        "no-tanh-c",
        N_("tanh(c') is missing in h': {output}"),
        output=lambda o, c_new, c_old: o * c_new,
    ),
    CellMistake(
        "tanh-after-o",
        N_("tanh is applied after the output gate: {output}"),
        output=lambda o, c_new, c_old: torch.tanh(o * c_new),
    ),
    CellMistake(
        "no-output-gate",
        N_("the output gate is missing from h': {output}"),
        output=lambda o, c_new, c_old: torch.tanh(c_new),
    ),
    CellMistake(
        "old-c-in-h",
        N_("h' uses the old cell state c: {output}"),
        output=lambda o, c_new, c_old: o * torch.tanh(c_old),
    ),
    *(
        _order_mistake("".join(p))
        for p in itertools.permutations(GATES)
        if "".join(p) != GATES
    ),
]
