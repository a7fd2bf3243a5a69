"""A visible ✓ is never earned by a wrong answer.

Every catalogued mistake (tests/mistakes/<id>.toml) is run against the visible test
cells of its exercise alone, in process (tests/grading/inprocess.py), as a learner
runs them: at least one must fail. The one exception is a prediction whose visible
test reads only part of the answer by design (the rest would give the answer away
before the learner commits to it): there a mistake in the other part may pass, and
then the ✓ it earns must say so, naming what only the hidden test grades.
"""

from __future__ import annotations

import pytest
from grading import inprocess

from autograder.grading import course

# Exercises whose visible test reads part of a prediction; the hidden test reads all.
PARTIAL = {
    ("01_rnn_limits", "predict-gradient-norm"),  # its form only
    ("02_lstm_cell", "forget-gate-predict"),  # predicted_f, not the claim
    ("03_lstm_layer", "predict-shapes"),  # output, not h_n and c_0
    ("04_nn_lstm_parameters", "shapes-stacked"),  # output, not h_n and c_n
    ("04_nn_lstm_parameters", "dropout-answers"),  # three answers of six
    ("04_nn_lstm_parameters", "shapes-directions"),  # output, not h_n and c_n
    ("05_inputs_outputs", "predict-shapes"),  # (a) and (b), not (c)
    ("05_inputs_outputs", "predict-bidirectional"),  # h_n[-2] only
    ("06_backprop_through_lstm", "predict-cell-path"),  # the choice, not the factor
    ("07_training", "predict-digit-shapes"),  # the batch, not the single digit
}
MISTAKES = [m for a in course.assignments() for m in inprocess.mistakes(a)]


@pytest.mark.parametrize(
    "mistake", MISTAKES, ids=[f"{m.assignment}:{m.name}" for m in MISTAKES]
)
def test_no_catalogued_mistake_earns_a_visible_check_mark(mistake):
    answers = inprocess.with_mistake(mistake)
    results = inprocess.run(
        mistake.assignment, answers, only={mistake.exercise}, hidden=False
    )
    assert results, f"{mistake.exercise} has no visible test"
    if any(outcome.error is not None for outcome in results.values()):
        return
    passed = {grade_id: outcome.out.strip() for grade_id, outcome in results.items()}
    assert (mistake.assignment, mistake.exercise) in PARTIAL, (
        f"{mistake.name!r} earns the visible ✓ of {mistake.exercise}: {passed}"
    )
    for grade_id, said in passed.items():
        assert "hidden test" in said, (
            f"{mistake.name!r} passes {grade_id}, whose ✓ does not say what only "
            f"the hidden test grades: {said!r}"
        )


def test_partial_visible_tests_are_predictions_of_the_masters():
    for assignment, exercise in PARTIAL:
        assert exercise in inprocess.exercises(assignment), (assignment, exercise)
