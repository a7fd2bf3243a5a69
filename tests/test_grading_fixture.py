"""The grading pipeline end to end on the small fixture course (real nbgrader,
real kernels): scores, mistakes, bad input, feedback pages, gradebook and CSV."""

from __future__ import annotations

import csv

import pytest
from grading import batches, harness
from grading.batches import FIXTURE, OTHER

MISTAKES = harness.catalog(batches.FIXTURE_CATALOGS / f"{FIXTURE}.toml", FIXTURE)
SCALE = {"test-scale", "test-scale-hidden"}
SQUASH = {"test-squash", "test-squash-hidden"}


@pytest.fixture(scope="module")
def batch() -> batches.Batch:
    return batches.fixture_batch()


def earned(batch, student: str, cells: set[str]) -> tuple[float, float]:
    scores = batch.scores(student, FIXTURE)
    return sum(scores[c][0] for c in cells), sum(scores[c][1] for c in cells)


@pytest.mark.parametrize("assignment", [FIXTURE, OTHER])
def test_master_and_filled_release_earn_everything(batch, assignment):
    for student in ("master", "filled"):
        outcome = batch.outcome(student, assignment)
        assert outcome.problem == ""
        assert outcome.max_score > 0 and outcome.score == outcome.max_score, student


@pytest.mark.parametrize("assignment", [FIXTURE, OTHER])
def test_release_earns_nothing(batch, assignment):
    outcome = batch.outcome("release", assignment)
    assert outcome.max_score > 0 and outcome.score == 0


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_mistake_costs_its_exercise_only(batch, mistake):
    own = {"scale": SCALE, "squash": SQUASH}[mistake.exercise]
    others = (SCALE | SQUASH) - own
    got, possible = earned(batch, mistake.student, own)
    assert got < possible
    assert earned(batch, mistake.student, others) == (3.0, 3.0)
    graded = batch.autograded(mistake.student, FIXTURE)
    errors = " ".join(
        str(o.get("evalue", "")) for c in graded.cells for o in c.get("outputs", [])
    )
    assert mistake.feedback in errors


def test_feedback_page_hides_hidden_tests_and_tracebacks(batch):
    student = MISTAKES[0].student
    page = batch.feedback_page(student, FIXTURE)
    assert "seed=7" not in page and "BEGIN HIDDEN TESTS" not in page
    assert "Hidden tests" in page
    assert "CheckFailed: scale(x, k) added k instead of multiplying by it" in page
    assert "Traceback" not in page and "fixture_checks.py" not in page
    # the autograded notebook, for instructors, keeps everything
    sources = [c.source for c in batch.autograded(student, FIXTURE).cells]
    assert any("seed=7" in s for s in sources)


def test_deleted_or_edited_test_cells_are_restored(batch):
    for student in ("deleted-tests", "edited-tests", "unlocked-tests"):
        assert earned(batch, student, SCALE) == (0.0, 3.0), student
        assert earned(batch, student, SQUASH) == (3.0, 3.0), student
        assert batch.outcome(student, FIXTURE).problem == ""


def test_duplicated_cells_are_graded(batch):
    outcome = batch.outcome("duplicated-cells", FIXTURE)
    assert (outcome.score, outcome.max_score, outcome.problem) == (6.0, 6.0, "")


def test_kernel_that_dies_costs_only_the_cells_from_there(batch):
    assert earned(batch, "kernel-dies", SCALE) == (3.0, 3.0)
    assert earned(batch, "kernel-dies", SQUASH) == (0.0, 3.0)
    lines = [
        o.get("evalue", "")
        for c in batch.autograded("kernel-dies", FIXTURE).cells
        for o in c.get("outputs", [])
    ]
    assert any("kernel died" in line for line in lines)


def test_endless_loop_is_stopped_by_the_cell_timeout(batch):
    assert earned(batch, "endless-loop", SCALE) == (3.0, 3.0)
    assert earned(batch, "endless-loop", SQUASH) == (0.0, 3.0)
    enames = {
        o.get("ename")
        for c in batch.autograded("endless-loop", FIXTURE).cells
        for o in c.get("outputs", [])
    }
    assert enames & {"CellTimeoutError", "KeyboardInterrupt"}


def test_warning_on_stderr_costs_nothing(batch):
    outcome = batch.outcome("warns", FIXTURE)
    assert (outcome.score, outcome.max_score) == (6.0, 6.0)


def test_renamed_notebook_is_graded(batch):
    assert batch.outcome("renamed", FIXTURE).score == 6.0


@pytest.mark.parametrize(
    ("student", "says"),
    [
        ("corrupt-json", "not a readable notebook"),
        ("no-notebook", "no notebook submitted"),
        ("other-assignment", f"is a notebook of {OTHER}, not {FIXTURE}"),
    ],
)
def test_bad_submission_gets_one_line_and_a_zero(batch, student, says):
    outcome = batch.outcome(student, FIXTURE)
    assert says in outcome.problem and "\n" not in outcome.problem
    assert "Traceback" not in outcome.problem
    assert (outcome.score, outcome.max_score) == (0.0, 6.0)


def test_one_bad_submission_does_not_stop_the_others(batch):
    graded = {s for (s, a) in batch.outcomes if a == FIXTURE}
    assert {"corrupt-json", "filled", "renamed"} <= graded


def test_gradebook_at_db_url_and_csv_agree_with_outcomes(batch):
    with batch.csv.open() as f:
        rows = {
            (r["student_id"], r["assignment"]): float(r["score"])
            for r in csv.DictReader(f)
        }
    assert {key: rows[key] for key in batch.outcomes} == {
        key: o.score for key, o in batch.outcomes.items()
    }
    assert not (batch.workdir / "gradebook.db").exists()  # --db put it elsewhere
