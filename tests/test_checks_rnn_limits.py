"""Unit tests of autograder.checks.rnn_limits, in process (no nbgrader).

The master's own cells run through tests/grading/inprocess.py: its solutions pass
every test cell (visible and hidden) without moving the learner's random stream, the
release's stubs fail them all, and each catalogued mistake, applied to its exercise's
solution, fails that exercise's tests, and no other's, with the catalogued feedback.
"""

from __future__ import annotations

import pytest
import torch
from grading import inprocess

from autograder.checks import rnn_limits as checks
from autograder.checks.core import CheckFailed

ID = "01_rnn_limits"
MISTAKES = inprocess.mistakes(ID)


def test_the_master_has_five_exercises_each_with_visible_and_hidden_tests():
    assert inprocess.exercises(ID) == [
        "rnn-cell",
        "rnn-forward",
        "predict-gradient-norm",
        "jacobian-norm",
        "clip-grad-norm",
    ]
    inprocess.assert_catalogued(ID)


def test_the_masters_solutions_pass_visible_and_hidden_tests():
    results = inprocess.run(ID)
    assert len(results) == 10
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


def test_the_release_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_catalogued_mistake_fails_only_its_exercise_with_its_feedback(mistake):
    """Later exercises are graded with the reference in place of earlier answers."""
    inprocess.assert_caught(mistake)


def test_the_references_pass_their_own_checks():
    checks.check_rnn_cell(checks.reference_cell, seed=5)
    checks.check_rnn_forward(checks.reference_forward, seed=5)

    def jacobian_norm(*args):
        return torch.linalg.matrix_norm(checks.reference_jacobian(*args), ord=2)

    checks.check_jacobian_norm(jacobian_norm, seed=5)
    checks.check_clip_grad_norm(
        lambda params, max_norm: torch.nn.utils.clip_grad_norm_(list(params), max_norm),
        seed=5,
    )


def test_the_reference_forward_is_torchs_rnn():
    torch_rnn = torch.nn.RNN(3, 4, dtype=torch.float64)
    x, h_0 = (
        torch.randn(5, 2, 3, dtype=torch.float64),
        torch.randn(2, 4, dtype=torch.float64),
    )
    weights = [p.detach() for p in torch_rnn.parameters()]
    output, h_n = checks.reference_forward(x, h_0, *weights)
    expected, expected_h_n = torch_rnn(x, h_0.unsqueeze(0))
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_n, expected_h_n[0], rtol=0, atol=1e-12)


def test_a_wrong_shape_is_named_not_crashed():
    def cell(x, h, w_ih, w_hh, b_ih, b_hh):
        return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).T

    with pytest.raises(CheckFailed, match="shape"):
        checks.check_rnn_cell(cell)


def test_a_learner_exception_becomes_one_line_of_feedback():
    def forward(x, h_0, w_ih, w_hh, b_ih, b_hh):
        raise ValueError("oops")

    with pytest.raises(CheckFailed, match="rnn_forward.*raised ValueError: oops"):
        checks.check_rnn_forward(forward)


def test_malformed_predictions_are_explained():
    with pytest.raises(CheckFailed, match="keys 0.9 and 1.1"):
        checks.check_prediction_format({0.9: 1.0}, "smaller or equal")
    with pytest.raises(CheckFailed, match="should be one of"):
        checks.check_prediction_format({0.9: 1.0, 1.1: 2.0}, "smaller")
    with pytest.raises(CheckFailed, match="map each radius to a number"):
        checks.check_prediction_format({0.9: "small", 1.1: 2.0}, "smaller or equal")
