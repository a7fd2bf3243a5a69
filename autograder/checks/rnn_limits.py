"""Checks for 01_rnn_limits: the RNN cell, unrolling, Jacobian norms, clipping.

Every check builds float64 inputs from a seed, runs the learner's function through
`core.call`, compares with `lstm_ref` (torch itself for `clip_grad_norm_`) and, on a
mismatch, names the likely mistake. The gradient-norm predictions are checked in
`rnn_predictions`, clipping in `grad_clipping`; their checks are offered here too, for
the notebook's test cells.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

import lstm_ref
from autograder.i18n import N_, _
from lstm_ref import functional as ref

from . import core

# The checks of the notebook's other exercises, as its test cells call them.
from .grad_clipping import check_clip_grad_norm as check_clip_grad_norm
from .rnn_predictions import check_prediction as check_prediction
from .rnn_predictions import check_prediction_format as check_prediction_format

# What each exercise must not call: the thing it asks you to build (sealed grading
# gives the exercise zero, with a message, when the answer calls one of these).
_RNN = ["torch.rnn_tanh", "torch.rnn_relu", "torch.nn.RNN", "torch.nn.RNNBase"]
_RNN_CELL = ["torch.rnn_tanh_cell", "torch.rnn_relu_cell", "torch.nn.RNNCell"]
FORBIDDEN = {
    "rnn-cell": [*_RNN_CELL, *_RNN, "lstm_ref"],
    "rnn-forward": [*_RNN_CELL, *_RNN, "lstm_ref"],
    "jacobian-norm": ["lstm_ref"],
    "clip-grad-norm": ["torch.nn.utils.clip_grad", "lstm_ref"],
}

DTYPE = torch.float64


# --- references -------------------------------------------------------------------


def reference_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """`lstm_ref.functional.rnn_cell` with the learners' argument names."""
    return ref.rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh)


def reference_forward(x, h_0, w_ih, w_hh, b_ih, b_hh):
    """One `lstm_ref.RNN` layer loaded with the given weights: (output, h_n)."""
    rnn = lstm_ref.RNN(w_ih.shape[1], w_ih.shape[0], dtype=w_ih.dtype)
    rnn.load_state_dict(
        {
            "weight_ih_l0": w_ih,
            "weight_hh_l0": w_hh,
            "bias_ih_l0": b_ih,
            "bias_hh_l0": b_hh,
        }
    )
    output, h_n = rnn(x, h_0.unsqueeze(0))
    return output, h_n.squeeze(0)


def reference_jacobian(x, h_0, w_ih, w_hh, b_ih, b_hh):
    """∂h_L/∂h_0 of one unbatched sequence, (H, H), through `reference_forward`."""

    def last_state(h):
        return reference_forward(x, h, w_ih, w_hh, b_ih, b_hh)[1]

    return torch.autograd.functional.jacobian(last_state, h_0)


# --- inputs -------------------------------------------------------------------------


def rnn_weights(
    input_size: int,
    hidden_size: int,
    generator: torch.Generator,
    radius: float | None = None,
) -> tuple[torch.Tensor, ...]:
    """(w_ih, w_hh, b_ih, b_hh) in float64, normal with std 0.5; with `radius`,
    w_hh = radius * Q for a random orthogonal Q, so every singular value of w_hh
    equals `radius`."""
    w = core.cell_weights(input_size, hidden_size, generator, num_chunks=1, scale=0.5)
    if radius is not None:
        w["weight_hh"] = radius * torch.linalg.qr(w["weight_hh"])[0]
    return w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]


# --- exercise: rnn-cell -------------------------------------------------------------


def _cell_variants(x, h, w_ih, w_hh, b_ih, b_hh) -> list[core.Known]:
    """Outputs of known mistakes, each with its name and the message that names it."""
    x_part, h_part = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    Known = core.Known
    return [
        Known(
            "no-bias-hh",
            _("b_hh is missing: torch adds two bias vectors, b_ih and b_hh"),
            torch.tanh(x_part + h @ w_hh.T),
        ),
        Known(
            "no-bias-ih",
            _("b_ih is missing: torch adds two bias vectors, b_ih and b_hh"),
            torch.tanh(x @ w_ih.T + h_part),
        ),
        Known(
            "relu",
            _("the nonlinearity should be tanh, not ReLU"),
            torch.relu(x_part + h_part),
        ),
        Known(
            "sigmoid",
            _("the nonlinearity should be tanh, not sigmoid"),
            torch.sigmoid(x_part + h_part),
        ),
        Known("no-tanh", _("the nonlinearity tanh is missing"), x_part + h_part),
        Known(
            "w-hh-untransposed",
            _(
                "w_hh is used untransposed: torch stores weight_hh as (H, H), one row "
                "per unit of the new state (§1's equation of the cell)"
            ),
            torch.tanh(x_part + h @ w_hh + b_hh),
        ),
        Known(
            "h-ignored",
            _("the previous state h is ignored"),
            torch.tanh(x_part + b_hh),
        ),
    ]


def _cell_terms(x, h, w_ih, w_hh, b_ih, b_hh) -> list[tuple[str, str, tuple]]:
    """(name, description, arguments) that keep one term of the pre-activation and
    zero the others."""
    zero = torch.zeros_like
    return [
        (
            "input-term",
            _("the input term (x with w_ih)"),
            (x, zero(h), w_ih, w_hh, zero(b_ih), zero(b_hh)),
        ),
        (
            "hidden-term",
            _("the hidden term (h with w_hh)"),
            (zero(x), h, w_ih, w_hh, zero(b_ih), zero(b_hh)),
        ),
        (
            "bias-ih-term",
            _("the bias b_ih"),
            (zero(x), zero(h), w_ih, w_hh, b_ih, zero(b_hh)),
        ),
        (
            "bias-hh-term",
            _("the bias b_hh"),
            (zero(x), zero(h), w_ih, w_hh, zero(b_ih), b_hh),
        ),
    ]


SHAPE_HINT = N_(  # translated where used
    "torch stores weight_ih as (H, H_in) and weight_hh as (H, H), one row per unit of "
    "the new state: check which side of each product a weight goes on (§1's equation)"
)


def _call_cell(rnn_cell: Callable, *args) -> torch.Tensor:
    rule = (("cannot be multiplied", "size of tensor"), _(SHAPE_HINT), "weight-layout")
    with core.explain(rule):
        return core.call("rnn_cell", rnn_cell, *args)


def _kind(shape: tuple) -> str:
    """The input a message is about: a batch (`shape` (N,)) or one sample (())."""
    return _("batched") if shape else _("unbatched")


@core.exercise("rnn-cell")
def check_rnn_cell(
    rnn_cell: Callable,
    seed: int = 0,
    batch: int = 3,
    input_size: int = 4,
    hidden_size: int = 5,
) -> None:
    """rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh) against `lstm_ref.functional.rnn_cell`,
    batched and unbatched."""
    g = core.generator(seed)
    weights = rnn_weights(input_size, hidden_size, g)
    for shape in ((batch,), ()):
        x = torch.randn(*shape, input_size, generator=g, dtype=DTYPE)
        h = torch.randn(*shape, hidden_size, generator=g, dtype=DTYPE)
        args = (x, h, *weights)
        expected = reference_cell(*args)
        got = _call_cell(rnn_cell, *args)
        if core.matches(got, expected):
            continue
        kind = _kind(shape)
        label = _("rnn_cell's output ({kind})").format(kind=kind)
        core.expect_shape(
            label, got, tuple(expected.shape), _("the next state has the shape of h")
        )
        found = core.find_mistake(got, _cell_variants(*args), correct=expected)
        if found:
            core.fail(
                _("rnn_cell differs from the reference ({kind}): {cause}").format(
                    kind=kind, cause=found.message
                ),
                found.mistake,
            )
        for name, term, term_args in _cell_terms(*args):
            if not core.matches(
                _call_cell(rnn_cell, *term_args), reference_cell(*term_args)
            ):
                core.fail(
                    _(
                        "rnn_cell differs from the reference ({kind}): {term} is "
                        "wrong (tested with every other term set to zero)"
                    ).format(kind=kind, term=term),
                    f"{name}-wrong",
                )
        core.expect_close(
            label,
            got,
            expected,
            _("each term is right alone; check how they are combined"),
            mistake="terms-combined",
        )
    core.passed(
        _(
            "rnn_cell matches lstm_ref.functional.rnn_cell (a batch of {batch}, "
            "input_size={input_size}, hidden_size={hidden_size}, and unbatched)"
        ).format(batch=batch, input_size=input_size, hidden_size=hidden_size)
    )


# --- exercise: rnn-forward ----------------------------------------------------------


def _forward_variants(x, h_0, w_ih, w_hh, b_ih, b_hh) -> list[core.Known]:
    """(output, h_n) of known mistakes, each with its name and message."""
    from_h0 = torch.stack(
        [reference_cell(x_t, h_0, w_ih, w_hh, b_ih, b_hh) for x_t in x]
    )
    output, h_n = reference_forward(x, h_0, w_ih, w_hh, b_ih, b_hh)
    return [
        core.Known(
            "state-not-carried",
            _(
                "every step starts from h_0: the state is not carried from one step "
                "to the next (pass the new h to the next step)"
            ),
            (from_h0, from_h0[-1]),
        ),
        core.Known(
            "h-n-first-state",
            _("h_n should be the state after the last step, not after the first"),
            (output, output[0]),
        ),
        core.Known(
            "output-starts-with-h0",
            _(
                "output starts with h_0: it holds h_1 ... h_L, the state after each "
                "step (collect the new h, not the one the step started from)"
            ),
            (torch.cat([h_0[None], output[:-1]]), h_n),
        ),
    ]


@core.forked_rng()  # lstm_ref.RNN draws its initial weights
@core.exercise("rnn-forward")
def check_rnn_forward(
    rnn_forward: Callable,
    seed: int = 0,
    length: int = 6,
    batch: int = 3,
    input_size: int = 4,
    hidden_size: int = 5,
) -> None:
    """rnn_forward(x, h_0, ...) -> (output, h_n) against one `lstm_ref.RNN` layer,
    batched and unbatched, with the reference rnn_cell in place of the learner's."""
    g = core.generator(seed)
    weights = rnn_weights(input_size, hidden_size, g)
    for shape in ((batch,), ()):
        kind = _kind(shape)
        x = torch.randn(length, *shape, input_size, generator=g, dtype=DTYPE)
        h_0 = torch.randn(*shape, hidden_size, generator=g, dtype=DTYPE)
        args = (x, h_0, *weights)
        with core.using(rnn_forward, rnn_cell=reference_cell):
            got = core.call("rnn_forward", rnn_forward, *args)
        got = core.expect_pair("rnn_forward", got, "output", "h_n")
        output, h_n = reference_forward(*args)
        core.expect_shape(
            f"output ({kind})",
            got[0],
            tuple(output.shape),
            _(
                "output holds every step's state, time first: {shape} — stack along "
                "dim 0, without h_0"
            ).format(shape="(L, N, H)" if shape else "(L, H)"),
            mistake="output-layout",
        )
        core.expect_shape(
            f"h_n ({kind})",
            got[1],
            tuple(h_n.shape),
            _("h_n is the last state, shaped like h_0"),
            mistake="h-n-shape",
        )
        if core.matches(got[0], output) and core.matches(got[1], h_n):
            continue
        known = _forward_variants(*args)
        found = core.find_mistake(got, known, correct=(output, h_n))
        if found:
            core.fail(f"rnn_forward ({kind}): {found.message}", found.mistake)
        if core.matches(got[0], output):
            core.fail(
                _(
                    "rnn_forward ({kind}): output is right but h_n is not — h_n "
                    "should be the state after the last step"
                ).format(kind=kind),
                "h-n-wrong",
            )
        if core.matches(got[0], output.flip(0)):
            core.fail(
                _("rnn_forward ({kind}): output is in reverse time order").format(
                    kind=kind
                ),
                "time-reversed",
            )
        core.expect_close(
            f"output ({kind})",
            got[0],
            output,
            _("run rnn_cell on x[0], x[1], ... in order, starting from h_0"),
        )
    core.passed(
        _(
            "rnn_forward matches lstm_ref.RNN (L = {length}, a batch of {batch}, "
            "input_size={input_size}, hidden_size={hidden_size}, and unbatched)"
        ).format(
            length=length, batch=batch, input_size=input_size, hidden_size=hidden_size
        )
    )


# --- exercise: jacobian-norm --------------------------------------------------------


@core.exercise("jacobian-norm")
@core.forked_rng()  # lstm_ref.RNN draws its initial weights
def check_jacobian_norm(
    jacobian_norm: Callable,
    seed: int = 0,
    lengths: tuple = (12, 1),
    input_size: int = 3,
    hidden_size: int = 4,
    radius: float = 1.5,
) -> None:
    """jacobian_norm(x, h_0, ...) -> ‖∂h_L/∂h_0‖₂ (spectral norm) for sequences of
    the given lengths, with the reference rnn_forward and rnn_cell in place of the
    learner's."""
    g = core.generator(seed)
    weights = rnn_weights(input_size, hidden_size, g, radius)
    h_0 = torch.randn(hidden_size, generator=g, dtype=DTYPE) * 0.1
    for length in lengths:
        x = torch.randn(length, input_size, generator=g, dtype=DTYPE)
        with core.using(
            jacobian_norm, rnn_forward=reference_forward, rnn_cell=reference_cell
        ):
            got = core.call("jacobian_norm", jacobian_norm, x, h_0, *weights)
        if isinstance(got, torch.Tensor) and got.numel() != 1:
            core.fail(
                _(
                    "jacobian_norm returned a tensor of shape {shape}: it should "
                    "return one number, the matrix norm of the (H, H) Jacobian of the "
                    "last state h_L (not of all of output) with respect to h_0"
                ).format(shape=tuple(got.shape)),
                "not-one-number",
            )
        value = core.expect_number("jacobian_norm", got)
        jacobian = reference_jacobian(x, h_0, *weights)
        expected = float(torch.linalg.matrix_norm(jacobian, ord=2))
        if math.isclose(value, expected, rel_tol=1e-9):
            continue
        where = f"(L = {length}, hidden_size={hidden_size})"  # names and numbers
        if value == 0.0:
            core.fail(
                _(
                    "the norm is 0 {where}: the function you differentiate does "
                    "not depend on its argument — use the argument, not the h_0 "
                    "outside it"
                ).format(where=where),
                "closure-ignores-argument",
            )
        if math.isclose(value, float(torch.linalg.matrix_norm(jacobian)), rel_tol=1e-9):
            core.fail(
                _(
                    "this is the Frobenius norm {where}: the question asks for the "
                    "spectral norm, the largest singular value (see the ord argument "
                    "of torch.linalg.matrix_norm)"
                ).format(where=where),
                "frobenius-norm",
            )
        radius = float(torch.linalg.eigvals(jacobian).abs().max())
        if math.isclose(value, radius, rel_tol=1e-9):
            core.fail(
                _(
                    "this is the spectral radius {where}, the largest |eigenvalue|: "
                    "the question asks for the spectral norm, the largest singular "
                    "value (torch.linalg.matrix_norm with ord=2; §2 tells them apart)"
                ).format(where=where),
                "spectral-radius",
            )
        if math.isclose(value, float(jacobian.sum(0).norm()), rel_tol=1e-9):
            core.fail(
                _(
                    "this is the norm of the gradient of h_L.sum() {where}, one "
                    "combination of the Jacobian's rows: take the matrix norm of "
                    "the whole Jacobian ∂h_L/∂h_0"
                ).format(where=where),
                "gradient-of-sum",
            )
        core.fail(
            _(
                "jacobian_norm returned {value:.6g}, autograd through lstm_ref.RNN "
                "gives {expected:.6g} {where} — differentiate the last state with "
                "respect to h_0, then take the spectral norm"
            ).format(value=value, expected=expected, where=where),
            "differs",
        )
    core.passed(
        _(
            "jacobian_norm matches autograd through lstm_ref.RNN (L ∈ {lengths}, "
            "hidden_size={hidden_size}, radius {radius})"
        ).format(
            lengths="{" + ", ".join(map(str, lengths)) + "}",
            hidden_size=hidden_size,
            radius=radius,
        )
    )
