"""Checks for 03_lstm_layer: from one cell to a layer.

The learner's `lstm_layer(x, params, state=None, batch_first=False)` follows one layer
of `nn.LSTM`: x is (L, N, H_in), or (N, L, H_in) with `batch_first`; params holds
torch's `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`; the state (h_0, c_0) and the
returned (h_n, c_n) are (1, N, H) whatever `batch_first` says. It is graded with
`lstm_ref`'s cell in place of the notebook's `lstm_cell` (`core.using`), so only the
unrolling is judged. The other checks: predicted shapes, the last-step read-out of a
recall model, the norm of the Jacobian of c_T with respect to c_0; the forget-gate
bias of an `nn.LSTM` is checked in `forget_bias` (offered here too).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from autograder.i18n import _
from lstm_ref import functional as ref

from . import core

# The forget-bias exercise's check, as the notebook's test cells call it.
from .forget_bias import check_forget_bias as check_forget_bias

FORBIDDEN = {"lstm-layer": core.LSTM_IMPLEMENTATIONS}  # see core

Tensor = torch.Tensor


# --- the layer ---------------------------------------------------------------------


def make_params(input_size: int, hidden_size: int, seed: int) -> dict:
    """torch-named LSTM weights in float64, drawn like nn.LSTM's init."""
    return core.cell_weights(input_size, hidden_size, core.generator(seed))


def reference_lstm_layer(x, params, state=None, batch_first=False):
    """The answer, from `lstm_ref.functional.lstm_layer` (the notebook's signature)."""
    return ref.lstm_layer(x, params, state, batch_first)


def _not_carried(x, params, state, batch_first):
    """Every step started from the initial state: the state is not carried."""
    xs = x.transpose(0, 1) if batch_first else x
    outs = [reference_lstm_layer(x_t[None], params, state)[0][0] for x_t in xs]
    output = torch.stack(outs, 1 if batch_first else 0)
    return output


def _output_mistakes(x, params, state, batch_first, expected) -> list[core.Known]:
    """The known mistakes of the output tensor."""
    h_n = expected[1][0]
    time_dim = 1 if batch_first else 0
    flipped = reference_lstm_layer(x.flip(time_dim), params, state, batch_first)[0]
    backwards = _("time runs backwards: step t = 1 first, up to t = L")
    transposed = (
        _(
            "with batch_first=True the output is (N, L, H) too: batch_first applies "
            "to the input and the output"
        )
        if batch_first
        else _(
            "output is (L, N, H) when batch_first=False: transpose only when "
            "batch_first is True"
        )
    )
    Known = core.Known
    return [
        Known(
            "state-not-carried",
            _(
                "the state is not carried from step to step: feed each step the "
                "(h, c) that the previous step returned, not the initial state"
            ),
            _not_carried(x, params, state, batch_first),
        ),
        Known(
            "output-last-only",
            _(
                "output should hold h_t of every time step, not only the last one "
                "(that is h_n)"
            ),
            h_n,
        ),
        Known(
            "output-last-only",
            _("output should hold h_t of every time step, not only the last one"),
            h_n[0],
        ),
        Known("time-reversed", backwards, flipped),
        Known("time-reversed", backwards, flipped.flip(time_dim)),
        Known("output-layout", transposed, expected[0].transpose(0, 1)),
    ]


def _state_hint(N: int, batch_first: bool) -> str:
    hint = _(
        "h_n and c_n are (num_layers, N, H) = (1, N, H), like nn.LSTM's: keep the "
        "layer dimension and the batch dimension"
    )
    if N == 1:
        hint += " " + _("(even when N = 1: don't squeeze)")
    if batch_first:
        hint += "; " + _("batch_first never applies to the state")
    return hint


def _compare_layer(got, expected, x, params, state, batch_first, case: str) -> None:
    name = f"lstm_layer ({case})"
    output, hc = core.expect_pair(name, got, "output", "(h_n, c_n)")
    if not (isinstance(hc, tuple | list) and len(hc) == 2):
        core.fail(
            _(
                "{name} should return (output, (h_n, c_n)): its second item "
                "should be the pair (h_n, c_n), got {got}"
            ).format(name=name, got=core.describe(hc)),
            "not-a-pair",
        )
    h_n, c_n = hc
    exp_out, (exp_h, exp_c) = expected
    known = _output_mistakes(x, params, state, batch_first, expected)
    found = core.find_mistake(output, known, correct=exp_out)
    if found:
        core.fail(
            _("{name}: output is wrong — {mistake}").format(
                name=name, mistake=found.message
            ),
            found.mistake,
        )
    core.expect_close(f"{name}: output", output, exp_out)
    N = exp_h.shape[1]
    for label, got_s, exp_s in (("h_n", h_n, exp_h), ("c_n", c_n, exp_c)):
        core.expect_tensor(f"{name}: {label}", got_s)
        if got_s.numel() == exp_s.numel():  # the right numbers, arranged wrongly
            hint = _state_hint(N, batch_first)
            core.expect_shape(
                f"{name}: {label}", got_s, exp_s.shape, hint, "state-shape"
            )
    if core.matches(h_n, exp_c) and core.matches(c_n, exp_h):
        core.fail(
            _(
                "{name} returns (c_n, h_n): the second item is (h_n, c_n), the "
                "hidden state first, as nn.LSTM returns it"
            ).format(name=name),
            "h-c-swapped",
        )
    for label, got_s, exp_s in (("h_n", h_n, exp_h), ("c_n", c_n, exp_c)):
        core.expect_close(
            f"{name}: {label}",
            got_s,
            exp_s,
            _("the state after the last step"),
            mistake="state-differs",
        )


@core.exercise("lstm-layer")
@core.forked_rng()
def check_lstm_layer(
    lstm_layer: Callable,
    L: int = 5,
    N: int = 3,
    input_size: int = 4,
    hidden_size: int = 6,
    seed: int = 0,
) -> None:
    """`lstm_layer` against `lstm_ref` in four cases: time-major or batch-first, with a
    given state or the default zero state. Graded with the reference cell."""
    params = make_params(input_size, hidden_size, seed)
    g = core.generator(seed + 1)
    x = torch.randn(L, N, input_size, generator=g, dtype=torch.float64)
    state = tuple(
        torch.randn(1, N, hidden_size, generator=g, dtype=torch.float64)
        for _i in range(2)
    )
    x_bf = x.transpose(0, 1).contiguous()
    cases = [
        (_("time-major, given state"), x, state, False),
        (_("batch_first=True, given state"), x_bf, state, True),
        (_("time-major, state=None"), x, None, False),
        (_("batch_first=True, state=None"), x_bf, None, True),
    ]
    with core.using(lstm_layer, lstm_cell=ref.lstm_cell), core.default_dtype():
        for case, xc, st, bf in cases:
            expected = reference_lstm_layer(xc, params, st, bf)
            try:
                with core.explain(("", _case_hint(case, bf, st))):
                    got = core.call(
                        "lstm_layer", lstm_layer, xc, params, st, batch_first=bf
                    )
                _compare_layer(got, expected, xc, params, st, bf, case)
            except core.CheckFailed as error:
                if st is None:  # the given-state cases passed: the default is wrong
                    hint = _zero_state_hint(N, hidden_size)
                    core.fail(f"{error.message} — {hint}", "zero-state")
                raise
    core.passed(
        _(
            "lstm_layer matches one nn.LSTM layer (L={L}, N={N}, "
            "H_in={input_size}, H={hidden_size}), time-major and batch_first, "
            "with and without a state"
        ).format(L=L, N=N, input_size=input_size, hidden_size=hidden_size)
    )


def _case_hint(case: str, batch_first: bool, state) -> str:
    """Which of the four calls raised; for the batch-first call with a state, the
    time-major one before it passed, so its likely cause."""
    if batch_first and state is not None:
        return _(
            "the error came in the case ({case}), after the time-major case had "
            "passed: with batch_first=True, x is (N, L, H_in), so make it "
            "time-major before the loop"
        ).format(case=case)
    return _("the error came in the case ({case})").format(case=case)


def _zero_state_hint(N: int, hidden_size: int) -> str:
    return _(
        "with state=None the layer starts from h_0 = c_0 = zeros of shape "
        "(1, N, hidden_size) = (1, {N}, {hidden_size}): take N from x after "
        "handling batch_first, and hidden_size from weight_hh"
    ).format(N=N, hidden_size=hidden_size)


# --- predict before you run ------------------------------------------------------


def _true_shapes(batch: int, length: int, input_size: int, hidden_size: int) -> dict:
    """Run torch: nn.LSTM(batch_first=True) on (batch, length, input_size)."""
    lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.zeros(batch, length, input_size))
        lstm(torch.zeros(batch, length, input_size), (h_n, c_n))  # c_0 like c_n
    return {
        "output": tuple(output.shape),
        "h_n": tuple(h_n.shape),
        "c_0": tuple(c_n.shape),
    }


def _shape_hints(
    key: str, batch: int, length: int, input_size: int, hidden_size: int
) -> list[core.Known]:
    """Wrong predictions a learner is likely to write, with their names and
    reasons."""
    N, L, H = batch, length, hidden_size
    Known = core.Known
    if key == "output":
        every_step = _("output holds every time step: (N, L, H)")
        return [
            Known(
                "output-time-major",
                _("batch_first=True applies to the output too: (N, L, H)"),
                (L, N, H),
            ),
            Known("output-last-only", every_step, (N, H)),
            Known("output-last-only", every_step, (1, N, H)),
            Known(
                "output-width",
                _("the output has hidden_size features"),
                (N, L, input_size),
            ),
        ]
    state = "h_n" if key == "h_n" else "c_0"
    hints = [
        Known(
            "state-batch-first",
            _("batch_first never applies to {state}: it stays (num_layers, N, H)"),
            (N, 1, H),
        ),
        Known(
            "state-no-layer-dim",
            _(
                "{state} keeps a first axis for the layers (num_layers = 1): keep "
                "the layer dimension"
            ),
            (N, H),
        ),
        Known("state-no-batch-dim", _("{state} keeps its batch dimension"), (1, H)),
        Known(
            "state-no-layer-batch-dims",
            _("{state} keeps its layer and batch dimensions"),
            (H,),
        ),
        Known(
            "state-per-step",
            _("{state} is one state per sequence, not one per step"),
            (N, L, H),
        ),
    ]
    return [h._replace(message=h.message.format(state=state)) for h in hints]


@core.exercise("predict-shapes")
@core.forked_rng()
def check_predicted_shapes(
    predicted,
    keys,
    batch: int,
    length: int,
    input_size: int,
    hidden_size: int,
    hidden_test_grades: tuple = (),
) -> None:
    """`predicted[key]` against the shapes torch gives for
    nn.LSTM(input_size, hidden_size, batch_first=True) on (batch, length, input_size);
    "c_0" is the initial state one would pass (shaped like c_n). The ✓ of a visible
    test names the keys only the hidden test grades (`hidden_test_grades`)."""
    if not isinstance(predicted, dict):
        core.fail(
            _("predicted should be a dict of shapes, got {got}").format(
                got=core.describe(predicted)
            ),
            "malformed",
        )
    truth = _true_shapes(batch, length, input_size, hidden_size)
    for key in keys:
        if key not in predicted:
            core.fail(
                _(
                    'predicted["{key}"] is missing: add your prediction as a '
                    "tuple of ints such as (2, 7, 5)"
                ).format(key=key),
                "not-answered",
            )
        got = core.parse_shape(f'predicted["{key}"]', predicted[key])
        if got != truth[key]:
            known = _shape_hints(key, batch, length, input_size, hidden_size)
            found = core.find_mistake(got, known) or core.Diagnosis(
                "differs",
                _(
                    "work it out from the documentation's (num_layers, N, H) and "
                    "(N, L, H) forms"
                ),
            )
            core.fail(
                _(
                    'predicted["{key}"] = {got}, but torch gives {truth} — {hint}'
                ).format(key=key, got=got, truth=truth[key], hint=found.message),
                found.mistake,
            )
    shapes = ", ".join(f"{key} {truth[key]}" for key in keys)
    later = ", ".join(hidden_test_grades)
    core.passed(_("{shapes} as predicted").format(shapes=shapes), later)


# --- reading the last step ----------------------------------------------------------


def _recall_expected(model, x) -> Tensor:
    output = model.rnn(x)[0]
    last = output[:, -1] if model.rnn.batch_first else output[-1]
    return model.head(last)


def _recall_mistakes(model, output, h_n, batch_first, what) -> list[core.Known]:
    """The known wrong read-outs of a recall model, named."""
    layout = (
        _("(N, L, H): time is dim 1") if batch_first else _("(L, N, H): time is dim 0")
    )
    last = output[:, -1] if batch_first else output[-1]
    first = output[:, 0] if batch_first else output[0]

    def read(label: str) -> str:
        return _(
            "{what} returned the logits of {label} — with batch_first={batch_first} "
            "the output is {layout}"
        ).format(what=what, label=label, batch_first=batch_first, layout=layout)

    return [
        core.Known(
            "time-major-index",
            read(_("output[-1] (the last time step only when batch_first=False)")),
            model.head(output[-1]),
        ),
        core.Known(
            "batch-first-index",
            read(_("output[:, -1] (the last time step only when batch_first=True)")),
            model.head(output[:, -1]),
        ),
        core.Known("first-step", read(_("the first time step")), model.head(first)),
        core.Known("every-step", read(_("every time step")), model.head(output)),
        core.Known(
            "bottom-layer",
            _(
                "{what} returned the logits of h_n[0], the bottom layer's final state: "
                "with several layers the head reads the top layer, the one output "
                "holds"
            ).format(what=what),
            model.head(h_n[0]) if len(h_n) > 1 else None,
        ),
        core.Known(
            "softmax",
            _(
                "{what} returned probabilities (softmax): return the logits, the "
                "head's raw output — the loss applies log_softmax itself"
            ).format(what=what),
            model.head(last).softmax(-1),
        ),
    ]


@core.exercise("recall-net")
@core.forked_rng()
def check_recall_net(
    Recaller: type,
    num_classes: int = 3,
    input_size: int = 5,
    hidden_size: int = 4,
    L: int = 6,
    N: int = 2,
    seed: int = 0,
    kinds: tuple = ("lstm",),
    num_layers: int = 2,
) -> None:
    """`Recaller(rnn, num_classes)(x)` must be `head(h of the last step)`, shape (N, C),
    for time-major and batch-first recurrent modules."""
    for kind in kinds:
        for batch_first in (True, False):
            torch.manual_seed(seed)
            cls = {"lstm": nn.LSTM, "rnn": nn.RNN, "gru": nn.GRU}[kind]
            rnn = cls(
                input_size, hidden_size, num_layers=num_layers, batch_first=batch_first
            ).double()
            model = core.call("Recaller", Recaller, rnn, num_classes)
            model = model.double()
            shape = (N, L, input_size) if batch_first else (L, N, input_size)
            x = torch.randn(shape, dtype=torch.float64)
            with torch.no_grad(), core.default_dtype():
                expected = _recall_expected(model, x)
                got = core.call("Recaller.forward", model, x)
                output, state = model.rnn(x)
                h_n = state[0] if isinstance(state, tuple) else state
                what = (
                    f"Recaller(nn.{cls.__name__}(..., num_layers={num_layers}, "
                    f"batch_first={batch_first}))"
                )
                known = _recall_mistakes(model, output, h_n, batch_first, what)
                found = core.find_mistake(got, known, correct=expected)
            if found:
                core.fail(found.message, found.mistake)
            core.expect_close(
                _("{what}(x) logits").format(what=what),
                got,
                expected,
                _(
                    "logits are head(h of the last time step), shape (N, "
                    "num_classes) = ({N}, {num_classes})"
                ).format(N=N, num_classes=num_classes),
            )
    core.passed(
        _(
            "Recaller reads the last time step for batch_first=True and False "
            "({kinds}, {num_layers} layer(s))"
        ).format(kinds=", ".join(kinds), num_layers=num_layers)
    )


# --- gradient flow ------------------------------------------------------------------


def _jacobian_norm(fn: Callable, at: Tensor) -> float:
    """Frobenius norm of the Jacobian of `fn` at `at`."""
    return float(torch.autograd.functional.jacobian(fn, at).norm())


def reference_cell_state_jacobian_norm(lstm: nn.LSTM, x: Tensor) -> float:
    """‖∂c_T/∂c_0‖ (Frobenius) for an unbatched x of shape (T, H_in), h_0 = c_0 = 0."""
    zeros = torch.zeros(1, lstm.hidden_size, dtype=x.dtype)
    return _jacobian_norm(lambda c_0: lstm(x, (zeros, c_0))[1][1], zeros)


@core.exercise("cell-state-jacobian")
@core.forked_rng()
def check_cell_state_jacobian_norm(
    fn: Callable,
    input_size: int = 3,
    hidden_size: int = 4,
    lengths: tuple = (6, 1),
    seed: int = 0,
) -> None:
    """fn(lstm, x) = ‖∂c_T/∂c_0‖_F for T = len(x), evaluated at h_0 = c_0 = 0."""
    name = "cell_state_jacobian_norm"
    torch.manual_seed(seed)
    lstm = nn.LSTM(input_size, hidden_size).double()
    g = core.generator(seed + 1)
    for T in lengths:
        x = torch.randn(T, input_size, generator=g, dtype=torch.float64)
        with core.default_dtype():
            got = core.expect_number(name, core.call(name, fn, lstm, x))
        expected = reference_cell_state_jacobian_norm(lstm, x)
        if abs(got - expected) <= 1e-8 + 1e-6 * abs(expected):
            continue
        hint = _jacobian_hint(lstm, x, got)
        core.fail(
            _(
                "{name}(lstm, x of length {T}) = {got:.6g}, expected "
                "{expected:.6g} — {hint}"
            ).format(name=name, T=T, got=got, expected=expected, hint=hint.message),
            hint.mistake,
        )
    core.passed(
        _("{name} matches autograd's Jacobian ∂c_T/∂c_0 (T = {lengths})").format(
            name=name, lengths=", ".join(map(str, lengths))
        )
    )


def _jacobian_variants(lstm: nn.LSTM, x: Tensor) -> list[core.Known]:
    """Known wrong answers of `cell_state_jacobian_norm`, with their diagnoses."""
    H = lstm.hidden_size
    zeros, ones = torch.zeros(1, H, dtype=x.dtype), torch.ones(1, H, dtype=x.dtype)

    def state(h_0, c_0, steps=x):
        return lstm(steps, (h_0, c_0))[1]

    def jac(fn, at):  # computed only when `find_mistake` needs it
        return lambda: _jacobian_norm(fn, at)

    too_few = _("one step too few ({steps}): T = len(x), every step counts")
    shorter = len(x) > 1
    return [
        core.Known(
            "h-not-c",
            _("you differentiated h_T, not the cell state c_T (take c_n)"),
            jac(lambda c: state(zeros, c)[0], zeros),
        ),
        core.Known(
            "h-jacobian",
            _("you measured ∂h_T/∂h_0: the question is ∂c_T/∂c_0"),
            jac(lambda h: state(h, zeros)[0], zeros),
        ),
        core.Known(
            "gradient-of-sum",
            _(
                "that is the gradient of c_T.sum(), a vector, not the Jacobian matrix "
                "∂c_T/∂c_0 (use torch.autograd.functional.jacobian)"
            ),
            jac(lambda c: state(zeros, c)[1].sum(), zeros),
        ),
        core.Known(
            "at-ones",
            _("evaluate the Jacobian at c_0 = 0 (and h_0 = 0), not at ones"),
            jac(lambda c: state(zeros, c)[1], ones),
        ),
        core.Known(
            "h0-ones",
            _("h_0 is ones: evaluate at h_0 = 0 as well as c_0 = 0"),
            jac(lambda c: state(ones, c)[1], zeros),
        ),
        core.Known(
            "one-step-too-few",
            too_few.format(steps="x[1:]"),
            jac(lambda c: state(zeros, c, x[1:])[1], zeros) if shorter else None,
        ),
        core.Known(
            "one-step-too-few",
            too_few.format(steps="x[:-1]"),
            jac(lambda c: state(zeros, c, x[:-1])[1], zeros) if shorter else None,
        ),
    ]


def _jacobian_hint(lstm: nn.LSTM, x: Tensor, got: float) -> core.Diagnosis:
    return core.find_mistake(got, _jacobian_variants(lstm, x)) or core.Diagnosis(
        "differs",
        _(
            "differentiate c_n of lstm(x, (h_0, c_0)) with respect to c_0 "
            "(torch.autograd.functional.jacobian) and take the Frobenius norm"
        ),
    )
