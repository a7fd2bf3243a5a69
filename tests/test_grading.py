"""Every assignment in solutions/, graded by real nbgrader with real kernels: the
master earns everything, the release nothing, and each catalogued mistake costs
its own exercise and no other, with feedback that names it and its mistake id.

All submissions of all assignments are graded in one `grade --jobs 2` batch.
"""

from __future__ import annotations

import pytest
from grading import batches, harness

from autograder import notebooks
from autograder.checks import core
from autograder.grading import course

ASSIGNMENTS = course.assignments()
MISTAKES = [
    m for a in ASSIGNMENTS for m in harness.catalog(batches.CATALOGS / f"{a}.toml", a)
]


@pytest.fixture(scope="module")
def batch() -> batches.Batch:
    return batches.course_batch()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_solutions_earn_full_marks(batch, assignment):
    """The release filled with the master's answers (the base of every mistake)."""
    outcome = batch.outcome("filled", assignment)
    failing = {
        g.grade_id: batch_line(batch, "filled", assignment, g.grade_id)
        for g in outcome.grades
        if g.score < g.max_score
    }
    assert outcome.max_score > 0
    assert not failing and not outcome.problem, (failing, outcome.problem)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_earns_zero(batch, assignment):
    outcome = batch.outcome("release", assignment)
    assert outcome.max_score > 0 and outcome.score == 0, outcome.grades


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_has_at_least_three_mistakes(assignment):
    master = notebooks.read(course.MASTERS / assignment / f"{assignment}.ipynb")
    graded = set(notebooks.exercises(master).values())
    counts = {
        e: sum(m.exercise == e for m in MISTAKES if m.assignment == assignment)
        for e in graded
    }
    assert all(n >= 3 for n in counts.values()), counts


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: f"{m.assignment}:{m.name}")
def test_mistake_costs_its_own_exercise_only(batch, mistake):
    owner = notebooks.exercises(batch.master(mistake.assignment))
    assert mistake.exercise in owner.values(), f"{mistake.exercise} is not an exercise"
    student = batch.students[mistake]
    assert not student.startswith(batches.INVALID), student
    # the exercises given a mistake in this student's notebook (one when unpacked)
    wrong = {m.exercise for m, s in batch.students.items() if s == student}
    scores = batch.scores(student, mistake.assignment)
    own = {c for c, e in owner.items() if e == mistake.exercise}
    lost = {c for c, (s, m) in scores.items() if s < m}
    assert lost & own, f"{mistake.name}: {mistake.exercise} earned full marks"
    assert {owner[c] for c in lost} <= wrong, f"also lost {sorted(lost)}"
    graded = batch.autograded(student, mistake.assignment)
    errors = [
        o
        for c in graded.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
        and notebooks.nbgrader_meta(c).get("grade_id") in lost & own
    ]
    assert all(o.ename == "CheckFailed" for o in errors), [o.ename for o in errors]
    text = " ".join(o.evalue for o in errors)
    assert mistake.feedback.lower() in text.lower(), text
    ids = {core.mistake_of(o.evalue) for o in errors}  # kept in the graded notebook
    assert mistake.mistake in ids, (mistake.mistake, ids)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_page_never_shows_hidden_tests(batch, assignment):
    hidden = harness.secret_lines(batch.master(assignment), ("HIDDEN TESTS",))
    assert hidden, "no hidden tests in the master"
    for student in ("release", "filled"):
        page = batch.feedback_page(student, assignment)
        assert not [line for line in hidden if line in page], student


def batch_line(batch, student, assignment, grade_id) -> str:
    from autograder.grading.feedback import cell_feedback

    for cell in batch.autograded(student, assignment).cells:
        if notebooks.nbgrader_meta(cell).get("grade_id") == grade_id:
            return cell_feedback(cell)
    return "cell missing"
