"""Checks for 04_nn_lstm_parameters' last exercise, `MyLSTM`: nn.LSTM rebuilt.

`MyLSTM` is built beside `torch.nn.LSTM` for each configuration, its parameters'
names, shapes and initialisation are checked, torch's `state_dict` is loaded into it,
and `output`, `h_n`, `c_n` are compared in float64 (eval mode with and without an
initial state; training mode with dropout, where the same seed gives torch's masks).
A mismatch is diagnosed against the usual wiring mistakes: the reverse direction's
time order, the concatenation order, the state index layer·D + direction, batch_first
on the states, dropout in eval mode or after the last layer, and a one-layer run
that tells stacking mistakes from mistakes inside a layer.
"""

from __future__ import annotations

import torch

import lstm_ref.functional
from autograder.i18n import _

from . import core
from .nn_lstm_configs import Config, _configs, lstm
from .nn_lstm_parameters import (
    _diff_state_dict,
    reference_state_dict_shapes,
)

FORBIDDEN = {"my-lstm": core.LSTM_IMPLEMENTATIONS}  # see core

MY_LSTM_VISIBLE = [  # one argument each, and the states' order (several layers and
    lstm(3, 4, (5, 2, 3)),  # directions); the hidden test's are in its cell
    lstm(3, 4, (5, 2, 3), num_layers=2),
    lstm(3, 4, (5, 2, 3), bidirectional=True),
    lstm(3, 4, (5, 2, 3), proj_size=2),
    lstm(3, 4, (2, 5, 3), batch_first=True),
    lstm(3, 4, (5, 2, 3), num_layers=2, dropout=0.5),
    lstm(3, 4, (5, 2, 3), num_layers=2, bidirectional=True),
]


def _build(MyLSTM, config: Config, seed: int):
    torch.manual_seed(seed)
    ref = torch.nn.LSTM(**config.kwargs, dtype=torch.float64)
    mine = core.call(f"MyLSTM({config.arguments})", MyLSTM, **config.kwargs)
    if not isinstance(mine, torch.nn.Module):
        core.fail(_("MyLSTM should subclass nn.Module"), "not-a-module")
    names = {n: tuple(p.shape) for n, p in mine.named_parameters()}
    expected = {n: tuple(p.shape) for n, p in ref.named_parameters()}
    problem = _diff_state_dict(names, expected, config)
    if problem and problem.mistake != "wrong-order":  # the order does not matter here
        core.fail(
            _("MyLSTM's parameters for {config}: {problem}").format(
                config=config, problem=problem.message
            ),
            problem.mistake,
        )
    _check_init(mine, config)
    mine.to(torch.float64)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def _check_init(module, config: Config) -> None:
    """Every parameter drawn from U(-1/√H, 1/√H), as torch initialises them."""
    bound = config.H**-0.5
    for name, p in module.named_parameters():
        p = p.detach().double()
        # 16 or more uniform draws span less than a quarter of the range only
        # with probability below 1e-8: a constant or zero tensor is a mistake.
        narrow = p.numel() >= 16 and float(p.max() - p.min()) < bound / 2
        if float(p.abs().max()) > bound * (1 + 1e-6) or narrow:
            core.fail(
                _(
                    "MyLSTM({arguments}).{name} spans [{low:.3g}, {high:.3g}] — "
                    "initialise every parameter from "
                    "U(-1/√H, 1/√H) = U(-{bound:.3g}, {bound:.3g}), like torch"
                ).format(
                    arguments=config.arguments,
                    name=name,
                    low=float(p.min()),
                    high=float(p.max()),
                    bound=bound,
                ),
                "init-range",
            )


def _inputs(config: Config, seed: int, with_state: bool):
    gen = core.generator(seed)
    x = torch.randn(config.input_shape, generator=gen, dtype=torch.float64)
    if not with_state:
        return x, None
    N = config.input_shape[0 if config.kwargs.get("batch_first") else 1]
    n = config.D * config.layers
    h0 = torch.randn(n, N, config.H_out, generator=gen, dtype=torch.float64)
    c0 = torch.randn(n, N, config.H, generator=gen, dtype=torch.float64)
    return x, (h0, c0)


def _run(module, x, hx, seed: int, config: Config):
    torch.manual_seed(seed)
    args = (x,) if hx is None else (x, hx)
    try:
        with torch.no_grad():
            result = core.call("MyLSTM.forward", module, *args)
    except core.CheckFailed as error:
        if "Double" in error.message or "dtype" in error.message:
            core.fail(
                _(
                    "MyLSTM failed for {config} in float64: {error} — create "
                    "tensors with x.new_zeros(...) so they take the input's dtype"
                ).format(config=config, error=error.message),
                "dtype",
            )
        core.fail(
            _("MyLSTM failed for {config} — {hint}: {error}").format(
                config=config, hint=config.hint, error=error.message
            ),
            error.mistake,
        )
    output, state = core.expect_pair("MyLSTM.forward", result, "output", "(h_n, c_n)")
    h_n, c_n = core.expect_pair(
        _("MyLSTM.forward's second result"), state, "h_n", "c_n"
    )
    for name, value in (("output", output), ("h_n", h_n), ("c_n", c_n)):
        core.expect_tensor(_("MyLSTM's {name}").format(name=name), value)
    return output, h_n, c_n


def _time_major(tensor, config: Config):
    return tensor.transpose(0, 1) if config.kwargs.get("batch_first") else tensor


def _swap_state_order(state, config: Config, inverse: bool = False):
    """Re-index states between layer·D + direction (torch) and direction·num_layers +
    layer: entry d·num_layers + k of the result is entry k·D + d of `state`, or the
    other way round with `inverse`."""
    n, rest = config.layers, state.shape[1:]
    grid = (config.D, n) if inverse else (n, config.D)
    return state.view(*grid, *rest).transpose(0, 1).reshape(state.shape)


def _diagnose(config, got, want, ref, x, hx) -> core.Diagnosis:
    """Name the likely cause of a forward mismatch (eval mode); `differs` with the
    configuration's rules when none is known."""
    (out, h_n, c_n), (out_r, h_r, c_r) = got, want
    H_out, Diagnosis = config.H_out, core.Diagnosis
    if tuple(out.shape) != tuple(out_r.shape):
        return Diagnosis(
            "output-shape",
            _(
                "output has shape {shape}, expected {expected}"
                " — output is (L, N, D·H_out), or (N, L, D·H_out) with batch_first"
            ).format(shape=tuple(out.shape), expected=tuple(out_r.shape)),
        )
    states_batch_first = _("batch_first never changes h_0/c_0/h_n/c_n")
    for name, g, w in (("h_n", h_n, h_r), ("c_n", c_n, c_r)):
        if tuple(g.shape) != tuple(w.shape):
            if tuple(g.shape) == tuple(w.transpose(0, 1).shape):
                mistake, cause = "state-batch-first", states_batch_first
            elif name == "c_n" and g.shape[-1] == H_out != config.H:
                mistake = "c-projected"
                cause = _("proj_size shrinks h only: c keeps hidden_size")
            else:
                mistake = "state-shape"
                cause = _("h_n/c_n are (D·num_layers, N, H_out / H)")
            message = _("{name} has shape {shape}, expected {expected} — {cause}")
            return Diagnosis(
                mistake,
                message.format(
                    name=name,
                    shape=tuple(g.shape),
                    expected=tuple(w.shape),
                    cause=cause,
                ),
            )
    if config.kwargs.get("batch_first") and core.matches(
        h_n, h_r.transpose(0, 1).reshape(h_r.shape)
    ):
        return Diagnosis("state-batch-first", states_batch_first)
    if config.D == 2:
        fw, rv = _time_major(out_r, config).split(H_out, dim=-1)
        mine = _time_major(out, config)
        if core.matches(mine, torch.cat([fw, rv.flip(0)], -1)):
            return Diagnosis(
                "reverse-not-flipped",
                _(
                    "the reverse direction's outputs are stored in the order it "
                    "computed them (t = L-1 … 0): flip them back to time order"
                ),
            )
        if core.matches(mine, torch.cat([rv, fw], -1)):
            return Diagnosis(
                "concat-order",
                _(
                    "concatenation order: output holds the forward direction's "
                    "features first, then the reverse direction's"
                ),
            )
        if config.layers > 1 and core.matches(h_n, _swap_state_order(h_r, config)):
            return Diagnosis(
                "state-order",
                _(
                    "h_n order: the rows go layer by layer, the directions of a layer "
                    "side by side — the state of layer k, direction d is row k·D + d"
                ),
            )
        if hx is not None and config.layers > 1:
            swapped = tuple(_swap_state_order(s, config, inverse=True) for s in hx)
            with torch.no_grad(), core.quiet():
                out_s = ref(x, swapped)[0]
            if core.matches(out, out_s):
                return Diagnosis(
                    "initial-state-order",
                    _(
                        "h_0/c_0 are indexed layer·D + direction: state k·D + d "
                        "belongs to layer k, direction d"
                    ),
                )
    return Diagnosis("differs", config.hint)


def _diagnose_one_layer(MyLSTM, config: Config, seed: int) -> core.Diagnosis:
    """Tell a stacking mistake from a mistake inside one layer."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "dropout"}
    single = Config({**kwargs, "num_layers": 1}, config.input_shape)
    ref, mine = _build(MyLSTM, single, seed)
    ref.eval(), mine.eval()
    x = _inputs(single, seed + 1, False)[0]
    got = _run(mine, x, None, seed, single)
    with torch.no_grad(), core.quiet():
        out_r, (h_r, c_r) = ref(x)
    want = (out_r, h_r, c_r)
    if all(core.matches(g, w) for g, w in zip(got, want, strict=True)):
        return core.Diagnosis(
            "stacking",
            _(
                "with num_layers=1 the same configuration is right, so the stacking "
                "is wrong: layer k > 0 reads layer k-1's concatenated output "
                "(D·H_out features) and starts from state k·D + d"
            ),
        )
    cause = _diagnose(single, got, want, ref, x, None)
    return cause._replace(
        message=_("already with num_layers=1: {cause}").format(cause=cause.message)
    )


@core.exercise("my-lstm")
def check_my_lstm(MyLSTM, configs: list[dict] | None = None, seed: int = 0) -> None:
    """Load nn.LSTM's state_dict into MyLSTM and compare forward results, for each
    configuration (dicts of nn.LSTM's arguments and `input_shape`; the visible
    test's seven by default), with the reference `state_dict_shapes` and
    `lstm_step` in place of the learner's."""
    configs = _configs(configs, MY_LSTM_VISIBLE)
    substitutes = {
        "state_dict_shapes": reference_state_dict_shapes,
        "lstm_step": lstm_ref.functional.lstm_step,
    }
    with core.using(MyLSTM.__init__, **substitutes), core.forked_rng():
        for i, config in enumerate(configs):
            s = seed + 10 * i
            ref, mine = _build(MyLSTM, config, s)
            ref.eval(), mine.eval()
            for with_state in (False, True):
                x, hx = _inputs(config, s + 1, with_state)
                got = _run(mine, x, hx, s, config)
                with torch.no_grad(), core.quiet():
                    out_r, (h_r, c_r) = ref(x, hx)
                want = (out_r, h_r, c_r)
                if not all(core.matches(g, w) for g, w in zip(got, want, strict=True)):
                    state = (
                        _("given (h_0, c_0)") if with_state else _("no initial state")
                    )
                    if not all(
                        core.matches(g, w)
                        for g, w in zip(
                            got, _run(mine, x, hx, s + 1, config), strict=True
                        )
                    ):
                        cause = core.Diagnosis(
                            "dropout-in-eval",
                            _(
                                "in eval mode MyLSTM gives different results under "
                                "different seeds: dropout applied in eval mode — it "
                                "acts in training mode only (self.training)"
                            ),
                        )
                    else:
                        cause = _diagnose(config, got, want, ref, x, hx)
                        if cause.mistake == "differs" and config.layers > 1:
                            cause = _diagnose_one_layer(MyLSTM, config, s)
                    core.fail(
                        _(
                            "MyLSTM differs from {config}, eval mode, {state}: {cause}"
                        ).format(config=config, state=state, cause=cause.message),
                        cause.mistake,
                    )
            if config.kwargs.get("dropout"):
                _check_training(config, ref, mine, s)
    core.passed(
        _(
            "MyLSTM matches nn.LSTM (float64, atol 1e-8) in {count} configurations"
        ).format(count=len(configs))
    )


def _check_training(config: Config, ref, mine, seed: int) -> None:
    """Training mode: dropout between layers, torch's masks under the same seed."""
    ref.train(), mine.train()
    x = _inputs(config, seed + 2, False)[0]
    out, h_n, c_n = _run(mine, x, None, seed, config)
    torch.manual_seed(seed)
    with torch.no_grad(), core.quiet():
        out_r, (h_r, c_r) = ref(x)
    ref.eval(), mine.eval()
    if all(core.matches(g, w) for g, w in ((out, out_r), (h_n, h_r), (c_n, c_r))):
        return

    def differs(mistake: str, cause: str):
        core.fail(
            _("MyLSTM differs from {config} in training mode: {cause}").format(
                config=config, cause=cause
            ),
            mistake,
        )

    with torch.no_grad(), core.quiet():
        out_e, (h_e, c_e) = ref(x)
    D = config.D
    if bool((out == 0).any()):
        differs(
            "dropout-after-last",
            _(
                "the output has exact zeros — dropout acts between layers, "
                "never after the last one"
            ),
        )
    if core.matches(out, out_e):
        differs(
            "no-dropout-in-training",
            _(
                "the output equals eval mode — apply dropout to every "
                "layer's output but the last when self.training is True"
            ),
        )
    if not core.matches(h_n[:D], h_e[:D]):
        differs(
            "dropout-in-recurrence",
            _(
                "layer 0's final state changed — dropout acts on a layer's "
                "output on its way to the next layer, never inside the recurrence"
            ),
        )
    differs(
        "dropout-differs",
        _(
            "dropout acts once per layer boundary, on the concatenated output, in "
            "training mode; draw it with torch's functional dropout so your masks "
            "are torch's under the same seed"
        ),
    )
