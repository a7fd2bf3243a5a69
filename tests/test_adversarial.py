"""Sealed grading, attacked: every submission of tests/adversarial/attacks.py graded
through real nbgrader (`grade`, `check`, plain `nbgrader autograde`) earns exactly
its expected outcome, and a class with attackers among it leaves its honest
students' grades, files and gradebook rows as they are when graded alone; no
process outlives grading, memory and output are bounded.

All of it is graded once (tests/adversarial/classroom.py); the tests only read.
`python tests/adversarial/report.py` prints the same verdicts (run it unsealed to
see every attack get through).
"""

from __future__ import annotations

import pytest
from adversarial import classroom
from adversarial.attacks import ATTACKS, BLANK, CELL, FILLED, WRONG


@pytest.fixture(scope="module")
def results() -> classroom.Results:
    return classroom.results()


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: f"{a.via}:{a.name}")
def test_attack_earns_exactly_its_expected_outcome(results, attack):
    assert results.mismatches(attack) == []


@pytest.mark.parametrize("check", classroom.CLASS_CHECKS)
def test_the_class_around_the_attackers(results, check):
    assert classroom.CLASS_CHECKS[check](results) == []


def test_the_baselines_leave_every_attack_something_to_gain(results):
    """Filled answers earn everything, slightly wrong and blank ones nothing: so an
    attack that gets through always shows in its scores."""
    alone = results.alone.graded
    filled = alone[f"honest-{FILLED}"]
    assert filled.scores == filled.max_scores and sum(filled.scores.values()) > 0
    for kind in (WRONG, BLANK):
        assert set(alone[f"honest-{kind}"].scores.values()) == {0.0}, kind


def test_attacks_cover_every_grading_path_and_several_notebooks():
    assert len(ATTACKS) >= 20
    assert {a.via for a in ATTACKS} == {"grade", "check", "nbgrader"}
    assert {a.assignment for a in ATTACKS} - {CELL}
