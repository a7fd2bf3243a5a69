"""Checks for 03_lstm_layer: from one cell to a layer.

The learner's `lstm_layer(x, params, state=None, batch_first=False)` follows one layer
of `nn.LSTM`: x is (L, N, H_in), or (N, L, H_in) with `batch_first`; params holds
torch's `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`; the state (h_0, c_0) and the
returned (h_n, c_n) are (1, N, H) whatever `batch_first` says. It is graded with
`lstm_ref`'s cell in place of the notebook's `lstm_cell` (`core.using`), so only the
unrolling is judged. The other checks: predicted shapes, the last-step read-out of a
recall model, the norm of the Jacobian of c_T with respect to c_0, and the
forget-gate bias of an `nn.LSTM`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from autograder.i18n import _
from lstm_ref import functional as ref

from . import core

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


def _output_mistakes(x, params, state, batch_first, expected) -> list:
    """(message, wrong output) pairs for the output tensor."""
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
    return [
        (
            _(
                "the state is not carried from step to step: feed each step the "
                "(h, c) that the previous step returned, not the initial state"
            ),
            _not_carried(x, params, state, batch_first),
        ),
        (
            _(
                "output should hold h_t of every time step, not only the last one "
                "(that is h_n)"
            ),
            h_n,
        ),
        (
            _("output should hold h_t of every time step, not only the last one"),
            h_n[0],
        ),
        (backwards, flipped),
        (backwards, flipped.flip(time_dim)),
        (transposed, expected[0].transpose(0, 1)),
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
            ).format(name=name, got=core.describe(hc))
        )
    h_n, c_n = hc
    exp_out, (exp_h, exp_c) = expected
    known = _output_mistakes(x, params, state, batch_first, expected)
    mistake = core.find_mistake(output, known, correct=exp_out)
    if mistake:
        core.fail(
            _("{name}: output is wrong — {mistake}").format(name=name, mistake=mistake)
        )
    core.expect_close(f"{name}: output", output, exp_out)
    N = exp_h.shape[1]
    for label, got_s, exp_s in (("h_n", h_n, exp_h), ("c_n", c_n, exp_c)):
        core.expect_tensor(f"{name}: {label}", got_s)
        if got_s.numel() == exp_s.numel():  # the right numbers, arranged wrongly
            core.expect_shape(
                f"{name}: {label}", got_s, exp_s.shape, _state_hint(N, batch_first)
            )
        core.expect_close(
            f"{name}: {label}", got_s, exp_s, _("the state after the last step")
        )


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
                got = core.call(
                    "lstm_layer", lstm_layer, xc, params, st, batch_first=bf
                )
                _compare_layer(got, expected, xc, params, st, bf, case)
            except core.CheckFailed as error:
                if st is None:  # the given-state cases passed: the default is wrong
                    core.fail(f"{error} — {_zero_state_hint(N, hidden_size)}")
                raise
    core.passed(
        _(
            "lstm_layer matches one nn.LSTM layer (L={L}, N={N}, "
            "H_in={input_size}, H={hidden_size}), time-major and batch_first, "
            "with and without a state"
        ).format(L=L, N=N, input_size=input_size, hidden_size=hidden_size)
    )


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
) -> dict:
    """Wrong predictions a learner is likely to write, with the reason."""
    N, L, H = batch, length, hidden_size
    if key == "output":
        every_step = _("output holds every time step: (N, L, H)")
        return {
            (L, N, H): _("batch_first=True applies to the output too: (N, L, H)"),
            (N, H): every_step,
            (1, N, H): every_step,
            (N, L, input_size): _("the output has hidden_size features"),
        }
    state = "h_n" if key == "h_n" else "c_0"
    hints = {
        (N, 1, H): _(
            "batch_first never applies to {state}: it stays (num_layers, N, H)"
        ),
        (N, H): _(
            "{state} keeps a first axis for the layers (num_layers = 1): keep "
            "the layer dimension"
        ),
        (1, H): _("{state} keeps its batch dimension"),
        (H,): _("{state} keeps its layer and batch dimensions"),
        (N, L, H): _("{state} is one state per sequence, not one per step"),
    }
    return {shape: hint.format(state=state) for shape, hint in hints.items()}


@core.forked_rng()
def check_predicted_shapes(
    predicted, keys, batch: int, length: int, input_size: int, hidden_size: int
) -> None:
    """`predicted[key]` against the shapes torch gives for
    nn.LSTM(input_size, hidden_size, batch_first=True) on (batch, length, input_size);
    "c_0" is the initial state one would pass (shaped like c_n)."""
    if not isinstance(predicted, dict):
        core.fail(
            _("predicted should be a dict of shapes, got {got}").format(
                got=core.describe(predicted)
            )
        )
    truth = _true_shapes(batch, length, input_size, hidden_size)
    for key in keys:
        if key not in predicted:
            core.fail(
                _(
                    'predicted["{key}"] is missing: add your prediction as a '
                    "tuple of ints such as (2, 7, 5)"
                ).format(key=key)
            )
        got = core.parse_shape(f'predicted["{key}"]', predicted[key])
        if got != truth[key]:
            hint = _shape_hints(key, batch, length, input_size, hidden_size).get(
                got,
                _(
                    "work it out from the documentation's (num_layers, N, H) and "
                    "(N, L, H) forms"
                ),
            )
            core.fail(
                _(
                    'predicted["{key}"] = {got}, but torch gives {truth} — {hint}'
                ).format(key=key, got=got, truth=truth[key], hint=hint)
            )
    shapes = ", ".join(f"{key} {truth[key]}" for key in keys)
    core.passed(_("{shapes} as predicted").format(shapes=shapes))


# --- reading the last step ----------------------------------------------------------


def _recall_expected(model, x) -> Tensor:
    output = model.rnn(x)[0]
    last = output[:, -1] if model.rnn.batch_first else output[-1]
    return model.head(last)


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
    num_layers: int = 1,
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
                output = model.rnn(x)[0]
            what = (
                f"Recaller(nn.{cls.__name__}(..., num_layers={num_layers}, "
                f"batch_first={batch_first}))"
            )
            last_time_major, last_batch_first = output[-1], output[:, -1]
            first = output[:, 0] if batch_first else output[0]
            known = {
                _("output[-1] (the last time step only when batch_first=False)"): (
                    model.head(last_time_major)
                ),
                _("output[:, -1] (the last time step only when batch_first=True)"): (
                    model.head(last_batch_first)
                ),
                _("the first time step"): model.head(first),
                _("every time step"): model.head(output),
            }
            layout = (
                _("(N, L, H): take output[:, -1]")
                if batch_first
                else _("(L, N, H): take output[-1]")
            )
            label = core.find_mistake(got, known, correct=expected)
            if label:
                core.fail(
                    _(
                        "{what} returned the logits of {label} — with "
                        "batch_first={batch_first} the output is {layout}"
                    ).format(
                        what=what, label=label, batch_first=batch_first, layout=layout
                    )
                )
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
        core.fail(
            _(
                "{name}(lstm, x of length {T}) = {got:.6g}, expected "
                "{expected:.6g} — {hint}"
            ).format(
                name=name,
                T=T,
                got=got,
                expected=expected,
                hint=_jacobian_hint(lstm, x, got),
            )
        )
    core.passed(
        _("{name} matches autograd's Jacobian ∂c_T/∂c_0 (T = {lengths})").format(
            name=name, lengths=", ".join(map(str, lengths))
        )
    )


def _jacobian_variants(lstm: nn.LSTM, x: Tensor) -> dict:
    """Known wrong answers of `cell_state_jacobian_norm`, keyed by their diagnosis."""
    H = lstm.hidden_size
    zeros, ones = torch.zeros(1, H, dtype=x.dtype), torch.ones(1, H, dtype=x.dtype)

    def state(h_0, c_0, steps=x):
        return lstm(steps, (h_0, c_0))[1]

    jac = _jacobian_norm
    too_few = _("one step too few ({steps}): T = len(x), every step counts")
    return {
        _("you differentiated h_T, not the cell state c_T (take c_n)"): jac(
            lambda c: state(zeros, c)[0], zeros
        ),
        _("you measured ∂h_T/∂h_0: the question is ∂c_T/∂c_0"): jac(
            lambda h: state(h, zeros)[0], zeros
        ),
        _(
            "that is the gradient of c_T.sum(), a vector, not the Jacobian matrix "
            "∂c_T/∂c_0 (use torch.autograd.functional.jacobian)"
        ): jac(lambda c: state(zeros, c)[1].sum(), zeros),
        _("evaluate the Jacobian at c_0 = 0 (and h_0 = 0), not at ones"): jac(
            lambda c: state(zeros, c)[1], ones
        ),
        _("h_0 is ones: evaluate at h_0 = 0 as well as c_0 = 0"): jac(
            lambda c: state(ones, c)[1], zeros
        ),
        too_few.format(steps="x[1:]"): (
            jac(lambda c: state(zeros, c, x[1:])[1], zeros)
            if len(x) > 1
            else float("nan")
        ),
        too_few.format(steps="x[:-1]"): (
            jac(lambda c: state(zeros, c, x[:-1])[1], zeros)
            if len(x) > 1
            else float("nan")
        ),
    }


def _jacobian_hint(lstm: nn.LSTM, x: Tensor, got: float) -> str:
    hint = core.find_mistake(got, _jacobian_variants(lstm, x))
    return hint or _(
        "differentiate c_n of lstm(x, (h_0, c_0)) with respect to c_0 "
        "(torch.autograd.functional.jacobian) and take the Frobenius norm"
    )


# --- forget-gate bias ---------------------------------------------------------------


def _bias_names(lstm: nn.LSTM) -> list[tuple[str, str]]:
    return [
        (name, name.replace("bias_ih", "bias_hh"))
        for name, _p in lstm.named_parameters()
        if name.startswith("bias_ih")
    ]


@core.forked_rng()
def check_forget_bias(
    init_forget_bias: Callable,
    input_size: int = 3,
    hidden_size: int = 4,
    num_layers: int = 1,
    bidirectional: bool = False,
    value: float = 1.0,
    seed: int = 0,
) -> None:
    """After init_forget_bias(lstm, value): bias_ih + bias_hh on the forget chunk
    [H:2H] equals value in every layer and direction; nothing else changed."""
    torch.manual_seed(seed)
    lstm = nn.LSTM(
        input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional
    )
    what = (
        f"init_forget_bias(nn.LSTM({input_size}, {hidden_size}, "
        f"num_layers={num_layers}, bidirectional={bidirectional}), {value})"
    )
    before = copy.deepcopy(lstm.state_dict())
    returned = core.call("init_forget_bias", init_forget_bias, lstm, value)
    params = dict(lstm.named_parameters())
    if set(params) != set(before):
        core.fail(
            _(
                "{what} changed which parameters the LSTM has: set entries of the "
                "existing bias tensors in place (under torch.no_grad())"
            ).format(what=what)
        )
    H = hidden_size
    f = slice(H, 2 * H)
    chunks = {
        _("input gate i"): slice(0, H),
        _("candidate g"): slice(2 * H, 3 * H),
        _("output gate o"): slice(3 * H, 4 * H),
    }
    for name, p in params.items():
        if not isinstance(p, nn.Parameter) or not p.requires_grad:
            core.fail(
                _(
                    "{what}: {name} is no longer a trainable nn.Parameter — change "
                    "its entries in place inside torch.no_grad()"
                ).format(what=what, name=name)
            )
        if name.startswith("weight") and not torch.equal(p.detach(), before[name]):
            core.fail(
                _("{what} changed {name}: only the biases should change").format(
                    what=what, name=name
                )
            )
        if name.startswith("bias"):
            for gate, chunk in chunks.items():
                if not torch.equal(p.detach()[chunk], before[name][chunk]):
                    core.fail(
                        _(
                            "{what} changed the {gate} chunk of {name} — torch "
                            "stacks the gates in the order i, f, g, o, so the "
                            "forget gate is rows [H:2H] = [{H}:{H2}]"
                        ).format(what=what, gate=gate, name=name, H=H, H2=2 * H)
                    )
    for ih, hh in _bias_names(lstm):
        total = (params[ih] + params[hh]).detach()[f]
        if torch.allclose(total, torch.full_like(total, value)):
            continue
        if torch.allclose(total, torch.full_like(total, 2 * value)):
            core.fail(
                _(
                    "{what}: {ih} + {hh} is {double:g} on the forget chunk — "
                    "torch adds both bias vectors, so setting both to {value:g} "
                    "doubles it; set {ih}'s forget chunk to {value:g} and {hh}'s "
                    "to 0"
                ).format(what=what, ih=ih, hh=hh, double=2 * value, value=value)
            )
        if torch.equal(params[ih].detach()[f], before[ih][f]):
            core.fail(
                _(
                    "{what} left {ih}'s forget chunk as it was — set the forget "
                    "bias in every layer and direction (iterate over "
                    "lstm.named_parameters(), not only the _l0 names)"
                ).format(what=what, ih=ih)
            )
        if torch.allclose(params[ih].detach()[f], torch.full_like(total, value)):
            core.fail(
                _(
                    "{what}: {ih}'s forget chunk is {value:g} but {hh}'s is not 0, "
                    "so the gate's total bias {ih} + {hh} is not {value:g}"
                ).format(what=what, ih=ih, hh=hh, value=value)
            )
        core.fail(
            _(
                "{what}: {ih} + {hh} on the forget chunk [{H}:{H2}] should be "
                "{value:g} everywhere, got {got}"
            ).format(
                what=what, ih=ih, hh=hh, H=H, H2=2 * H, value=value, got=total.tolist()
            )
        )
    if returned is not lstm:
        core.fail(
            _(
                "{what} returned {got}: return lstm itself, "
                "so that `lstm = init_forget_bias(nn.LSTM(...), 1.0)` works"
            ).format(what=what, got=core.describe(returned))
        )
    core.passed(
        _(
            "forget bias b_ih + b_hh = {value:g} on rows [H:2H] of every layer "
            "and direction; nothing else changed"
        ).format(value=value)
    )
