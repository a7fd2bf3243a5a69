"""One grading batch per course, shared by every test module that needs it.

Grading is the slow part (a real kernel per notebook), so each course's
submissions (master, release, filled, each catalogued mistake, bad inputs) are
graded once, as different students of one `grade --jobs 2` run, and the tests
only read the results. Memoised per process, so pytest-xdist workers each build
their own.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import notebooks
from autograder.grading import course
from autograder.grading.grade import grade
from autograder.grading.worker import Outcome
from grading import harness

TESTS = Path(__file__).resolve().parents[1]
FIXTURE_MASTERS = TESTS / "fixtures" / "course"
FIXTURE_CATALOGS = FIXTURE_MASTERS / "mistakes"
CATALOGS = TESTS / "mistakes"
JOBS = 2
INVALID = "invalid catalog entry: "


@dataclass
class Batch:
    masters: Path
    submissions: Path
    workdir: Path
    outcomes: dict[tuple[str, str], Outcome]
    csv: Path
    students: dict[harness.Mistake, str]  # who submitted each mistake

    def master(self, assignment: str) -> NotebookNode:
        return notebooks.read(self.masters / assignment / f"{assignment}.ipynb")

    def outcome(self, student: str, assignment: str) -> Outcome:
        return self.outcomes[(student, assignment)]

    def scores(self, student: str, assignment: str) -> dict[str, tuple[float, float]]:
        return {
            g.grade_id: (g.score, g.max_score)
            for g in self.outcome(student, assignment).grades
        }

    def autograded(self, student: str, assignment: str) -> NotebookNode:
        return notebooks.read(
            self.workdir / "autograded" / student / assignment / f"{assignment}.ipynb"
        )

    def feedback_page(self, student: str, assignment: str) -> str:
        """The text a learner reads on the feedback page (tags and styles removed)."""
        page = self.workdir / "feedback" / student / assignment / f"{assignment}.html"
        html = page.read_text(encoding="utf-8")
        html = re.sub(r"(?s)<(style|script)\b.*?</\1>", "", html)
        return unescape(re.sub(r"<[^>]+>", "", html))


def scratch(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def standard(
    folder: Path,
    masters: Path,
    assignment: str,
    catalogs: Path,
    with_master: bool,
    packed: bool,
    rounds: int | None = None,
) -> dict[harness.Mistake, str]:
    """Write master, release, filled and the catalogued mistakes (each in its own
    notebook, or `packed` in rounds, only the first `rounds` if given); return the
    student of each mistake."""
    master = notebooks.read(masters / assignment / f"{assignment}.ipynb")
    with course.TempCourse(masters) as temp:
        release = notebooks.read(temp.release(assignment))
    filled = harness.fill(release, master)
    if with_master:  # `lstm-course solutions` proves the real masters themselves
        harness.write(master, folder, "master", assignment)
    harness.write(release, folder, "release", assignment)
    harness.write(filled, folder, "filled", assignment)
    students, mistakes = {}, []
    for mistake in harness.catalog(catalogs / f"{assignment}.toml", assignment):
        try:  # a broken catalog entry fails its own test, not the whole batch
            harness.apply(filled, mistake)
            mistakes.append(mistake)
        except (KeyError, ValueError) as error:
            students[mistake] = f"{INVALID}{error}"
    groups = harness.rounds(mistakes) if packed else [[m] for m in mistakes]
    for number, group in enumerate(groups[:rounds], 1):
        student = f"mistakes-round-{number}" if packed else group[0].student
        harness.write(harness.apply_all(filled, group), folder, student, assignment)
        students |= dict.fromkeys(group, student)
    return students


def run(
    masters: Path,
    assignments: list[str],
    catalogs: Path,
    timeout: int,
    extra: Callable[[Path], None] | None = None,
    db_url: str | None = None,
    with_master: bool = False,
    packed: bool = False,
    rounds: int | None = None,
) -> Batch:
    root = scratch("lstm-course-tests-")
    folder, workdir = root / "submissions", root / "course"
    students = {}
    for assignment in assignments:
        students |= standard(
            folder, masters, assignment, catalogs, with_master, packed, rounds
        )
    if extra:
        extra(folder)
    outcomes, csv = grade(
        folder,
        jobs=JOBS,
        db_url=db_url,
        workdir=workdir,
        masters=masters,
        timeout=timeout,
        progress=False,
    )
    keyed = {(o.student, o.assignment): o for o in outcomes}
    return Batch(masters, folder, workdir, keyed, csv, students)


@functools.cache
def course_batch() -> Batch:
    """Every real assignment in solutions/, with its mistakes catalog.

    Mistakes are packed one per exercise per notebook (`harness.rounds`) so CI stays
    fast; LSTM_COURSE_MISTAKES=each grades every mistake in its own notebook. (Each
    mistake's isolation is also checked one by one, without nbgrader, in the
    notebooks' own tests/test_checks_*.py.)
    """
    packed = os.environ.get("LSTM_COURSE_MISTAKES", "rounds") != "each"
    return run(
        course.MASTERS, course.assignments(), CATALOGS, timeout=120, packed=packed
    )


@functools.cache
def korean_batch() -> Batch:
    """The Korean edition (ko/solutions/) graded like `course_batch`: release, filled
    and the first round of mistakes (one in every exercise), the same code as the
    English notebooks of those names."""
    return run(
        course.masters_of("ko"),
        course.assignments(),
        CATALOGS,
        timeout=120,
        packed=True,
        rounds=1,
    )


def write_notebook(
    nb: NotebookNode, folder: Path, student: str, assignment: str
) -> Path:
    return harness.write(nbformat.from_dict(nb), folder, student, assignment)


# ---- the fixture course: fast, and where the bad inputs live ---------------------

FIXTURE = "00_fixture"
OTHER = "00_other"
FIXTURE_TIMEOUT = (
    30  # seconds per cell: generous on a loaded machine; the loop costs it
)
WRONG_SCALE = harness.Mistake(
    FIXTURE, "scale", "adds", "return x * k", "return x + k", ""
)
# A right answer that warns on stderr even inside the checks' `quiet()`.
WARNS = harness.Mistake(
    FIXTURE,
    "scale",
    "warns",
    "return x * k",
    "import warnings\n    warnings.simplefilter('always')\n"
    "    warnings.warn('scale: a harmless warning')\n    return x * k",
    "",
)


def _cells_without(nb: NotebookNode, drop: set[str]) -> NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells = [
        c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") not in drop
    ]
    return nb


def _edited(
    nb: NotebookNode, edits: dict[str, str], strip_meta: bool = False
) -> NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = notebooks.nbgrader_meta(cell).get("grade_id")
        if grade_id in edits:
            cell.source = edits[grade_id]
            if strip_meta:
                cell.metadata.pop("nbgrader")
    return nb


def _duplicated(nb: NotebookNode, grade_ids: set[str]) -> NotebookNode:
    nb = nbformat.from_dict(nb)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if notebooks.nbgrader_meta(cell).get("grade_id") in grade_ids:
            twin = nbformat.from_dict(cell)
            twin.id = cell.id + "-copy"
            cells.append(twin)
    nb.cells = cells
    return nb


def _prefixed(
    nb: NotebookNode, exercise: str, code: str, suffix: bool = False
) -> NotebookNode:
    nb = nbformat.from_dict(nb)
    cell = harness.answer_cell(nb, exercise)
    cell.source = cell.source + "\n" + code if suffix else code + "\n" + cell.source
    return nb


def bad_inputs(folder: Path) -> None:
    """Submissions a grader must survive, each as one student of 00_fixture."""
    filled = notebooks.read(folder / "filled" / FIXTURE / f"{FIXTURE}.ipynb")
    wrong = harness.apply(filled, WRONG_SCALE)
    tests = {"test-scale", "test-scale-hidden"}
    cases = {
        "deleted-tests": _cells_without(wrong, tests),
        "edited-tests": _edited(wrong, dict.fromkeys(tests, "pass")),
        "unlocked-tests": _edited(wrong, dict.fromkeys(tests, "pass"), strip_meta=True),
        "duplicated-cells": _duplicated(filled, {"scale", "test-scale"}),
        "kernel-dies": _prefixed(
            filled, "squash", "import os\nos._exit(1)", suffix=True
        ),
        "endless-loop": _prefixed(filled, "squash", "while True:\n    pass"),
        "warns": harness.apply(filled, WARNS),
        "other-assignment": notebooks.read(
            folder / "filled" / OTHER / f"{OTHER}.ipynb"
        ),
    }
    for student, nb in cases.items():
        write_notebook(nb, folder, student, FIXTURE)
    corrupt = folder / "corrupt-json" / FIXTURE / f"{FIXTURE}.ipynb"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"cells": [', encoding="utf-8")
    (folder / "no-notebook" / FIXTURE).mkdir(parents=True)
    renamed = folder / "renamed" / FIXTURE / "my work (1).ipynb"
    renamed.parent.mkdir(parents=True)
    nbformat.write(filled, renamed)


@functools.cache
def fixture_batch() -> Batch:
    db = scratch("lstm-course-db-") / "gradebook.sqlite"
    return run(
        FIXTURE_MASTERS,
        [FIXTURE, OTHER],
        FIXTURE_CATALOGS,
        FIXTURE_TIMEOUT,
        extra=bad_inputs,
        db_url=f"sqlite:///{db}",
        with_master=True,
    )
