"""Masters are committed clean, with valid nbgrader metadata, and their solutions and
hidden tests never leak into the release (static checks: no kernels)."""

from __future__ import annotations

import re

import pytest
from grading import batches, harness

from autograder import notebooks
from autograder.grading import course

MASTERS = [(course.MASTERS, a) for a in course.assignments()] + [
    (batches.FIXTURE_MASTERS, a) for a in course.assignments(batches.FIXTURE_MASTERS)
]
IDS = [a for _, a in MASTERS]
KEYS = {"grade", "solution", "locked", "points", "grade_id", "schema_version"}
GRADE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def read(folder, assignment):
    return notebooks.read(folder / assignment / f"{assignment}.ipynb")


@pytest.mark.parametrize(("folder", "assignment"), MASTERS, ids=IDS)
def test_master_has_no_outputs_or_execution_counts(folder, assignment):
    dirty = [
        i
        for i, c in enumerate(read(folder, assignment).cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"cells with outputs or execution counts: {dirty}"


@pytest.mark.parametrize(("folder", "assignment"), MASTERS, ids=IDS)
def test_nbgrader_metadata_is_complete_and_consistent(folder, assignment):
    nb = read(folder, assignment)
    metas = [notebooks.nbgrader_meta(c) for c in nb.cells]
    metas = [m for m in metas if m]
    problems = [
        f"{m.get('grade_id')}: missing {KEYS - m.keys()}"
        for m in metas
        if KEYS - m.keys()
    ]
    ids = [m.get("grade_id", "") for m in metas]
    problems += [f"bad grade_id {i!r}" for i in ids if not GRADE_ID.match(i)]
    problems += [f"duplicate grade_id {i!r}" for i in set(ids) if ids.count(i) > 1]
    for m in metas:
        if m.get("grade") and not m.get("solution"):
            if not m.get("locked") or not m.get("points", 0) > 0:
                problems.append(
                    f"{m['grade_id']}: a test cell must be locked with points"
                )
        if m.get("schema_version") != 3:
            problems.append(f"{m.get('grade_id')}: schema_version must be 3")
    assert not problems, problems


@pytest.mark.parametrize(("folder", "assignment"), MASTERS, ids=IDS)
def test_every_exercise_has_visible_and_hidden_tests(folder, assignment):
    nb = read(folder, assignment)
    tests: dict[str, list] = {}
    by_id = {notebooks.nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    for test, exercise in notebooks.exercises(nb).items():
        tests.setdefault(exercise, []).append(
            "BEGIN HIDDEN TESTS" in by_id[test].source
        )
    for answer in (c for c in nb.cells if notebooks.is_answer(c)):
        assert "### BEGIN SOLUTION" in answer.source, answer.source[:80]
    assert tests, "no graded exercise"
    incomplete = {e: kinds for e, kinds in tests.items() if set(kinds) != {True, False}}
    assert not incomplete, (
        f"exercises without both visible and hidden tests: {incomplete}"
    )


@pytest.mark.parametrize("assignment", course.assignments())
def test_release_leaks_no_solution_or_hidden_test(assignment):
    release = course.RELEASE / assignment / f"{assignment}.ipynb"
    assert release.is_file(), "run `lstm-course release`"
    text = "\n".join(c.source for c in notebooks.read(release).cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    master = read(course.MASTERS, assignment)
    secrets = harness.secret_lines(master, ("SOLUTION", "HIDDEN TESTS"))
    leaked = [line for line in secrets if line in text]
    assert not leaked, leaked
