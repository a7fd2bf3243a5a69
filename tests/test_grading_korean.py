"""The Korean edition is graded exactly like the English one, by real nbgrader.

Its masters' answers earn everything, its release nothing, and a Korean notebook
with the same code as an English one earns the same points in every cell: the
master's answers, the empty release, and one catalogued mistake in every exercise
(the first round of tests/test_grading.py's English batch, which grades them all).
What the learner reads of a lost point is Korean.
"""

from __future__ import annotations

import re

import pytest
from grading import batches

from autograder import notebooks
from autograder.grading import course

ASSIGNMENTS = course.assignments()
STUDENTS = ("filled", "release", "mistakes-round-1")
HANGUL = re.compile(r"[가-힣]")


@pytest.fixture(scope="module")
def korean() -> batches.Batch:
    return batches.korean_batch()


@pytest.fixture(scope="module")
def english() -> batches.Batch:
    return batches.course_batch()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_korean_master_answers_earn_full_marks_and_release_zero(korean, assignment):
    filled, release = (korean.outcome(s, assignment) for s in ("filled", "release"))
    assert filled.max_score > 0 and not filled.problem, filled.problem
    assert filled.score == filled.max_score, [
        g.grade_id for g in filled.grades if g.score < g.max_score
    ]
    assert release.score == 0, [g.grade_id for g in release.grades if g.score]


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_same_code_same_points_in_every_cell(korean, english, assignment, student):
    assert korean.outcome(student, assignment).max_score > 0
    assert korean.scores(student, assignment) == english.scores(student, assignment)


def test_every_first_round_mistake_applies_to_the_korean_notebook(korean):
    invalid = {m.name: s for m, s in korean.students.items() if s.startswith("invalid")}
    assert not invalid, invalid


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_lost_point_is_explained_in_korean(korean, assignment):
    student = "mistakes-round-1"
    lost = {
        c
        for c, (score, most) in korean.scores(student, assignment).items()
        if score < most
    }
    graded = korean.autograded(student, assignment)
    errors = [
        o
        for c in graded.cells
        if notebooks.nbgrader_meta(c).get("grade_id") in lost
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert lost and errors
    english = [o.evalue for o in errors if not HANGUL.search(o.evalue)]
    assert not english, english


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_korean_figures_draw_every_glyph(korean, assignment):
    """The figures of the graded Korean notebook, drawn in its sealed kernel: there
    are some, and matplotlib reported no character it could not draw."""
    graded = korean.autograded("filled", assignment)
    outputs = [o for c in graded.cells for o in c.get("outputs", [])]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    stderr = [o.text for o in outputs if o.get("name") == "stderr"]
    assert figures, "no figure was drawn"
    assert not [t for t in stderr if "glyph" in t.lower() or "font" in t.lower()], (
        stderr
    )
