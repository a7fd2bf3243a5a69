"""Checks for 06_backprop_through_lstm: the gradients of an LSTM, by hand.

The learner's functions take the `cache` that the notebook's `lstm_cell_forward`
returns, a dict with keys x, h, c, i, f, g, o, c_next, weight_ih, weight_hh (the gates
after their activations). The references are torch's autograd and `lstm_ref.backward`
(this notebook's functions, solved), which also stands in for the learner's earlier
functions while a later one is graded; a wrong answer is pinned by comparing it with
the outputs of known mistakes (`backprop_mistakes`), then by isolating one gradient
path and one gate.
"""

from __future__ import annotations

import torch

from autograder.i18n import N_, _
from lstm_ref.backward import gates_backward as ref_gates_backward
from lstm_ref.backward import lstm_cell_backward as ref_cell_backward
from lstm_ref.backward import lstm_cell_forward, sigmoid_backward, tanh_backward
from lstm_ref.functional import lstm_layer

from .backprop_mistakes import (
    GATES_MISTAKES,
    SEQUENCE_MISTAKES,
    gates_backward_variant,
    sequence_backward_variant,
)
from .core import (
    Diagnosis,
    call,
    cell_weights,
    exercise,
    expect_close,
    expect_pair,
    expect_shape,
    fail,
    generator,
    matches,
    passed,
    using,
)

# What each exercise must not call: the thing it asks you to build (sealed grading
# gives the exercise zero, with a message, when the answer calls one of these).
_AUTOGRAD = [
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "torch.autograd.functional",
    "torch.func",
    "torch._functorch",
    "lstm_ref",
]
FORBIDDEN = {
    "activation-backward": _AUTOGRAD,
    "gates-backward": _AUTOGRAD,
    "lstm-cell-backward": _AUTOGRAD,
    "lstm-sequence-backward": _AUTOGRAD,
}

GATES = ("i", "f", "g", "o")
CELL_KEYS = ("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh")
PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
SEQUENCE_KEYS = ("x", "h_0", "c_0", "weight_ih", "weight_hh", "bias_ih", "bias_hh")


# --- inputs -------------------------------------------------------------------------


def make_cache(x, h, c, params):
    """What the notebook's `lstm_cell_forward` returns as its cache."""
    return lstm_cell_forward(x, h, c, **params)[2]


def cell_case(seed, batch, input_size, hidden_size):
    """(grad_h, grad_c, cache, params) for one random step."""
    gen = generator(seed)
    params = cell_weights(input_size, hidden_size, gen)
    x = torch.randn(batch, input_size, generator=gen, dtype=torch.float64)
    h = torch.randn(batch, hidden_size, generator=gen, dtype=torch.float64)
    c = torch.randn(batch, hidden_size, generator=gen, dtype=torch.float64)
    grad_h = torch.randn(batch, hidden_size, generator=gen, dtype=torch.float64)
    grad_c = torch.randn(batch, hidden_size, generator=gen, dtype=torch.float64)
    return grad_h, grad_c, make_cache(x, h, c, params), params


# --- references -----------------------------------------------------------------------


def autograd_gates_backward(grad_h, grad_c, cache, params):
    """torch's answer: differentiate the step with respect to the pre-activations."""
    pre = cache["x"] @ params["weight_ih"].T + params["bias_ih"]
    pre = (
        pre + cache["h"] @ params["weight_hh"].T + params["bias_hh"]
    ).requires_grad_()
    c = cache["c"].clone().requires_grad_()
    i, f, g, o = pre.chunk(4, dim=-1)
    c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_next = o.sigmoid() * torch.tanh(c_next)
    loss = (grad_h * h_next).sum() + (grad_c * c_next).sum()
    return torch.autograd.grad(loss, (pre, c))


# --- exercise 1: local derivatives ----------------------------------------------------


@exercise("activation-backward")
def check_activation_backward(
    learner_sigmoid_backward, learner_tanh_backward, seed=0, size=(3, 5)
):
    gen = generator(seed)
    a = torch.randn(*size, generator=gen, dtype=torch.float64) * 3
    grad = torch.randn(*size, generator=gen, dtype=torch.float64)
    a.requires_grad_()
    for name, fn, act, out_name, act_name in (
        ("sigmoid_backward", learner_sigmoid_backward, torch.sigmoid, "s", "σ"),
        ("tanh_backward", learner_tanh_backward, torch.tanh, "t", "tanh"),
    ):
        out = act(a)
        (expected,) = torch.autograd.grad(out, a, grad)
        y = out.detach()
        got = call(name, fn, grad, y)
        if matches(got, grad * act(y) * (1 - act(y))) or matches(
            got, grad * (1 - act(y) ** 2)
        ):
            fail(
                _(
                    "{name} applies the activation again: its second argument is "
                    "already the activation's output, so write the derivative with "
                    "it directly"
                ).format(name=name),
                "activation-again",
            )
        if matches(got, expected / grad):
            fail(
                _(
                    "{name} returns the local derivative only: multiply it by the "
                    "incoming gradient (the chain rule)"
                ).format(name=name),
                "local-only",
            )
        other = grad * (1 - y**2) if act is torch.sigmoid else grad * y * (1 - y)
        if matches(got, other):
            fail(
                _(
                    "{name} uses the other activation's derivative: §2 gives σ's and "
                    "tanh's, each in terms of its own output"
                ).format(name=name),
                "derivatives-swapped",
            )
        expect_close(
            f"{name}(grad, out)",
            got,
            expected,
            hint=_(
                "the local derivative is not {act}'s: §2 writes it in terms of the "
                "output {out} that {name} receives"
            ).format(name=name, out=out_name, act=act_name),
            mistake="wrong-derivative",
        )
    passed(
        _("sigmoid_backward and tanh_backward match autograd on {size} inputs").format(
            size=tuple(size)
        )
    )


# --- exercise 3: gates_backward -------------------------------------------------------


@exercise("gates-backward")
def check_gates_backward(learner, seed=0, batch=3, input_size=4, hidden_size=5):
    grad_h, grad_c, cache, params = cell_case(seed, batch, input_size, hidden_size)
    expected = autograd_gates_backward(grad_h, grad_c, cache, params)
    scope = {"sigmoid_backward": sigmoid_backward, "tanh_backward": tanh_backward}
    with using(learner, **scope):
        got = call("gates_backward", learner, grad_h, grad_c, cache)
    grad_gates, grad_c_prev = expect_pair(
        "gates_backward", got, "grad_gates", "grad_c_prev"
    )
    H = hidden_size
    expect_shape(
        "grad_gates",
        grad_gates,
        (batch, 4 * H),
        hint=_("one column per pre-activation, the four gates side by side"),
        mistake="grad-gates-shape",
    )
    expect_shape("grad_c_prev", grad_c_prev, (batch, H))
    if matches(grad_gates, expected[0]) and matches(grad_c_prev, expected[1]):
        passed(
            _("gates_backward matches autograd (N={batch}, H={hidden})").format(
                batch=batch, hidden=H
            )
        )
        return
    for mistake, message in GATES_MISTAKES.items():
        wrong = gates_backward_variant(grad_h, grad_c, cache, mistake)
        if matches(grad_gates, wrong[0]) and matches(grad_c_prev, wrong[1]):
            name = "gate-order" if mistake == "order_ifog" else mistake
            fail(f"gates_backward: {_(message)}", name.replace("_", "-"))
    cause = diagnose_paths(learner, grad_h, grad_c, cache, params)
    fail(f"gates_backward: {cause.message}", cause.mistake)


def diagnose_paths(learner, grad_h, grad_c, cache, params) -> Diagnosis:
    """Isolate one path (grad_c alone, grad_h alone), then name the wrong gates."""
    findings, paths = [], []
    for path, finding, gh, gc in (
        (
            "grad-c",
            N_("from grad_c alone (grad_h = 0) the gradients of {names} are wrong"),
            0 * grad_h,
            grad_c,
        ),
        (
            "grad-h",
            N_("from grad_h alone (grad_c = 0) the gradients of {names} are wrong"),
            grad_h,
            0 * grad_c,
        ),
    ):
        with using(
            learner, sigmoid_backward=sigmoid_backward, tanh_backward=tanh_backward
        ):
            got_gates, got_c = call("gates_backward", learner, gh, gc, cache)
        want_gates, want_c = autograd_gates_backward(gh, gc, cache, params)
        wrong = [
            name
            for name, a, b in zip(
                GATES, got_gates.chunk(4, -1), want_gates.chunk(4, -1), strict=True
            )
            if not matches(a, b)
        ]
        if not matches(got_c, want_c):
            wrong.append("c_prev")
        if wrong:
            findings.append(_(finding).format(names=", ".join(wrong)))
            paths.append(path)
    if not findings:
        return Diagnosis(
            "paths-sum",
            _(
                "each path is right alone but their sum is not: add the two paths "
                "into c'"
            ),
        )
    return Diagnosis("-".join(paths) + "-path", "; ".join(findings))


# --- exercise 4: lstm_cell_backward ---------------------------------------------------


@exercise("lstm-cell-backward")
def check_lstm_cell_backward(learner, seed=0, batch=3, input_size=4, hidden_size=5):
    grad_h, grad_c, cache, params = cell_case(seed, batch, input_size, hidden_size)
    expected = ref_cell_backward(grad_h, grad_c, cache)
    with using(learner, gates_backward=ref_gates_backward):
        got = call("lstm_cell_backward", learner, grad_h, grad_c, cache)
    if not isinstance(got, dict):
        fail(
            _("lstm_cell_backward should return a dict with keys {keys}").format(
                keys=", ".join(CELL_KEYS)
            ),
            "not-a-dict",
        )
    missing = [key for key in CELL_KEYS if key not in got]
    if missing:
        fail(
            _("lstm_cell_backward: the result has no {keys}").format(
                keys=", ".join(map(repr, missing))
            ),
            "missing-keys",
        )
    for key in CELL_KEYS:
        want = expected[key]
        value = got[key]
        if (
            isinstance(value, torch.Tensor)
            and want.dim() == 2
            and value.shape == want.mT.shape != want.shape
        ):
            fail(
                _(
                    "grad {key} has shape {shape}, expected {expected} — a weight's "
                    "gradient has the weight's shape: check the order of the "
                    "product's factors (§4)"
                ).format(key=key, shape=tuple(value.shape), expected=tuple(want.shape)),
                "weight-grad-transposed",
            )
        other = {"x": "h", "h": "x"}.get(key)
        if (
            other
            and isinstance(value, torch.Tensor)
            and value.shape == expected[other].shape != want.shape
        ):
            fail(
                _(
                    "grad {key} has shape {shape}, expected {expected} — {key}'s "
                    "gradient goes back through the weight {key} was multiplied by, "
                    "{weight} (§4)"
                ).format(
                    key=key,
                    shape=tuple(value.shape),
                    expected=tuple(want.shape),
                    weight="weight_ih" if key == "x" else "weight_hh",
                ),
                "weights-swapped",
            )
        if (
            key.startswith("bias")
            and isinstance(value, torch.Tensor)
            and value.dim() == 2
        ):
            fail(
                _(
                    "grad {key} has shape {shape}, expected {expected} — the bias is "
                    "shared by every row of the batch, so its gradient gathers every "
                    "row's (§4)"
                ).format(key=key, shape=tuple(value.shape), expected=tuple(want.shape)),
                "bias-not-summed",
            )
        if key == "bias_hh" and isinstance(value, torch.Tensor) and not value.any():
            fail(
                _(
                    "grad bias_hh is zero — bias_hh is added to the gates just like "
                    "bias_ih, so it gets the same gradient"
                ),
                "no-bias-hh-grad",
            )
        batch = cache["x"].shape[0]
        if key in PARAMETERS and batch > 1 and matches(value, want / batch):
            fail(
                _(
                    "grad {key} is the batch mean: the loss adds up the rows of the "
                    "batch, so a parameter's gradient is the sum of every row's "
                    "contribution, not their mean"
                ).format(key=key),
                "batch-mean",
            )
        if key == "c" and matches(value, want * cache["f"]):
            fail(
                _(
                    "grad c is multiplied by the forget gate twice: the grad_c_prev "
                    "that gates_backward returns already holds it"
                ),
                "f-twice",
            )
        expect_close(f"grad {key}", value, want)
    passed(
        _(
            "lstm_cell_backward matches lstm_ref (N={batch}, H_in={input_size}, "
            "H={hidden_size})"
        ).format(batch=batch, input_size=input_size, hidden_size=hidden_size)
    )


# --- exercise 5: lstm_sequence_backward -----------------------------------------------


def sequence_case(seed, length, batch, input_size, hidden_size):
    """(grad_output, caches, params, inputs) for a random sequence."""
    gen = generator(seed)
    params = cell_weights(input_size, hidden_size, gen)
    x = torch.randn(length, batch, input_size, generator=gen, dtype=torch.float64)
    h = torch.randn(batch, hidden_size, generator=gen, dtype=torch.float64)
    c = torch.randn(batch, hidden_size, generator=gen, dtype=torch.float64)
    grad_output = torch.randn(
        length, batch, hidden_size, generator=gen, dtype=torch.float64
    )
    inputs, caches = (x, h, c), []
    for x_t in x:
        cache = make_cache(x_t, h, c, params)
        caches.append(cache)
        c = cache["c_next"]
        h = cache["o"] * torch.tanh(c)
    return grad_output, caches, params, inputs


def autograd_sequence_grads(grad_output, params, inputs):
    """torch's answer: autograd through `lstm_ref.functional.lstm_layer`."""
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    x, h_0, c_0 = (t.clone().requires_grad_() for t in inputs)
    output, _ = lstm_layer(x, leaves, (h_0[None], c_0[None]))
    grads = torch.autograd.grad(output, (x, h_0, c_0, *leaves.values()), grad_output)
    return dict(zip(SEQUENCE_KEYS, grads, strict=True))


@exercise("lstm-sequence-backward")
def check_lstm_sequence_backward(
    learner, seed=0, length=4, batch=2, input_size=3, hidden_size=4
):
    grad_output, caches, params, inputs = sequence_case(
        seed, length, batch, input_size, hidden_size
    )
    expected = autograd_sequence_grads(grad_output, params, inputs)
    # The cache holds the weights, so lstm_ref's backward needs nothing else.
    with using(learner, lstm_cell_backward=ref_cell_backward):
        got = call("lstm_sequence_backward", learner, grad_output, caches)
    if not isinstance(got, dict) or any(key not in got for key in SEQUENCE_KEYS):
        fail(
            _("lstm_sequence_backward should return a dict with keys {keys}").format(
                keys=", ".join(SEQUENCE_KEYS)
            ),
            "not-a-dict",
        )
    if not all(matches(got[k], expected[k]) for k in SEQUENCE_KEYS):
        for mistake, message in SEQUENCE_MISTAKES.items():
            wrong = sequence_backward_variant(grad_output, caches, params, mistake)
            if all(matches(got[k], wrong[k]) for k in SEQUENCE_KEYS):
                fail(f"lstm_sequence_backward: {_(message)}", mistake.replace("_", "-"))
        if matches(got["x"], expected["x"].flip(0)):
            fail(
                _(
                    "grad x is in reverse time order: store the gradient of step t at "
                    "index t, although the loop runs from the last step to the first"
                ),
                "x-reversed",
            )
    for key in SEQUENCE_KEYS:
        expect_close(
            f"grad {key}",
            got[key],
            expected[key],
            hint=_("walk t from L-1 down to 0, carrying grad_h and grad_c"),
        )
    passed(
        _(
            "lstm_sequence_backward matches autograd (L={length}, N={batch}, "
            "H={hidden_size})"
        ).format(length=length, batch=batch, hidden_size=hidden_size)
    )


# --- the predict question -------------------------------------------------------------


@exercise("predict-cell-path")
def check_cell_path_prediction(choice, factor, f=0.9, steps=20):
    check_cell_path_choice(choice)
    expected = f**steps
    if not isinstance(factor, int | float) or isinstance(factor, bool):
        fail(
            _("factor should be a number, got {kind}").format(
                kind=type(factor).__name__
            ),
            "not-a-number",
        )
    if abs(factor - (1 - f) ** steps) < 1e-9 * max(1.0, abs(factor)):
        fail(
            _(
                "factor: the cell path multiplies by f_t itself at every step, "
                "not 1 - f_t"
            ),
            "one-minus-f",
        )
    if abs(factor - f * steps) < 1e-9:
        fail(
            _(
                "factor: the factors multiply across steps (f**steps), "
                "they do not add up"
            ),
            "factors-added",
        )
    if abs(factor - expected) > 1e-9 * expected:
        fail(
            _(
                "factor should be the product of {steps} forget gates of {f}; "
                "got {factor:.6g}"
            ).format(steps=steps, f=f, factor=factor),
            "differs",
        )
    passed(
        _(
            "the cell path scales the gradient by f_t at each step: {f}**{steps} "
            "≈ {expected:.3f}"
        ).format(f=f, steps=steps, expected=expected)
    )


@exercise("predict-cell-path")
def check_cell_path_choice(choice, hidden_test_grades=()):
    """The choice (a, b or c); the ✓ of a visible test names what only the hidden
    test grades (`hidden_test_grades`)."""
    if choice not in ("a", "b", "c"):
        fail(
            _("choice should be one of 'a', 'b', 'c', got {choice!r}").format(
                choice=choice
            ),
            "malformed",
        )
    if choice != "a":
        fail(
            _(
                "choice {choice!r}: differentiate c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t "
                "with respect to c_(t-1), the gates held fixed: that is the cell path "
                "(§3)"
            ).format(choice=choice),
            {"b": "input-gate", "c": "one-minus-f"}[choice],
        )
    passed(
        _("along the cell path, the gradient on c_(t-1) is f_t * dc_t"),
        ", ".join(hidden_test_grades),
    )
