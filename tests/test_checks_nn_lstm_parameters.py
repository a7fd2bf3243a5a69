"""Unit tests of autograder.checks.nn_lstm_parameters, in process (no nbgrader).

The master's own cells are executed (tests/grading/inprocess.py): its solutions must
pass every test cell (visible and hidden), and each catalogued mistake, applied to its
exercise's solution, must make one of that exercise's test cells, and no other
exercise's, raise CheckFailed with the catalogued feedback.
"""

from __future__ import annotations

import pytest
import torch
from grading import inprocess

from autograder.checks import my_lstm
from autograder.checks import nn_lstm_parameters as checks
from autograder.checks.core import CheckFailed

ID = "04_nn_lstm_parameters"
MISTAKES = inprocess.mistakes(ID)


def test_the_master_has_six_exercises_with_three_mistakes_each():
    assert inprocess.exercises(ID) == [
        "shapes-stacked",
        "dropout-answers",
        "shapes-directions",
        "state-dict-shapes",
        "num-parameters",
        "my-lstm",
    ]
    inprocess.assert_catalogued(ID)


def test_solutions_pass_and_leave_the_learners_rng_alone():
    results = inprocess.run(ID)
    assert len(results) == 12
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_mistake_fails_its_exercise_with_its_feedback(mistake):
    inprocess.assert_caught(mistake)


def test_the_release_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


def test_stubs_raise_not_implemented_unchanged():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check in (checks.check_state_dict_shapes, checks.check_num_parameters):
        with pytest.raises(NotImplementedError):
            check(stub)

    class Stub(torch.nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()
            raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        my_lstm.check_my_lstm(Stub)


@pytest.mark.parametrize(
    "bad, says",
    [
        ([(5, 3, 20)], "should be a dict"),
        ({"A": {"output": (5, 3, 20)}}, "no prediction for"),
        ({k: {"output": "5, 3, 20"} for k in "ABCDEF"}, "tuple of ints"),
    ],
)
def test_malformed_predictions_get_a_clear_message(bad, says):
    with pytest.raises(CheckFailed, match=says):
        checks.check_shape_outputs("shapes_stacked", bad)


def test_shape_predictions_take_lists_and_refuse_floats(capsys):
    answers = inprocess.solutions(ID)["shapes-stacked"]
    scope = {}
    exec(answers, scope)  # noqa: S102 - the master's own answer
    as_lists = {
        key: {name: list(shape) for name, shape in entry.items()}
        for key, entry in scope["shapes_stacked"].items()
    }
    checks.check_shape_outputs("shapes_stacked", as_lists)
    assert capsys.readouterr().out.startswith("✓")
    as_lists["A"]["output"] = (5.9, 3, 20)
    with pytest.raises(CheckFailed, match=r"5\.9 is a float, not an int"):
        checks.check_shape_outputs("shapes_stacked", as_lists)


def test_dropout_answers_must_be_booleans():
    answers = dict.fromkeys(checks.DROPOUT_QUESTIONS, "yes")
    with pytest.raises(CheckFailed, match="True or False"):
        checks.check_dropout_answers(answers)


def test_the_shape_tables_agree_with_torch():
    # The expected shapes come from lstm_ref.shapes; torch is the judge.
    for table in checks.TABLES.values():
        for config in table.values():
            with checks.core.quiet(), torch.no_grad():
                lstm = torch.nn.LSTM(**config.kwargs)
                output, (h_n, c_n) = lstm(torch.zeros(config.input_shape))
            got = {"output": output.shape, "h_n": h_n.shape, "c_n": c_n.shape}
            assert {k: tuple(v) for k, v in got.items()} == checks.expected_shapes(
                config
            ), str(config)


@pytest.mark.parametrize(
    "layers, bidirectional, proj_size, bias",
    [
        (layers, bidirectional, proj_size, bias)
        for layers in (1, 3)
        for bidirectional in (False, True)
        for proj_size in (0, 2)
        for bias in (False, True)
    ],
)
def test_reference_state_dict_agrees_with_torch(layers, bidirectional, proj_size, bias):
    kwargs = dict(
        input_size=3,
        hidden_size=5,
        num_layers=layers,
        bias=bias,
        bidirectional=bidirectional,
        proj_size=proj_size,
    )
    module = torch.nn.LSTM(**kwargs, device="meta")
    expected = {n: tuple(p.shape) for n, p in module.state_dict().items()}
    assert checks.reference_state_dict_shapes(**kwargs) == expected
