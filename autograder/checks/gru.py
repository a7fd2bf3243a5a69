"""The GRU of notebook 02: its diagnosis and its check.

    diagnose_gru_cell(cell, *, name="gru_cell", input_size=3, hidden_size=5,
                      batch=4, seed=0, bias=True, unbatched=True) -> None

`cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> h'` in torch's gate order r, z,
n, compared with `lstm_ref.functional.gru_cell`: on a mismatch it names the known
mistake (`GRU_MISTAKES`: gate order, the reset gate applied before weight_hh as in
the original paper, z and 1 - z swapped, a missing term, a wrong activation) or the
term that disagrees, with the tools it shares with the LSTM's (`cell_tools`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from autograder.i18n import N_, _
from lstm_ref import functional as ref

from . import core
from .cell_tools import (
    ACTS,
    TERMS,
    Case,
    at,
    batched_then_unbatched,
    differing_terms,
    fill,
    make_case,
    pre_activation_terms,
    run,
    shape_hint,
    term_message,
    unbatched_hint,
)

# What each exercise must not call: the thing it asks you to build (sealed grading
# gives the exercise zero, with a message, when the answer calls one of these).
FORBIDDEN = {
    "gru-cell": [
        "torch.gru_cell",
        "torch.gru",
        "torch.nn.GRUCell",
        "torch.nn.GRU",
        "lstm_ref",
    ],
}

Tensor = torch.Tensor

GRU_GATES = "rzn"


@dataclass(frozen=True)
class GruMistake:
    """A known wrong GRU step: torch's except for the fields given. `name` is the
    mistake's name, `message` is marked `N_` and filled in by `text` (see
    `cell_tools.fill`)."""

    name: str
    message: str
    order: str = GRU_GATES
    acts: tuple = ()
    terms: tuple = TERMS
    reset: str = (
        "torch"  # torch: r ⊙ (h W_hn^T + b_hn); "before": (r ⊙ h) W_hn^T + b_hn
    )
    blend: str = "torch"  # torch: (1 - z) ⊙ n + z ⊙ h; "swapped": z ⊙ n + (1 - z) ⊙ h
    fields: tuple = ()  # (name, value) pairs of the message's fields

    def text(self) -> str:
        """The message the learner reads."""
        return fill(self.message, self.fields)

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
            "gate-order",
            N_(
                "gate order: your cell reads the row blocks as {blocks}; torch "
                "stacks them r, z, n (reset, update, new)"
            ),
            order="".join(p),
            fields=(("blocks", ", ".join(p)),),
        )
        for p in itertools.permutations(GRU_GATES)
        if "".join(p) != GRU_GATES
    ),
    GruMistake(
        "reset-before-weight",
        N_(
            "the reset gate multiplies h before weight_hh (the original paper's "
            "and D2L's form); torch applies it after: r ⊙ (h W_hn^T + b_hn)"
        ),
        reset="before",
    ),
    GruMistake(
        "no-reset-gate",
        N_("the reset gate is missing from n: torch has n = tanh(x_n + r ⊙ h_n)"),
        reset="none",
    ),
    GruMistake(
        "z-swapped",
        N_(
            "z and 1 - z are swapped: torch keeps z of the old state, "
            "h' = (1 - z) ⊙ n + z ⊙ h"
        ),
        blend="swapped",
    ),
    *(
        GruMistake(
            f"no-{term.replace('_', '-')}",
            N_("{term} is missing from the gates"),
            terms=tuple(t for t in TERMS if t != term),
            fields=(("term", term),),
        )
        for term in TERMS
    ),
    *(
        GruMistake(
            f"{gate}-{act.replace(' ', '-')}",
            N_("the {gate} gate has tanh where torch uses sigmoid")
            if act == "tanh"
            else N_("the {gate} gate has no activation where torch uses sigmoid"),
            acts=((gate, act),),
            fields=(("gate", gate),),
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
    want = ref.gru_cell(*case.gate_args())
    got = core.expect_tensor(name, run(name, cell, case.gate_args(), batched))
    who = at(name, batched)
    mistake, because = (
        shape_hint(got, want.shape)
        if batched
        else ("unbatched", unbatched_hint(case.gate_args()))
    )
    core.expect_shape(f"{who}: h'", got, tuple(want.shape), because, mistake)
    if core.matches(got, want):
        return
    known = (
        core.Known(m.name, m.text(), functools.partial(m, case)) for m in GRU_MISTAKES
    )
    found = core.find_mistake(got, known)
    if found:
        core.fail(f"{who}: {found.message}", found.mistake)

    def learner(alone: Case) -> tuple:
        return (run(name, cell, alone.gate_args(), batched),)

    def reference(alone: Case) -> tuple:
        return (ref.gru_cell(*alone.gate_args()),)

    terms = TERMS if case.bias_ih is not None else ("x", "h")
    differ = differing_terms(learner, reference, case, terms)
    cause = term_message(differ, terms)
    core.fail(
        _(
            "{name}: h' differs from torch's — {cause}. torch: r = σ(x_r + h_r), "
            "z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n), h' = (1 - z) ⊙ n + z ⊙ h"
        ).format(name=who, cause=cause.message),
        cause.mistake,
    )


@core.exercise("gru-cell")
def check_gru_cell(
    gru_cell: Callable,
    input_size: int = 3,
    hidden_size: int = 5,
    batch: int = 4,
    seed: int = 0,
    bias: bool = True,
) -> None:
    """`gru_cell` against `lstm_ref.functional.gru_cell`, batched and unbatched."""
    diagnose_gru_cell(
        gru_cell,
        input_size=input_size,
        hidden_size=hidden_size,
        batch=batch,
        seed=seed,
        bias=bias,
    )
    core.passed(
        _(
            "gru_cell matches lstm_ref.functional.gru_cell, batched and unbatched "
            "(input_size={input_size}, hidden_size={hidden_size}, a batch of {batch}, "
            "bias={bias})"
        ).format(input_size=input_size, hidden_size=hidden_size, batch=batch, bias=bias)
    )
