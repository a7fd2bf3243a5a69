"""In-process tests of autograder.checks.lstm_layer (no nbgrader).

The master's own cells run through tests/grading/inprocess.py: its solutions pass
every test cell, visible and hidden, without moving the learner's random stream; each
catalogued mistake, applied to its exercise's solution, fails that exercise's tests
(and no other's) with the catalogued feedback; the release's stubs fail every test.
"""

import pytest
import torch
from grading import inprocess
from torch import nn

from autograder.checks import core
from autograder.checks import lstm_layer as checks

ID = "03_lstm_layer"
MISTAKES = inprocess.mistakes(ID)


def test_every_exercise_is_in_the_master_and_the_catalog():
    assert inprocess.exercises(ID) == [
        "predict-shapes",
        "lstm-layer",
        "recall-net",
        "cell-state-jacobian",
        "forget-bias",
    ]
    inprocess.assert_catalogued(ID)


def test_solutions_pass_visible_and_hidden_tests_and_leave_the_rng_alone():
    results = inprocess.run(ID)
    assert len(results) == 10
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_catalogued_mistake_is_caught_with_its_feedback(mistake):
    inprocess.assert_caught(mistake)


def test_the_release_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


@pytest.mark.parametrize(
    ("prediction", "says"),
    [
        ([3, 5, 6], None),  # a list is a shape too
        ((3.0, 5, 6), "3.0 is a float, not an int"),
        ((3, 5.9, 6), "5.9 is a float"),
        ("(3, 5, 6)", "should be a tuple of ints"),
        ((3, 5, ...), "not answered yet"),
    ],
)
def test_predicted_shapes_are_parsed_by_core(prediction, says, capsys):
    def check():
        checks.check_predicted_shapes(
            {"output": prediction},
            ["output"],
            batch=3,
            length=5,
            input_size=4,
            hidden_size=6,
        )

    if says is None:
        check()
        assert capsys.readouterr().out.startswith("✓ output (3, 5, 6)")
    else:
        with pytest.raises(core.CheckFailed, match=says.replace("(", r"\(")):
            check()


def test_a_missing_prediction_is_named():
    with pytest.raises(core.CheckFailed, match=r'predicted\["h_n"\] is missing'):
        checks.check_predicted_shapes(
            {"output": (3, 5, 6)},
            ["h_n"],
            batch=3,
            length=5,
            input_size=4,
            hidden_size=6,
        )


def test_reference_layer_is_one_nn_lstm_layer():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True).double()
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    params = {k: getattr(lstm, f"{k}_l0").detach() for k in names}
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    state = (torch.randn(1, 2, 4, dtype=torch.float64),) * 2
    for st in (state, None):
        got = checks.reference_lstm_layer(x, params, st, batch_first=True)
        with torch.no_grad():
            want = lstm(x, st)
        torch.testing.assert_close(got[0], want[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(got[1][0], want[1][0], atol=1e-12, rtol=0)
        torch.testing.assert_close(got[1][1], want[1][1], atol=1e-12, rtol=0)


def test_a_stub_is_not_graded_as_done():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_lstm_layer(stub)
    with pytest.raises(NotImplementedError):
        checks.check_forget_bias(stub)
