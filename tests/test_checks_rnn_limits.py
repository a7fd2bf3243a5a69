"""Unit tests of autograder.checks.rnn_limits, in process (no nbgrader).

The master's own cells are executed: its solutions must pass every test cell (visible
and hidden), and each catalogued mistake, applied to its exercise's solution, must make
one of that exercise's test cells raise CheckFailed with the catalogued feedback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.checks import rnn_limits as checks
from autograder.checks.core import CheckFailed

ROOT = Path(__file__).resolve().parents[1]
ID = "01_rnn_limits"
MASTER = nbformat.read(ROOT / "solutions" / ID / f"{ID}.ipynb", as_version=4)
MISTAKES = tomllib.loads((ROOT / "tests" / "mistakes" / f"{ID}.toml").read_text())[
    "mistake"
]
EXERCISES = ["rnn-cell", "rnn-forward", "predict-gradient-norm", "jacobian-norm",
             "clip-grad-norm"]


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


CELLS = {_grade_id(c): c.source for c in MASTER.cells if _grade_id(c)}
SETUP = next(c.source for c in MASTER.cells if c.cell_type == "code")


@pytest.fixture(autouse=True)
def _keep_default_dtype():
    """The notebook sets float64 as the default dtype; other tests expect theirs."""
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)


def _namespace(replace: dict | None = None) -> dict:
    """The notebook's setup and every answer (one possibly replaced)."""
    scope: dict = {}
    exec(SETUP, scope)  # noqa: S102 - the master's own code
    for exercise in EXERCISES:
        exec((replace or {}).get(exercise, CELLS[exercise]), scope)  # noqa: S102
    return scope


def _run_tests_of(exercise: str, scope: dict) -> None:
    for suffix in ("", "-hidden"):
        exec(CELLS[f"test-{exercise}{suffix}"], scope)  # noqa: S102


def test_the_master_has_five_exercises_each_with_visible_and_hidden_tests():
    answers = [_grade_id(c) for c in MASTER.cells
               if _grade_id(c) and c.metadata["nbgrader"]["solution"]]
    assert answers == EXERCISES
    for exercise in EXERCISES:
        assert "### BEGIN HIDDEN TESTS" in CELLS[f"test-{exercise}-hidden"]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_masters_solution_passes_visible_and_hidden_tests(exercise, capsys):
    _run_tests_of(exercise, _namespace())
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("✓ ") for line in lines)


def _stub(source: str) -> str:
    """The release's version of an answer cell: nbgrader's stub for the solution."""
    start, end = source.index("### BEGIN SOLUTION"), source.index("### END SOLUTION")
    indent = source[:start].rsplit("\n", 1)[-1]
    body = end + len("### END SOLUTION")
    return f"{source[:start]}raise NotImplementedError()\n{indent}{source[body:]}"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_an_unanswered_exercise_fails_its_tests(exercise):
    scope: dict = {}
    exec(SETUP, scope)  # noqa: S102
    try:
        exec(_stub(CELLS[exercise]), scope)  # noqa: S102
    except NotImplementedError:
        pass  # a stub at top level (the prediction) raises when its cell runs
    for suffix in ("", "-hidden"):
        with pytest.raises((NotImplementedError, NameError)):
            exec(CELLS[f"test-{exercise}{suffix}"], scope)  # noqa: S102


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m["name"] for m in MISTAKES])
def test_each_catalogued_mistake_fails_with_its_feedback(mistake):
    source = CELLS[mistake["exercise"]]
    assert source.count(mistake["old"]) == 1, "`old` must occur exactly once"
    scope = _namespace({mistake["exercise"]: source.replace(mistake["old"],
                                                            mistake["new"])})
    with pytest.raises(CheckFailed) as failure:
        _run_tests_of(mistake["exercise"], scope)
    assert mistake["feedback"] in str(failure.value)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m["name"] for m in MISTAKES])
def test_a_mistake_costs_only_its_own_exercise(mistake):
    """Later exercises are graded with the reference in place of earlier answers."""
    source = CELLS[mistake["exercise"]]
    scope = _namespace({mistake["exercise"]: source.replace(mistake["old"],
                                                            mistake["new"])})
    for exercise in EXERCISES:
        if exercise != mistake["exercise"]:
            _run_tests_of(exercise, scope)


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
    x, h_0 = torch.randn(5, 2, 3, dtype=torch.float64), torch.randn(2, 4,
                                                                    dtype=torch.float64)
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
