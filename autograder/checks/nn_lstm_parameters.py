"""Checks for 04_nn_lstm_parameters: every constructor argument of `nn.LSTM`.

Predicted shapes and `state_dict_shapes` are compared with `lstm_ref.shapes`,
parameter counts with `sum(p.numel())` of a real `torch.nn.LSTM`, the dropout answers
with experiments on torch. On a mismatch each check names the argument the learner
most likely misread. `MyLSTM` has its own module, `my_lstm`. A test cell's
configurations are dicts of `nn.LSTM`'s arguments: the visible ones are defined
here, the hidden ones are written in the master's hidden test cells.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import torch

import lstm_ref.functional
import lstm_ref.shapes
from autograder.i18n import N_, _

from . import core

FORBIDDEN = {  # see core.LSTM_IMPLEMENTATIONS
    "state-dict-shapes": core.LSTM_IMPLEMENTATIONS,
    "num-parameters": core.LSTM_IMPLEMENTATIONS,
}

# --------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config:
    """One `nn.LSTM(...)` and the shape of the input it is given."""

    kwargs: dict
    input_shape: tuple = ()

    @property
    def shape_kwargs(self) -> dict:
        return {k: v for k, v in self.kwargs.items() if k != "dropout"}

    @property
    def D(self) -> int:
        return 2 if self.kwargs.get("bidirectional") else 1

    @property
    def H(self) -> int:
        return self.kwargs["hidden_size"]

    @property
    def H_out(self) -> int:
        return self.kwargs.get("proj_size", 0) or self.H

    @property
    def layers(self) -> int:
        return self.kwargs.get("num_layers", 1)

    @property
    def arguments(self) -> str:
        """The constructor call's arguments as a learner would type them."""
        args = dict(self.kwargs)
        head = f"{args.pop('input_size')}, {args.pop('hidden_size')}"
        return head + "".join(f", {k}={v}" for k, v in args.items())

    @property
    def hint(self) -> str:
        """The rules this configuration exercises: the likely cause when it fails
        and nothing more specific was found."""
        kw, rules = self.kwargs, []
        if self.layers > 1:
            rules.append(_("layer k > 0 reads layer k-1's output, D·H_out features"))
        if self.D == 2:
            rules.append(
                _(
                    "the reverse direction has its own _reverse parameters, "
                    "runs t = L-1 … 0 and its outputs go back in time order"
                )
            )
        if self.H_out != self.H:
            rules.append(
                _(
                    "proj_size: h shrinks to P (weight_hh is (4H, P)), c keeps "
                    "H, weight_hr is (P, H)"
                )
            )
        if not kw.get("bias", True):
            rules.append(_("bias=False removes bias_ih and bias_hh"))
        if kw.get("batch_first"):
            rules.append(
                _(
                    "batch_first swaps L and N in the input and the output, "
                    "never in the states"
                )
            )
        if kw.get("dropout"):
            rules.append(_("dropout acts between layers, in training mode only"))
        return "; ".join(rules) or _(
            "one layer, one direction: weight_ih (4H, input_size), weight_hh (4H, H), "
            "two biases (4H,), one lstm_step per time step"
        )

    def __str__(self) -> str:
        text = f"nn.LSTM({self.arguments})"
        if not self.input_shape:
            return text
        return _("{lstm}, input {shape}").format(lstm=text, shape=self.input_shape)


def lstm(input_size, hidden_size, input_shape=(), **kwargs) -> Config:
    kwargs = {"input_size": input_size, "hidden_size": hidden_size, **kwargs}
    return Config(kwargs, tuple(input_shape))


def _configs(given: list[dict] | None, default: list[Config]) -> list[Config]:
    """A test cell's configurations, each a dict of nn.LSTM's arguments (and, for
    MyLSTM, `input_shape`), or the visible test's `default`."""
    if given is None:
        return default
    return [lstm(**config) for config in given]


# The two shape-prediction tables of the notebook (letters are the learner's keys).
SHAPES_STACKED = {
    "A": lstm(10, 20, (5, 3, 10)),
    "B": lstm(10, 20, (5, 3, 10), num_layers=2),
    "C": lstm(10, 20, (3, 5, 10), batch_first=True),
    "D": lstm(8, 16, (4, 9, 8), num_layers=3, batch_first=True),
    "E": lstm(6, 4, (2, 1, 6), bias=False),
    "F": lstm(10, 20, (5, 10), num_layers=2),
}
SHAPES_DIRECTIONS = {
    "G": lstm(10, 20, (1, 35, 10), num_layers=2, bidirectional=True, batch_first=True),
    "H": lstm(10, 20, (5, 3, 10), bidirectional=True),
    "I": lstm(10, 20, (5, 3, 10), proj_size=5),
    "J": lstm(
        10,
        20,
        (2, 7, 10),
        num_layers=2,
        bidirectional=True,
        proj_size=5,
        batch_first=True,
    ),
    "K": lstm(4, 8, (6, 4), num_layers=3, bidirectional=True, batch_first=True),
    "L": lstm(10, 20, (5, 3, 10), num_layers=3, proj_size=7, dropout=0.3),
}
TABLES = {"shapes_stacked": SHAPES_STACKED, "shapes_directions": SHAPES_DIRECTIONS}


def expected_shapes(config: Config) -> dict:
    s = lstm_ref.shapes.lstm_shapes(config.input_shape, **config.shape_kwargs)
    return {"output": tuple(s.output), "h_n": tuple(s.h_n), "c_n": tuple(s.c_n)}


# -------------------------------------------------------------- shape predictions


def _shape_mistakes(config: Config, name: str, expected: tuple) -> list:
    """(wrong shape, cause) pairs for the usual misreadings of one tensor's shape."""
    D, H, H_out, layers = config.D, config.H, config.H_out, config.layers
    unbatched = len(config.input_shape) == 2
    last, rest = expected[-1], expected[:-1]
    out = []
    if name == "output":
        if D == 2:
            out.append(
                (
                    rest + (last // 2,),
                    _(
                        "bidirectional: output concatenates "
                        "both directions, its last dim is D·H_out"
                    ),
                )
            )
        if layers > 1:
            out.append(
                (
                    rest + (last * layers,),
                    _(
                        "output holds the last layer only; "
                        "num_layers does not multiply its width"
                    ),
                )
            )
        if H_out != H:
            out.append(
                (
                    rest + (D * H,),
                    _(
                        "with proj_size, output carries the "
                        "projected h: its width is D·proj_size"
                    ),
                )
            )
        if not unbatched:
            out.append(
                (
                    (expected[1], expected[0], last),
                    _(
                        "batch_first decides "
                        "whether output is (N, L, ·) or (L, N, ·), like the input"
                    ),
                )
            )
        else:
            out.append(
                (
                    (1, *expected),
                    _(
                        "unbatched input (L, H_in) gives unbatched "
                        "output (L, D·H_out): no batch dim appears"
                    ),
                )
            )
    else:
        first = expected[0]
        width = H if name == "c_n" else H_out
        if not unbatched:
            N = expected[1]
            out.append(
                (
                    (first, width),
                    _("h_n and c_n keep the batch dimension: (D·num_layers, N, ·)"),
                )
            )
            if config.kwargs.get("batch_first"):
                out.append(
                    (
                        (N, first, width),
                        _(
                            "batch_first never changes "
                            "h_0/c_0/h_n/c_n: they stay (D·num_layers, N, ·)"
                        ),
                    )
                )
        where = expected[1:]
        if D == 2 and layers > 1:
            out.append(
                (
                    (1, *where),
                    _(
                        "the first dim of h_n/c_n is D·num_layers "
                        "(1-layer unidirectional shapes quoted for a stacked "
                        "bidirectional LSTM)"
                    ),
                )
            )
        if D == 2:
            out.append(
                (
                    (first // 2, *where),
                    _(
                        "bidirectional: h_n/c_n hold one "
                        "state per layer and direction, D·num_layers of them"
                    ),
                )
            )
        if layers > 1:
            out.append(
                (
                    (D, *where),
                    _(
                        "stacked: h_n/c_n hold one state per layer "
                        "(and direction), D·num_layers of them"
                    ),
                )
            )
        if H_out != H:
            wrong = H_out if name == "c_n" else H
            cause = (
                _("proj_size shrinks h only: c keeps hidden_size")
                if name == "c_n"
                else _(
                    "with proj_size the hidden state is projected: h_n has "
                    "width proj_size"
                )
            )
            out.append((expected[:-1] + (wrong,), cause))
        if unbatched:
            out.append(
                (
                    (first, 1, width),
                    _(
                        "unbatched input gives unbatched "
                        "states (D·num_layers, ·): no batch dim"
                    ),
                )
            )
    return out


RULES = {
    "output": N_(
        "output is (L, N, D·H_out), (N, L, D·H_out) with batch_first, "
        "(L, D·H_out) for unbatched input"
    ),
    "h_n": N_(
        "h_n is (D·num_layers, N, H_out), (D·num_layers, H_out) for unbatched input"
    ),
    "c_n": N_(
        "c_n is (D·num_layers, N, hidden_size), (D·num_layers, hidden_size) for "
        "unbatched input"
    ),
}


def _check_table(table_name: str, predictions, names: tuple) -> None:
    table = TABLES[table_name]
    if not isinstance(predictions, dict):
        core.fail(
            _("{name} should be a dict keyed by {keys}, got {got}").format(
                name=table_name, keys=sorted(table), got=type(predictions).__name__
            )
        )
    missing = sorted(set(table) - set(predictions))
    if missing:
        core.fail(
            _("{name} has no prediction for {missing}").format(
                name=table_name, missing=missing
            )
        )
    problems = []
    for key, config in table.items():
        entry = predictions[key]
        if not isinstance(entry, dict):
            core.fail(
                _(
                    "{name}[{key!r}] should be a dict with keys "
                    "'output', 'h_n', 'c_n', got {got}"
                ).format(name=table_name, key=key, got=type(entry).__name__)
            )
        expected = expected_shapes(config)
        for name in names:
            got = core.parse_shape(f"{table_name}[{key!r}][{name!r}]", entry.get(name))
            if got == expected[name]:
                continue
            causes = [
                c
                for w, c in _shape_mistakes(config, name, expected[name])
                if tuple(w) == got
            ]
            cause = causes[0] if causes else _(RULES[name])
            problems.append(
                _(
                    "{key} {name}: you wrote {got}, the shape is {expected} — {cause}"
                ).format(
                    key=key, name=name, got=got, expected=expected[name], cause=cause
                )
            )
    if problems:
        _fail_all(table_name, problems)
    core.passed(
        _("{name}: {tensors} right for all {count} configurations").format(
            name=table_name, tensors=", ".join(names), count=len(table)
        )
    )


def _fail_all(name: str, problems: list) -> None:
    """The first problem on the first line (the one feedback shows), the rest below."""
    if len(problems) > 1:
        first = _("{name}: {problem} (and {more} more below)").format(
            name=name, problem=problems[0], more=len(problems) - 1
        )
    else:
        first = f"{name}: {problems[0]}"
    core.fail("\n  ".join([first, *problems[1:]]))


def check_shape_outputs(table_name: str, predictions) -> None:
    """The predicted `output` shapes of one table."""
    _check_table(table_name, predictions, ("output",))


def check_shape_states(table_name: str, predictions) -> None:
    """The predicted `h_n` and `c_n` shapes of one table."""
    _check_table(table_name, predictions, ("h_n", "c_n"))


# ---------------------------------------------------------------- dropout questions

DROPOUT_QUESTIONS = {
    "one_layer_warns": "does nn.LSTM(8, 16, dropout=0.5) warn?",
    "one_layer_train_changes_output": "one layer, dropout=0.5, train(): does the "
    "output differ from eval()?",
    "two_layer_eval_changes_output": "two layers, dropout=0.5, eval(): does the "
    "output differ from the same LSTM with dropout=0?",
    "two_layer_train_changes_output": "two layers, dropout=0.5, train(): does the "
    "output differ from eval()?",
    "two_layer_train_changes_layer_0_h_n": "two layers, dropout=0.5, train(): does "
    "h_n[0] (layer 0's final state) differ from eval()?",
    "two_layer_train_output_has_zeros": "two layers, dropout=0.5, train(): does the "
    "output contain exact zeros?",
}
DROPOUT_LESSONS = {
    "one_layer_warns": N_(
        "dropout acts after all but the last layer, so with one layer "
        "torch warns that it does nothing"
    ),
    "one_layer_train_changes_output": N_(
        "with one layer there is no 'between layers': dropout changes nothing"
    ),
    "two_layer_eval_changes_output": N_("dropout is active in training mode only"),
    "two_layer_train_changes_output": N_(
        "in training mode layer 1 reads a dropped-out copy of layer 0's output"
    ),
    "two_layer_train_changes_layer_0_h_n": N_(
        "dropout sits between layers, not inside "
        "the recurrence h_{t-1} → h_t: layer 0 runs exactly as in eval()"
    ),
    "two_layer_train_output_has_zeros": N_(
        "no dropout after the last layer: the output is never masked"
    ),
}


@core.forked_rng(0)
def _dropout_facts() -> dict:
    """The answers, measured on torch itself."""
    x = torch.randn(6, 3, 8)
    with core.quiet():
        one = torch.nn.LSTM(8, 16, dropout=0.5)
    two = torch.nn.LSTM(8, 16, num_layers=2, dropout=0.5)
    plain = torch.nn.LSTM(8, 16, num_layers=2)
    plain.load_state_dict(two.state_dict())
    with torch.no_grad():
        one_eval, two_eval = one.eval()(x)[0], two.eval()(x)
        one_train, two_train = one.train()(x)[0], two.train()(x)
        plain_out = plain.eval()(x)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.nn.LSTM(8, 16, dropout=0.5)
    return {
        "one_layer_warns": any(issubclass(w.category, UserWarning) for w in caught),
        "one_layer_train_changes_output": not torch.equal(one_train, one_eval),
        "two_layer_eval_changes_output": not torch.equal(two_eval[0], plain_out),
        "two_layer_train_changes_output": not torch.equal(two_train[0], two_eval[0]),
        "two_layer_train_changes_layer_0_h_n": not torch.equal(
            two_train[1][0][0], two_eval[1][0][0]
        ),
        "two_layer_train_output_has_zeros": bool((two_train[0] == 0).any()),
    }


def check_dropout_answers(answers, keys=None) -> None:
    """Compare the learner's True/False answers with what torch does."""
    keys = list(keys or DROPOUT_QUESTIONS)
    if not isinstance(answers, dict):
        core.fail(
            _("dropout_answers should be a dict of True/False, got {got}").format(
                got=type(answers).__name__
            )
        )
    facts = _dropout_facts()
    wrong = []
    for key in keys:
        if key not in answers:
            core.fail(_("dropout_answers has no answer for {key!r}").format(key=key))
        if not isinstance(answers[key], bool):
            core.fail(
                _(
                    "dropout_answers[{key!r}] should be True or False, got {got!r}"
                ).format(key=key, got=answers[key])
            )
        if answers[key] != facts[key]:
            wrong.append(
                _("{key}: torch says {fact} — {lesson}").format(
                    key=key, fact=facts[key], lesson=_(DROPOUT_LESSONS[key])
                )
            )
    if wrong:
        _fail_all("dropout_answers", wrong)
    core.passed(
        _("dropout_answers: {count} answers agree with torch").format(count=len(keys))
    )


# ------------------------------------------------------------- state_dict shapes

VISIBLE_CONFIGS = [  # the hidden test's configurations are in its cell
    lstm(3, 5),
    lstm(3, 5, bias=False),
    lstm(3, 5, num_layers=2, bidirectional=True),
    lstm(3, 5, proj_size=2),
]


def _entry_hint(name: str, config: Config) -> str:
    if name.startswith("weight_ih_l") and not name.startswith("weight_ih_l0"):
        return _(
            "layer k > 0 reads the previous layer's output: D·H_out = "
            "{features} features"
        ).format(features=config.D * config.H_out)
    if name.startswith("weight_ih"):
        return _("weight_ih_l0 is (4·hidden_size, input_size)")
    if name.startswith("weight_hh"):
        return _(
            "weight_hh multiplies h, whose width is H_out (proj_size when "
            "it is > 0): (4H, H_out)"
        )
    if name.startswith("weight_hr"):
        return _("weight_hr maps h from H to P: shape (proj_size, hidden_size)")
    return _("each bias is (4·hidden_size,): one slice per gate i, f, g, o")


# The one difference MyLSTM may have with torch's state_dict (its _build skips it).
WRONG_ORDER = N_(
    "right entries in the wrong order — torch registers layer by layer, "
    "forward then _reverse, each as weight_ih, weight_hh, bias_ih, "
    "bias_hh, weight_hr"
)


def _diff_state_dict(got: dict, expected: dict, config: Config) -> str | None:
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    if missing or extra:
        cause = config.hint
        if any(n.startswith("bias") for n in extra) and not config.kwargs.get(
            "bias", True
        ):
            cause = _("bias=False: bias_ih and bias_hh disappear")
        elif any(n.startswith("weight_hr") for n in missing):
            cause = _("proj_size > 0 adds weight_hr_l{k} (and _reverse)").format(
                k="{k}"
            )
        elif any(n.endswith("_reverse") for n in missing):
            cause = _(
                "bidirectional: every parameter has a twin with the suffix "
                "'_reverse', e.g. weight_ih_l0_reverse"
            )
        return _("missing {missing}, unexpected {unexpected} — {cause}").format(
            missing=f"{missing[:4]}{'…' if len(missing) > 4 else ''}",
            unexpected=f"{extra[:4]}{'…' if len(extra) > 4 else ''}",
            cause=cause,
        )
    for name, shape in expected.items():
        if tuple(got[name]) != shape:
            return _("{name} is {got}, expected {expected} — {hint}").format(
                name=name,
                got=tuple(got[name]),
                expected=shape,
                hint=_entry_hint(name, config),
            )
    if list(got) != list(expected):
        return _(WRONG_ORDER)
    return None


# The one graded code substitutes for the learner's inside MyLSTM.
reference_state_dict_shapes = lstm_ref.shapes.lstm_parameter_shapes


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
                )
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
                    config=config, problem=problem
                )
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
                ).format(config=config, got=got)
            )
        got = int(got)
        expected = torch_num_parameters(config)
        if got != expected:
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
                    hint=_count_hint(config, got),
                )
            )
    core.passed(
        _(
            "lstm_num_parameters agrees with sum(p.numel()) for {count} configurations"
        ).format(count=len(configs))
    )


def _count_hint(config: Config, got: int) -> str:
    """Match the error against the size of one missing or extra term."""
    D, H, H_out, layers = config.D, config.H, config.H_out, config.layers
    P = config.kwargs.get("proj_size", 0)
    copies = D * layers
    off = got - torch_num_parameters(config)
    bias = config.kwargs.get("bias", True)
    terms = [
        (
            -copies * 4 * H * bias,
            _(
                "torch keeps two bias vectors, bias_ih and bias_hh: "
                "8H per layer and direction"
            ),
        ),
        (copies * 8 * H * (not bias), _("bias=False removes both biases")),
        (
            -copies * P * H,
            _("proj_size adds weight_hr (P×H) per layer and direction"),
        ),
        (
            copies * 4 * H * (H - H_out),
            _("weight_hh multiplies the projected h: (4H, P), not (4H, H)"),
        ),
        (
            -(layers - 1) * D * 4 * H * (D - 1) * H_out,
            _(
                "layer k > 0 reads D·H_out features (both directions of the layer "
                "below)"
            ),
        ),
        (
            (layers - 1) * D * 4 * H * (H - H_out),
            _("layer k > 0 reads the projected output: D·P features, not D·H"),
        ),
    ]
    for size, cause in terms:
        if size and off == size:
            return cause
    if D == 2 and got * 2 == torch_num_parameters(config):
        return _("bidirectional doubles every parameter (the _reverse copies)")
    return config.hint or _("count each entry of state_dict()")
