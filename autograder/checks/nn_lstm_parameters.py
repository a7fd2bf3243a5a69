"""Checks for 04_nn_lstm_parameters: every constructor argument of `nn.LSTM`.

`state_dict_shapes` is compared with `lstm_ref.shapes`, parameter counts with
`sum(p.numel())` of a real `torch.nn.LSTM`; on a mismatch each check names the
argument the learner most likely misread. The predicted shapes and the dropout
answers have their own module, `nn_lstm_predictions` (their checks are offered here
too, for the notebook's test cells); `MyLSTM` has its own, `my_lstm`. A test cell's
configurations are dicts of `nn.LSTM`'s arguments (`nn_lstm_configs`): the visible
ones are defined here, the hidden ones are written in the master's hidden test cells.
"""

from __future__ import annotations

import numbers

import torch

import lstm_ref.functional
import lstm_ref.shapes
from autograder.i18n import N_, _

from . import core
from .nn_lstm_configs import Config, _configs, lstm

# The predictions' tables and checks, as the notebook's test cells call them.
from .nn_lstm_predictions import DROPOUT_QUESTIONS as DROPOUT_QUESTIONS
from .nn_lstm_predictions import SHAPES_DIRECTIONS as SHAPES_DIRECTIONS
from .nn_lstm_predictions import SHAPES_STACKED as SHAPES_STACKED
from .nn_lstm_predictions import TABLES as TABLES
from .nn_lstm_predictions import check_dropout_answers as check_dropout_answers
from .nn_lstm_predictions import check_shape_outputs as check_shape_outputs
from .nn_lstm_predictions import check_shape_table as check_shape_table
from .nn_lstm_predictions import expected_shapes as expected_shapes

FORBIDDEN = {  # see core.LSTM_IMPLEMENTATIONS
    "state-dict-shapes": core.LSTM_IMPLEMENTATIONS,
    "num-parameters": core.LSTM_IMPLEMENTATIONS,
}


# ------------------------------------------------------------- state_dict shapes

VISIBLE_CONFIGS = [  # the hidden test's configurations are in its cell
    lstm(3, 5),
    lstm(3, 5, bias=False),
    lstm(3, 5, num_layers=2, bidirectional=True),
    lstm(3, 5, proj_size=2),
]


def _entry_hint(name: str, config: Config) -> core.Diagnosis:
    Diagnosis = core.Diagnosis
    if name.startswith("weight_ih_l") and not name.startswith("weight_ih_l0"):
        return Diagnosis(
            "layer-input-width",
            _(
                "layer k > 0 reads the previous layer's output: D·H_out = "
                "{features} features"
            ).format(features=config.D * config.H_out),
        )
    if name.startswith("weight_ih"):
        return Diagnosis(
            "weight-ih-shape", _("weight_ih_l0 is (4·hidden_size, input_size)")
        )
    if name.startswith("weight_hh"):
        return Diagnosis(
            "weight-hh-width",
            _(
                "weight_hh multiplies h, whose width is H_out (proj_size when "
                "it is > 0): (4H, H_out)"
            ),
        )
    if name.startswith("weight_hr"):
        return Diagnosis(
            "weight-hr-shape",
            _("weight_hr maps h from H to P: shape (proj_size, hidden_size)"),
        )
    return Diagnosis(
        "bias-shape", _("each bias is (4·hidden_size,): one slice per gate i, f, g, o")
    )


# The one difference MyLSTM may have with torch's state_dict (its _build skips it).
WRONG_ORDER = N_(
    "right entries in the wrong order — torch registers layer by layer, "
    "forward then _reverse, each as weight_ih, weight_hh, bias_ih, "
    "bias_hh, weight_hr"
)


def _diff_state_dict(
    got: dict, expected: dict, config: Config
) -> core.Diagnosis | None:
    """What differs between two {name: shape} dicts, named; None when nothing."""
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    if missing or extra:
        mistake, cause = "wrong-entries", config.hint
        if any(n.startswith("bias") for n in extra) and not config.kwargs.get(
            "bias", True
        ):
            mistake, cause = "bias-kept", _("bias=False: bias_ih and bias_hh disappear")
        elif any(n.startswith("weight_hr") for n in missing):
            mistake = "no-weight-hr"
            cause = _("proj_size > 0 adds weight_hr_l{k} (and _reverse)").format(
                k="{k}"
            )
        elif any(n.endswith("_reverse") for n in missing):
            mistake = "no-reverse"
            cause = _(
                "bidirectional: every parameter has a twin with the suffix "
                "'_reverse', e.g. weight_ih_l0_reverse"
            )
        message = _("missing {missing}, unexpected {unexpected} — {cause}").format(
            missing=f"{missing[:4]}{'…' if len(missing) > 4 else ''}",
            unexpected=f"{extra[:4]}{'…' if len(extra) > 4 else ''}",
            cause=cause,
        )
        return core.Diagnosis(mistake, message)
    for name, shape in expected.items():
        if tuple(got[name]) != shape:
            hint = _entry_hint(name, config)
            message = _("{name} is {got}, expected {expected} — {hint}").format(
                name=name, got=tuple(got[name]), expected=shape, hint=hint.message
            )
            return core.Diagnosis(hint.mistake, message)
    if list(got) != list(expected):
        return core.Diagnosis("wrong-order", _(WRONG_ORDER))
    return None


# The one graded code substitutes for the learner's inside MyLSTM.
reference_state_dict_shapes = lstm_ref.shapes.lstm_parameter_shapes


@core.exercise("state-dict-shapes")
def check_state_dict_shapes(fn, configs: list[dict] | None = None) -> None:
    """`fn(**config)` against `lstm_ref.shapes` for each configuration (dicts of
    nn.LSTM's arguments; the visible test's four by default)."""
    configs = _configs(configs, VISIBLE_CONFIGS)
    for config in configs:
        got = core.call("state_dict_shapes", fn, **config.kwargs)
        if not isinstance(got, dict):
            core.fail(
                _("state_dict_shapes({config}) should return a dict, got {got}").format(
                    config=config, got=type(got).__name__
                ),
                "not-a-dict",
            )
        got = {
            str(k): core.parse_shape(
                f"state_dict_shapes({config.arguments})[{k!r}]", v, example=(20, 3)
            )
            for k, v in got.items()
        }
        problem = _diff_state_dict(
            got, reference_state_dict_shapes(**config.kwargs), config
        )
        if problem:
            core.fail(
                _("state_dict_shapes for {config}: {problem}").format(
                    config=config, problem=problem.message
                ),
                problem.mistake,
            )
    core.passed(
        _("state_dict_shapes matches nn.LSTM for {count} configurations").format(
            count=len(configs)
        )
    )


# ------------------------------------------------------------- parameter counts


def torch_num_parameters(config: Config) -> int:
    with core.quiet():
        module = torch.nn.LSTM(**config.kwargs, device="meta")
    return sum(p.numel() for p in module.parameters())


@core.exercise("num-parameters")
def check_num_parameters(fn, configs: list[dict] | None = None) -> None:
    """`fn(**config)` against `sum(p.numel())` of a real nn.LSTM for each
    configuration (dicts of nn.LSTM's arguments; the visible test's four by
    default)."""
    configs = _configs(configs, VISIBLE_CONFIGS)
    for config in configs:
        got = core.call("lstm_num_parameters", fn, **config.kwargs)
        if (
            isinstance(got, torch.Tensor)
            and got.numel() == 1
            and not (got.is_floating_point())
        ):
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            core.fail(
                _(
                    "lstm_num_parameters({config}) should return an int, got {got!r}"
                ).format(config=config, got=got),
                "not-an-int",
            )
        got = int(got)
        expected = torch_num_parameters(config)
        if got != expected:
            hint = _count_hint(config, got)
            core.fail(
                _(
                    "lstm_num_parameters for {config} is {got}, but "
                    "sum(p.numel() for p in lstm.parameters()) is {expected} "
                    "(off by {off:+d}) — {hint}"
                ).format(
                    config=config,
                    got=got,
                    expected=expected,
                    off=got - expected,
                    hint=hint.message,
                ),
                hint.mistake,
            )
    core.passed(
        _(
            "lstm_num_parameters agrees with sum(p.numel()) for {count} configurations"
        ).format(count=len(configs))
    )


def _count_hint(config: Config, got: int) -> core.Diagnosis:
    """Match the error against the size of one missing or extra term."""
    D, H, H_out, layers = config.D, config.H, config.H_out, config.layers
    P = config.kwargs.get("proj_size", 0)
    copies = D * layers
    off = got - torch_num_parameters(config)
    bias = config.kwargs.get("bias", True)
    terms = [
        (
            "one-bias",
            -copies * 4 * H * bias,
            _(
                "torch keeps two bias vectors, bias_ih and bias_hh: "
                "8H per layer and direction"
            ),
        ),
        (
            "bias-counted",
            copies * 8 * H * (not bias),
            _("bias=False removes both biases"),
        ),
        (
            "no-weight-hr",
            -copies * P * H,
            _("proj_size adds weight_hr (P×H) per layer and direction"),
        ),
        (
            "weight-hh-unprojected",
            copies * 4 * H * (H - H_out),
            _("weight_hh multiplies the projected h: (4H, P), not (4H, H)"),
        ),
        (
            "layer-input-width",
            -(layers - 1) * D * 4 * H * (D - 1) * H_out,
            _(
                "layer k > 0 reads D·H_out features (both directions of the layer "
                "below)"
            ),
        ),
        (
            "layer-input-unprojected",
            (layers - 1) * D * 4 * H * (H - H_out),
            _("layer k > 0 reads the projected output: D·P features, not D·H"),
        ),
    ]
    for mistake, size, cause in terms:
        if size and off == size:
            return core.Diagnosis(mistake, cause)
    if D == 2 and got * 2 == torch_num_parameters(config):
        return core.Diagnosis(
            "one-direction",
            _("bidirectional doubles every parameter (the _reverse copies)"),
        )
    return core.Diagnosis(
        "differs", config.hint or _("count each entry of state_dict()")
    )
