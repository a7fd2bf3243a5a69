"""Checks for 04_nn_lstm_parameters: every constructor argument of `nn.LSTM`.

Shapes come from `lstm_ref.shapes`, parameter counts from `sum(p.numel())` of a real
`torch.nn.LSTM`, and `MyLSTM` is run beside `torch.nn.LSTM` after loading its
`state_dict`. On a mismatch each check names the argument the learner most likely
misread.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

import lstm_ref.functional
import lstm_ref.shapes

from . import core

# --------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config:
    """One `nn.LSTM(...)` and the shape of the input it is given."""

    kwargs: dict
    input_shape: tuple = ()
    hint: str = ""  # what this configuration tests, named when it fails

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

    def __str__(self) -> str:
        text = f"nn.LSTM({self.arguments})"
        return f"{text}, input {self.input_shape}" if self.input_shape else text


def lstm(input_size, hidden_size, input_shape=(), hint="", **kwargs) -> Config:
    kwargs = {"input_size": input_size, "hidden_size": hidden_size, **kwargs}
    return Config(kwargs, tuple(input_shape), hint)


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
        10, 20, (2, 7, 10), num_layers=2, bidirectional=True, proj_size=5,
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
            out.append((rest + (last // 2,), "bidirectional: output concatenates "
                        "both directions, its last dim is D·H_out"))
        if layers > 1:
            out.append((rest + (last * layers,), "output holds the last layer only; "
                        "num_layers does not multiply its width"))
        if H_out != H:
            out.append((rest + (D * H,), "with proj_size, output carries the "
                        "projected h: its width is D·proj_size"))
        if not unbatched:
            out.append(((expected[1], expected[0], last), "batch_first decides "
                        "whether output is (N, L, ·) or (L, N, ·), like the input"))
        else:
            out.append(((1, *expected), "unbatched input (L, H_in) gives unbatched "
                        "output (L, D·H_out): no batch dim appears"))
    else:
        first = expected[0]
        width = H if name == "c_n" else H_out
        if not unbatched:
            N = expected[1]
            out.append(((first, width), "h_n and c_n keep the batch dimension: "
                        "(D·num_layers, N, ·)"))
            if config.kwargs.get("batch_first"):
                out.append(((N, first, width), "batch_first never changes "
                            "h_0/c_0/h_n/c_n: they stay (D·num_layers, N, ·)"))
        where = expected[1:]
        if D == 2 and layers > 1:
            out.append(((1, *where), "the first dim of h_n/c_n is D·num_layers "
                        "(1-layer unidirectional shapes quoted for a stacked "
                        "bidirectional LSTM)"))
        if D == 2:
            out.append(((first // 2, *where), "bidirectional: h_n/c_n hold one "
                        "state per layer and direction, D·num_layers of them"))
        if layers > 1:
            out.append(((D, *where), "stacked: h_n/c_n hold one state per layer "
                        "(and direction), D·num_layers of them"))
        if H_out != H:
            wrong = H_out if name == "c_n" else H
            cause = ("proj_size shrinks h only: c keeps hidden_size"
                     if name == "c_n" else
                     "with proj_size the hidden state is projected: h_n has "
                     "width proj_size")
            out.append((expected[:-1] + (wrong,), cause))
        if unbatched:
            out.append(((first, 1, width), "unbatched input gives unbatched "
                        "states (D·num_layers, ·): no batch dim"))
    return out


RULES = {
    "output": "output is (L, N, D·H_out), (N, L, D·H_out) with batch_first, "
    "(L, D·H_out) for unbatched input",
    "h_n": "h_n is (D·num_layers, N, H_out), (D·num_layers, H_out) for unbatched input",
    "c_n": "c_n is (D·num_layers, N, hidden_size), (D·num_layers, hidden_size) for "
    "unbatched input",
}


def _check_table(table_name: str, predictions, names: tuple) -> None:
    table = TABLES[table_name]
    if not isinstance(predictions, dict):
        core.fail(f"{table_name} should be a dict keyed by {sorted(table)}, got "
                  f"{type(predictions).__name__}")
    missing = sorted(set(table) - set(predictions))
    if missing:
        core.fail(f"{table_name} has no prediction for {missing}")
    problems = []
    for key, config in table.items():
        entry = predictions[key]
        if not isinstance(entry, dict):
            core.fail(f"{table_name}[{key!r}] should be a dict with keys "
                      f"'output', 'h_n', 'c_n', got {type(entry).__name__}")
        expected = expected_shapes(config)
        for name in names:
            got = entry.get(name)
            try:
                got = tuple(int(n) for n in got)
            except (TypeError, ValueError):
                core.fail(f"{table_name}[{key!r}][{name!r}] should be a tuple of "
                          f"ints, got {got!r}")
            if got == expected[name]:
                continue
            causes = [c for w, c in _shape_mistakes(config, name, expected[name])
                      if tuple(w) == got]
            cause = causes[0] if causes else RULES[name]
            problems.append(f"{key} {name}: you wrote {got}, the shape is "
                            f"{expected[name]} — {cause}")
    if problems:
        _fail_all(table_name, problems)
    core.passed(f"{table_name}: {', '.join(names)} right for all {len(table)} "
                "configurations")


def _fail_all(name: str, problems: list) -> None:
    """The first problem on the first line (the one feedback shows), the rest below."""
    more = f" (and {len(problems) - 1} more below)" if len(problems) > 1 else ""
    core.fail("\n  ".join([f"{name}: {problems[0]}{more}", *problems[1:]]))


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
    "one_layer_warns": "dropout acts after all but the last layer, so with one layer "
    "torch warns that it does nothing",
    "one_layer_train_changes_output": "with one layer there is no 'between layers': "
    "dropout changes nothing",
    "two_layer_eval_changes_output": "dropout is active in training mode only",
    "two_layer_train_changes_output": "in training mode layer 1 reads a dropped-out "
    "copy of layer 0's output",
    "two_layer_train_changes_layer_0_h_n": "dropout sits between layers, not inside "
    "the recurrence h_{t-1} → h_t: layer 0 runs exactly as in eval()",
    "two_layer_train_output_has_zeros": "no dropout after the last layer: the output "
    "is never masked",
}


def _dropout_facts(seed: int = 0) -> dict:
    """The answers, measured on torch itself."""
    torch.manual_seed(seed)
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
            two_train[1][0][0], two_eval[1][0][0]),
        "two_layer_train_output_has_zeros": bool((two_train[0] == 0).any()),
    }


def check_dropout_answers(answers, keys=None) -> None:
    """Compare the learner's True/False answers with what torch does."""
    keys = list(keys or DROPOUT_QUESTIONS)
    if not isinstance(answers, dict):
        core.fail(f"dropout_answers should be a dict of True/False, got "
                  f"{type(answers).__name__}")
    with torch.random.fork_rng(devices=[]):  # leave the learner's RNG alone
        facts = _dropout_facts()
    wrong = []
    for key in keys:
        if key not in answers:
            core.fail(f"dropout_answers has no answer for {key!r}")
        if not isinstance(answers[key], bool):
            core.fail(f"dropout_answers[{key!r}] should be True or False, got "
                      f"{answers[key]!r}")
        if answers[key] != facts[key]:
            wrong.append(f"{key}: torch says {facts[key]} — {DROPOUT_LESSONS[key]}")
    if wrong:
        _fail_all("dropout_answers", wrong)
    core.passed(f"dropout_answers: {len(keys)} answers agree with torch")


# ------------------------------------------------------------- state_dict shapes

VISIBLE_CONFIGS = [
    lstm(3, 5, hint="one layer: weight_ih (4H, input_size), weight_hh (4H, H), "
         "two biases (4H,)"),
    lstm(3, 5, bias=False, hint="bias=False removes bias_ih and bias_hh"),
    lstm(3, 5, num_layers=2, bidirectional=True,
         hint="layer k > 0 reads D·H_out features; the reverse direction has "
         "its own weights with the suffix _reverse"),
    lstm(3, 5, proj_size=2, hint="proj_size: weight_hr (P, H), weight_hh "
         "(4H, P)"),
]
HIDDEN_CONFIGS = [
    lstm(7, 4, hint="one layer"),
    lstm(2, 6, num_layers=3, hint="layer k > 0 reads H_out features"),
    lstm(2, 6, num_layers=3, bias=False, hint="bias=False, stacked"),
    lstm(5, 3, bidirectional=True, hint="bidirectional: a _reverse copy of "
         "every parameter"),
    lstm(4, 6, num_layers=3, bidirectional=True, hint="layer k > 0 reads "
         "D·H_out features"),
    lstm(4, 9, num_layers=2, proj_size=3, hint="proj_size: weight_hr (P, H), "
         "weight_hh (4H, P), layer k > 0 reads P"),
    lstm(3, 8, num_layers=3, bidirectional=True, proj_size=5, bias=False,
         hint="layer k > 0 reads D·P features"),
]


def _entry_hint(name: str, config: Config) -> str:
    if name.startswith("weight_ih_l") and not name.startswith("weight_ih_l0"):
        return ("layer k > 0 reads the previous layer's output: D·H_out = "
                f"{config.D * config.H_out} features")
    if name.startswith("weight_ih"):
        return "weight_ih_l0 is (4·hidden_size, input_size)"
    if name.startswith("weight_hh"):
        return ("weight_hh multiplies h, whose width is H_out (proj_size when "
                "it is > 0): (4H, H_out)")
    if name.startswith("weight_hr"):
        return "weight_hr maps h from H to P: shape (proj_size, hidden_size)"
    return "each bias is (4·hidden_size,): one slice per gate i, f, g, o"


def _diff_state_dict(got: dict, expected: dict, config: Config) -> str | None:
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    if missing or extra:
        cause = config.hint
        if any(n.startswith("bias") for n in extra) and not config.kwargs.get(
                "bias", True):
            cause = "bias=False: bias_ih and bias_hh disappear"
        elif any(n.startswith("weight_hr") for n in missing):
            cause = "proj_size > 0 adds weight_hr_l{k} (and _reverse)"
        elif any(n.endswith("_reverse") for n in missing):
            cause = ("bidirectional: every parameter has a twin with the suffix "
                     "'_reverse', e.g. weight_ih_l0_reverse")
        return (f"missing {missing[:4]}{'…' if len(missing) > 4 else ''}, "
                f"unexpected {extra[:4]}{'…' if len(extra) > 4 else ''} — {cause}")
    for name, shape in expected.items():
        if tuple(got[name]) != shape:
            return (f"{name} is {tuple(got[name])}, expected {shape} — "
                    f"{_entry_hint(name, config)}")
    if list(got) != list(expected):
        return ("right entries in the wrong order — torch registers layer by layer, "
                "forward then _reverse, each as weight_ih, weight_hh, bias_ih, "
                "bias_hh, weight_hr")
    return None


def reference_state_dict_shapes(input_size, hidden_size, num_layers=1, bias=True,
                                bidirectional=False, proj_size=0) -> dict:
    """`lstm_ref.shapes`' answer, the one graded code substitutes for the learner's."""
    return dict(lstm_ref.shapes.lstm_shapes(
        (1, 1, input_size), input_size, hidden_size, num_layers=num_layers, bias=bias,
        bidirectional=bidirectional, proj_size=proj_size).parameters)


def check_state_dict_shapes(fn, hidden: bool = False) -> None:
    configs = HIDDEN_CONFIGS if hidden else VISIBLE_CONFIGS
    for config in configs:
        got = core.call("state_dict_shapes", fn, **config.kwargs)
        if not isinstance(got, dict):
            core.fail(f"state_dict_shapes({config}) should return a dict, got "
                      f"{type(got).__name__}")
        try:
            got = {str(k): tuple(int(n) for n in v) for k, v in got.items()}
        except (TypeError, ValueError):
            core.fail(f"state_dict_shapes({config}): every value should be a tuple "
                      "of ints")
        problem = _diff_state_dict(got, reference_state_dict_shapes(
            **config.kwargs), config)
        if problem:
            core.fail(f"state_dict_shapes for {config}: {problem}")
    core.passed(f"state_dict_shapes matches nn.LSTM for {len(configs)} configurations")


# ------------------------------------------------------------- parameter counts


def torch_num_parameters(config: Config) -> int:
    with core.quiet():
        module = torch.nn.LSTM(**config.kwargs, device="meta")
    return sum(p.numel() for p in module.parameters())


def check_num_parameters(fn, hidden: bool = False) -> None:
    configs = HIDDEN_CONFIGS if hidden else VISIBLE_CONFIGS
    for config in configs:
        got = core.call("lstm_num_parameters", fn, **config.kwargs)
        if isinstance(got, bool) or not isinstance(got, int | torch.Tensor):
            core.fail(f"lstm_num_parameters({config}) should return an int, got "
                      f"{type(got).__name__}")
        got = int(got)
        expected = torch_num_parameters(config)
        if got != expected:
            core.fail(f"lstm_num_parameters for {config} is {got}, but "
                      f"sum(p.numel() for p in lstm.parameters()) is {expected} "
                      f"(off by {got - expected:+d}) — {_count_hint(config, got)}")
    core.passed(f"lstm_num_parameters agrees with sum(p.numel()) for {len(configs)} "
                "configurations")


def _count_hint(config: Config, got: int) -> str:
    """Match the error against the size of one missing or extra term."""
    D, H, H_out, layers = config.D, config.H, config.H_out, config.layers
    P = config.kwargs.get("proj_size", 0)
    copies = D * layers
    off = got - torch_num_parameters(config)
    terms = [
        (-copies * 4 * H, "torch keeps two bias vectors, bias_ih and bias_hh: "
         "8H per layer and direction"),
        (copies * 8 * H, "bias=False removes both biases"),
        (-copies * P * H, "proj_size adds weight_hr (P×H) per layer and direction"),
        (copies * 4 * H * (H - H_out), "weight_hh multiplies the projected h: "
         "(4H, P), not (4H, H)"),
        (-(layers - 1) * D * 4 * H * (D - 1) * H_out, "layer k > 0 reads D·H_out "
         "features (both directions of the layer below)"),
        ((layers - 1) * D * 4 * H * (H - H_out), "layer k > 0 reads the projected "
         "output: D·P features, not D·H"),
    ]
    for size, cause in terms:
        if size and off == size:
            return cause
    if D == 2 and got * 2 == torch_num_parameters(config):
        return "bidirectional doubles every parameter (the _reverse copies)"
    return config.hint or "count each entry of state_dict()"


# ---------------------------------------------------------------------- MyLSTM


def reference_lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """`lstm_ref`'s LSTM step in the notebook's `lstm_step` signature."""
    return lstm_ref.functional.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh, w_hr)


MY_LSTM_VISIBLE = [
    lstm(3, 4, (5, 2, 3), hint="one layer, one direction"),
    lstm(3, 4, (5, 2, 3), num_layers=2, hint="stacked: layer 1 reads layer 0's "
         "output"),
    lstm(3, 4, (5, 2, 3), bidirectional=True, hint="bidirectional: the reverse "
         "direction runs t = L-1 … 0 and its outputs are put back in time order"),
    lstm(3, 4, (5, 2, 3), proj_size=2, hint="proj_size: h shrinks to P, c keeps H"),
    lstm(3, 4, (2, 5, 3), batch_first=True, hint="batch_first: input and output "
         "are (N, L, ·); states are not"),
    lstm(3, 4, (5, 2, 3), num_layers=2, dropout=0.5, hint="dropout: between layers, "
         "in training mode only"),
]
MY_LSTM_HIDDEN = [
    lstm(2, 5, (4, 3, 2), num_layers=3, bidirectional=True, hint="3 layers, "
         "bidirectional"),
    lstm(4, 6, (3, 7, 4), num_layers=2, bidirectional=True, proj_size=3,
         batch_first=True, hint="stacked, bidirectional, batch_first, projected "
         "(h has width P, c keeps H)"),
    lstm(3, 5, (6, 1, 3), num_layers=2, bias=False, proj_size=2, hint="bias=False "
         "with projection"),
    lstm(5, 4, (3, 4, 5), num_layers=3, dropout=0.3, bidirectional=True,
         hint="dropout between 3 bidirectional layers"),
    lstm(2, 3, (1, 2, 2), num_layers=2, bidirectional=True, batch_first=True,
         dropout=0.4, proj_size=1, hint="every option at once"),
]


def _build(MyLSTM, config: Config, seed: int):
    torch.manual_seed(seed)
    ref = torch.nn.LSTM(**config.kwargs, dtype=torch.float64)
    mine = core.call(f"MyLSTM({config.arguments})", MyLSTM, **config.kwargs)
    if not isinstance(mine, torch.nn.Module):
        core.fail("MyLSTM should subclass nn.Module")
    names = {n: tuple(p.shape) for n, p in mine.named_parameters()}
    expected = {n: tuple(p.shape) for n, p in ref.named_parameters()}
    problem = _diff_state_dict(names, expected, config)
    if problem and not problem.startswith("right entries"):
        core.fail(f"MyLSTM's parameters for {config}: {problem}")
    mine.to(torch.float64)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def _inputs(config: Config, seed: int, with_state: bool):
    gen = torch.Generator().manual_seed(seed)
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
        if "Double" in str(error) or "dtype" in str(error):
            core.fail(f"MyLSTM failed for {config} in float64: {error} — create "
                      "tensors with x.new_zeros(...) so they take the input's dtype")
        core.fail(f"MyLSTM failed for {config} — {config.hint}: {error}")
    if not (isinstance(result, tuple) and len(result) == 2
            and isinstance(result[1], tuple | list) and len(result[1]) == 2):
        core.fail("MyLSTM.forward should return output, (h_n, c_n)")
    output, (h_n, c_n) = result
    for name, value in (("output", output), ("h_n", h_n), ("c_n", c_n)):
        core.expect_tensor(f"MyLSTM's {name}", value)
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


def _diagnose(config, got, want, ref, x, hx) -> str:
    """Name the likely cause of a forward mismatch (eval mode)."""
    (out, h_n, c_n), (out_r, h_r, c_r) = got, want
    H_out = config.H_out
    if tuple(out.shape) != tuple(out_r.shape):
        return (f"output has shape {tuple(out.shape)}, expected {tuple(out_r.shape)}"
                " — output is (L, N, D·H_out), or (N, L, D·H_out) with batch_first")
    for name, g, w in (("h_n", h_n, h_r), ("c_n", c_n, c_r)):
        if tuple(g.shape) != tuple(w.shape):
            if tuple(g.shape) == tuple(w.transpose(0, 1).shape):
                cause = "batch_first never changes h_0/c_0/h_n/c_n"
            elif name == "c_n" and g.shape[-1] == H_out != config.H:
                cause = "proj_size shrinks h only: c keeps hidden_size"
            else:
                cause = "h_n/c_n are (D·num_layers, N, H_out / H)"
            return (f"{name} has shape {tuple(g.shape)}, expected {tuple(w.shape)} — "
                    f"{cause}")
    if config.kwargs.get("batch_first") and core.matches(
            h_n, h_r.transpose(0, 1).reshape(h_r.shape)):
        return "batch_first never changes h_0/c_0/h_n/c_n"
    if config.D == 2:
        fw, rv = _time_major(out_r, config).split(H_out, dim=-1)
        mine = _time_major(out, config)
        if core.matches(mine, torch.cat([fw, rv.flip(0)], -1)):
            return ("the reverse direction's outputs are stored in the order it "
                    "computed them (t = L-1 … 0): flip them back to time order")
        if core.matches(mine, torch.cat([rv, fw], -1)):
            return ("concatenation order: output is cat([forward, reverse], dim=-1), "
                    "forward first")
        if config.layers > 1 and core.matches(h_n, _swap_state_order(h_r, config)):
            return ("h_n order: index layer·D + direction "
                    "(h_n.view(num_layers, D, N, H_out))")
        if hx is not None and config.layers > 1:
            swapped = tuple(_swap_state_order(s, config, inverse=True) for s in hx)
            with torch.no_grad(), core.quiet():
                out_s = ref(x, swapped)[0]
            if core.matches(out, out_s):
                return ("h_0/c_0 are indexed layer·D + direction: state k·D + d "
                        "belongs to layer k, direction d")
    return config.hint


def _diagnose_one_layer(MyLSTM, config: Config, seed: int) -> str:
    """Tell a stacking mistake from a mistake inside one layer."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "dropout"}
    single = Config({**kwargs, "num_layers": 1}, config.input_shape, config.hint)
    ref, mine = _build(MyLSTM, single, seed)
    ref.eval(), mine.eval()
    x, _ = _inputs(single, seed + 1, False)
    got = _run(mine, x, None, seed, single)
    with torch.no_grad(), core.quiet():
        out_r, (h_r, c_r) = ref(x)
    want = (out_r, h_r, c_r)
    if all(core.matches(g, w) for g, w in zip(got, want, strict=True)):
        return ("with num_layers=1 the same configuration is right, so the stacking "
                "is wrong: layer k > 0 reads layer k-1's concatenated output "
                "(D·H_out features) and starts from state k·D + d")
    return f"already with num_layers=1: {_diagnose(single, got, want, ref, x, None)}"


def check_my_lstm(MyLSTM, hidden: bool = False, seed: int = 0) -> None:
    """Load nn.LSTM's state_dict into MyLSTM and compare forward results."""
    configs = MY_LSTM_HIDDEN if hidden else MY_LSTM_VISIBLE
    substitutes = {"state_dict_shapes": reference_state_dict_shapes,
                   "lstm_step": reference_lstm_step}
    with core.using(MyLSTM.__init__, **substitutes), torch.random.fork_rng(devices=[]):
        for i, config in enumerate(configs):
            s = seed + 10 * i + (100 if hidden else 0)
            ref, mine = _build(MyLSTM, config, s)
            ref.eval(), mine.eval()
            for with_state in (False, True):
                x, hx = _inputs(config, s + 1, with_state)
                got = _run(mine, x, hx, s, config)
                with torch.no_grad(), core.quiet():
                    out_r, (h_r, c_r) = ref(x, hx)
                want = (out_r, h_r, c_r)
                if not all(core.matches(g, w) for g, w in zip(got, want, strict=True)):
                    state = "given (h_0, c_0)" if with_state else "no initial state"
                    if not all(core.matches(g, w) for g, w in zip(
                            got, _run(mine, x, hx, s + 1, config), strict=True)):
                        cause = ("in eval mode MyLSTM gives different results under "
                                 "different seeds: dropout applied in eval mode — "
                                 "pass self.training to F.dropout")
                    else:
                        cause = _diagnose(config, got, want, ref, x, hx)
                        if cause == config.hint and config.layers > 1:
                            cause = _diagnose_one_layer(MyLSTM, config, s)
                    core.fail(f"MyLSTM differs from {config}, eval mode, {state}: "
                              f"{cause}")
            if config.kwargs.get("dropout"):
                _check_training(config, ref, mine, s)
    core.passed(f"MyLSTM matches nn.LSTM (float64, atol 1e-8) in {len(configs)} "
                "configurations")


def _check_training(config: Config, ref, mine, seed: int) -> None:
    """Training mode: dropout between layers, torch's masks under the same seed."""
    ref.train(), mine.train()
    x, _ = _inputs(config, seed + 2, False)
    out, h_n, c_n = _run(mine, x, None, seed, config)
    torch.manual_seed(seed)
    with torch.no_grad(), core.quiet():
        out_r, (h_r, c_r) = ref(x)
    ref.eval(), mine.eval()
    if all(core.matches(g, w) for g, w in ((out, out_r), (h_n, h_r), (c_n, c_r))):
        return
    prefix = f"MyLSTM differs from {config} in training mode: "
    with torch.no_grad(), core.quiet():
        out_e, (h_e, c_e) = ref(x)
    D = config.D
    if bool((out == 0).any()):
        core.fail(prefix + "the output has exact zeros — dropout acts between layers, "
                  "never after the last one")
    if core.matches(out, out_e):
        core.fail(prefix + "the output equals eval mode — apply dropout to every "
                  "layer's output but the last when self.training is True")
    if not core.matches(h_n[:D], h_e[:D]):
        core.fail(prefix + "layer 0's final state changed — dropout acts on a layer's "
                  "output on its way to the next layer, never inside the recurrence")
    core.fail(prefix + "use F.dropout(x, self.dropout, self.training) once per layer "
              "boundary, on the concatenated output, so your masks are torch's "
              "under the same seed")
