"""Sealed grading, attacked: every submission of tests/adversarial/attacks.py graded
through real nbgrader (`grade`, `check`, plain `nbgrader autograde`) earns exactly
its expected outcome, and a class with attackers among it leaves its honest
students' grades, files and gradebook rows as they are when graded alone.

All of it is graded once (tests/adversarial/classroom.py); the tests only read.
"""

from __future__ import annotations

import pytest
from adversarial import classroom
from adversarial.attacks import ATTACKS, BLANK, CELL, FILLED, WRONG


@pytest.fixture(scope="module")
def results() -> classroom.Results:
    return classroom.results()


def by_name(name: str):
    return next(a for a in ATTACKS if a.name == name)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: f"{a.via}:{a.name}")
def test_attack_earns_exactly_its_expected_outcome(results, attack):
    got = results.result(attack)
    owner = classroom.owner(attack.assignment)
    expected = {
        cell: 0.0 if owner[cell] in attack.zeroed else score
        for cell, score in results.baseline(attack).items()
    }
    wrong = {
        cell: f"{got.scores.get(cell)} instead of {score}: {got.lines.get(cell, '')}"
        for cell, score in expected.items()
        if got.scores.get(cell) != score
    }
    assert not wrong and set(got.scores) == set(expected), wrong
    for exercise in attack.zeroed:
        lines = [got.lines.get(c, "") for c, e in owner.items() if e == exercise]
        assert any(attack.feedback in line for line in lines), (exercise, lines)


def test_the_baselines_leave_every_attack_something_to_gain(results):
    """Filled answers earn everything, slightly wrong and blank ones nothing: so an
    attack that gets through always shows in its scores."""
    alone = results.alone.graded
    filled = alone[f"honest-{FILLED}"]
    assert filled.scores == filled.max_scores and sum(filled.scores.values()) > 0
    for kind in (WRONG, BLANK):
        assert set(alone[f"honest-{kind}"].scores.values()) == {0.0}, kind


def test_honest_students_grade_as_when_graded_alone(results):
    for student in classroom.HONEST:
        assert (
            results.klass.graded[student].scores == results.alone.graded[student].scores
        ), student


def test_honest_submissions_are_never_modified(results):
    assert results.klass.digests_after == results.klass.digests_before
    assert results.plain.digest_after == results.plain.digest_before


def test_gradebook_rows_of_honest_students_are_untouched(results):
    """Same auto and manual scores as in a gradebook no attacker could reach."""
    assert results.klass.rows == results.alone.rows
    assert all(manual is None for _, manual in results.klass.rows.values())


def test_plain_nbgrader_grades_an_honest_student_as_grade_does(results):
    plain = results.plain.graded["honest-slightly-wrong"].scores
    assert plain == results.alone.graded[f"honest-{WRONG}"].scores


def test_no_process_outlives_grading(results):
    assert results.klass.survivors == [], results.klass.survivors


def test_memory_limit_fails_the_cell_that_allocated_and_names_it(results):
    nb = results.klass.graded[by_name("memory-hog").student].notebook()
    cell = next(
        c
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "gru-cell"
    )
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and "memory limit" in errors[0].evalue, cell.outputs


def test_output_flood_is_bounded(results):
    graded = results.klass.graded[by_name("output-flood").student]
    size = graded.autograded.stat().st_size
    assert size < 10 * 2**20, f"the autograded notebook holds {size / 2**20:.0f} MB"


def test_at_least_twenty_attacks_through_every_path():
    assert len(ATTACKS) >= 20
    assert {a.via for a in ATTACKS} == {"grade", "check", "nbgrader"}
    assert sum(a.assignment == CELL for a in ATTACKS) < len(ATTACKS)
