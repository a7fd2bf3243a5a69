"""The predictions of notebook 04: the two shape tables and the dropout questions.

The learner's predicted shapes (`SHAPES_STACKED`, `SHAPES_DIRECTIONS`) are read by
`core.parse_shape` and compared with `lstm_ref.shapes`, each wrong one with the usual
misreading of the argument it depends on; the True/False dropout answers with
experiments on torch. Every wrong answer is listed, one a line, the first on the line
feedback shows; the failure's mistake is the first one's. The visible tests read part
of each table (output; three of the dropout answers) and their ✓ says what only the
hidden test grades; the hidden tests read all of it. The code exercises of 04 are in
`nn_lstm_parameters` and `my_lstm`.
"""

from __future__ import annotations

import warnings

import torch

import lstm_ref.shapes
from autograder.i18n import N_, _

from . import core
from .nn_lstm_configs import Config, lstm

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


def _known(mistake: str, shape: tuple, cause: str) -> core.Known:
    return core.Known(mistake, cause, shape)


def _shape_mistakes(config: Config, name: str, expected: tuple) -> list[core.Known]:
    """The usual misreadings of one tensor's shape: (name, cause, wrong shape)."""
    D, H, H_out, layers = config.D, config.H, config.H_out, config.layers
    unbatched = len(config.input_shape) == 2
    last, rest = expected[-1], expected[:-1]
    out = []
    if name == "output":
        if D == 2:
            out.append(
                _known(
                    "output-one-direction",
                    rest + (last // 2,),
                    _(
                        "bidirectional: output concatenates "
                        "both directions, its last dim is D·H_out"
                    ),
                )
            )
        if layers > 1:
            out.append(
                _known(
                    "output-all-layers",
                    rest + (last * layers,),
                    _(
                        "output holds the last layer only; "
                        "num_layers does not multiply its width"
                    ),
                )
            )
        if H_out != H:
            out.append(
                _known(
                    "output-unprojected",
                    rest + (D * H,),
                    _(
                        "with proj_size, output carries the "
                        "projected h: its width is D·proj_size"
                    ),
                )
            )
        if not unbatched:
            out.append(
                _known(
                    "output-layout",
                    (expected[1], expected[0], last),
                    _(
                        "batch_first decides "
                        "whether output is (N, L, ·) or (L, N, ·), like the input"
                    ),
                )
            )
        else:
            out.append(
                _known(
                    "unbatched-output",
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
                _known(
                    "state-no-batch-dim",
                    (first, width),
                    _("h_n and c_n keep the batch dimension: (D·num_layers, N, ·)"),
                )
            )
            if config.kwargs.get("batch_first"):
                out.append(
                    _known(
                        "state-batch-first",
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
                _known(
                    "state-one-layer-direction",
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
                _known(
                    "state-one-direction",
                    (first // 2, *where),
                    _(
                        "bidirectional: h_n/c_n hold one "
                        "state per layer and direction, D·num_layers of them"
                    ),
                )
            )
        if layers > 1:
            out.append(
                _known(
                    "state-one-layer",
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
            mistake = "c-projected" if name == "c_n" else "h-unprojected"
            out.append(core.Known(mistake, cause, expected[:-1] + (wrong,)))
        if unbatched:
            out.append(
                _known(
                    "unbatched-state",
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


def _check_table(table_name: str, predictions, names: tuple, hidden: str = "") -> None:
    table = TABLES[table_name]
    if not isinstance(predictions, dict):
        core.fail(
            _("{name} should be a dict keyed by {keys}, got {got}").format(
                name=table_name, keys=sorted(table), got=type(predictions).__name__
            ),
            "not-a-dict",
        )
    missing = sorted(set(table) - set(predictions))
    if missing:
        core.fail(
            _("{name} has no prediction for {missing}").format(
                name=table_name, missing=missing
            ),
            "not-answered",
        )
    problems: list[core.Diagnosis] = []
    for key, config in table.items():
        entry = predictions[key]
        if not isinstance(entry, dict):
            core.fail(
                _(
                    "{name}[{key!r}] should be a dict with keys "
                    "'output', 'h_n', 'c_n', got {got}"
                ).format(name=table_name, key=key, got=type(entry).__name__),
                "malformed",
            )
        expected = expected_shapes(config)
        for name in names:
            got = core.parse_shape(f"{table_name}[{key!r}][{name!r}]", entry.get(name))
            if got == expected[name]:
                continue
            known = _shape_mistakes(config, name, expected[name])
            cause = core.find_mistake(got, known) or core.Diagnosis(
                "differs", _(RULES[name])
            )
            message = _(
                "{key} {name}: you wrote {got}, the shape is {expected} — {cause}"
            ).format(
                key=key,
                name=name,
                got=got,
                expected=expected[name],
                cause=cause.message,
            )
            problems.append(core.Diagnosis(cause.mistake, message))
    if problems:
        _fail_all(table_name, problems)
    core.passed(
        _("{name}: {tensors} right for all {count} configurations").format(
            name=table_name, tensors=", ".join(names), count=len(table)
        ),
        hidden,
    )


def _fail_all(name: str, problems: list[core.Diagnosis]) -> None:
    """The first problem on the first line (the one a one-line feedback shows), the
    others on the lines below; the mistake is the first problem's."""
    if len(problems) > 1:
        first = _("{name}: {problem} (and {more} more below)").format(
            name=name, problem=problems[0].message, more=len(problems) - 1
        )
    else:
        first = f"{name}: {problems[0].message}"
    lines = [first, *(p.message for p in problems[1:])]
    core.fail("\n  ".join(lines), problems[0].mistake)


def _table_exercise(table_name: str):
    """The exercise a table belongs to: its name with dashes (shapes-stacked)."""
    return core.exercise(str(table_name).replace("_", "-"))


def check_shape_outputs(table_name: str, predictions) -> None:
    """The predicted `output` shapes of one table (the visible test: its ✓ says
    that h_n and c_n are the hidden test's)."""
    with _table_exercise(table_name):
        _check_table(table_name, predictions, ("output",), "h_n, c_n")


def check_shape_table(table_name: str, predictions) -> None:
    """The predicted `output`, `h_n` and `c_n` shapes of one table."""
    with _table_exercise(table_name):
        _check_table(table_name, predictions, ("output", "h_n", "c_n"))


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


@core.exercise("dropout-answers")
def check_dropout_answers(answers, keys=None) -> None:
    """Compare the learner's True/False answers with what torch does (the answers
    of `keys`, all by default; the ✓ names the others: the hidden test's)."""
    keys = list(keys or DROPOUT_QUESTIONS)
    if not isinstance(answers, dict):
        core.fail(
            _("dropout_answers should be a dict of True/False, got {got}").format(
                got=type(answers).__name__
            ),
            "not-a-dict",
        )
    facts = _dropout_facts()
    wrong = []
    for key in keys:
        if key not in answers:
            core.fail(
                _("dropout_answers has no answer for {key!r}").format(key=key),
                "not-answered",
            )
        if not isinstance(answers[key], bool):
            core.fail(
                _(
                    "dropout_answers[{key!r}] should be True or False, got {got!r}"
                ).format(key=key, got=answers[key]),
                "malformed",
            )
        if answers[key] != facts[key]:
            message = _("{key}: torch says {fact} — {lesson}").format(
                key=key, fact=facts[key], lesson=_(DROPOUT_LESSONS[key])
            )
            wrong.append(core.Diagnosis(key.replace("_", "-"), message))
    if wrong:
        _fail_all("dropout_answers", wrong)
    core.passed(
        _("dropout_answers: {count} answers agree with torch").format(count=len(keys)),
        ", ".join(k for k in DROPOUT_QUESTIONS if k not in keys),
    )
