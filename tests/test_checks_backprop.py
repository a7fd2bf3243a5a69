"""06_backprop_through_lstm's checks, in-process: the master's own test cells pass its
answers, and each catalogued mistake fails its own exercise's tests, and only those,
with feedback that names it (tests/grading/inprocess.py runs the cells)."""

import pytest
from grading import inprocess

ID = "06_backprop_through_lstm"
MISTAKES = inprocess.mistakes(ID)


def test_the_masters_answers_pass_every_check():
    results = inprocess.run(ID)
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_each_mistake_fails_its_own_exercise_only(mistake):
    inprocess.assert_caught(mistake)


def test_the_release_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


def test_every_exercise_has_three_catalogued_mistakes():
    inprocess.assert_catalogued(ID)
