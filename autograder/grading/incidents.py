"""What a human should look at after grading: the submissions that hit a bound of
their sandbox, were refused by the rule "an answer must not call what it
implements", or tampered with the grader.

Grading writes the rule's incidents (`trusted.TrustedTests.incidents`: the
refused constructs, forbidden calls, a broken helper) into the graded notebook's
metadata (`record`); the bounds are read from the cells' error outputs
(`limits.bound_hit`). `grade` lists them after its table and adds them to its
CSV as one more column, after nbgrader's own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks
from autograder.errors import CourseError
from autograder.sealed.limits import bound_hit
from autograder.table import render

KEY = "lstm_course_incidents"  # in the graded notebook's metadata
COLUMN = "incidents"


@dataclass(frozen=True)
class Incident:
    cell: str  # an answer's or test's grade id, or "cell N"
    kind: str  # "bound", "refused" or "tampered"
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.cell}: {self.reason}"


def record(nb: NotebookNode, found: list[dict]) -> None:
    """Write the rule's incidents into `nb` (replacing any the notebook held)."""
    nb.metadata[KEY] = list(found)


def of_notebook(nb: NotebookNode) -> list[Incident]:
    """The incidents of a graded notebook: the rule's, then each bound hit."""
    found = [
        Incident(str(i.get("cell", "")), str(i.get("kind", "")), str(i.get("reason")))
        for i in nb.metadata.get(KEY, [])
        if isinstance(i, dict)
    ]
    for number, cell in enumerate(nb.cells, 1):
        label = notebooks.nbgrader_meta(cell).get("grade_id") or f"cell {number}"
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if bound_hit(output):
                found.append(Incident(label, "bound", bound_hit(output)))
    return list(dict.fromkeys(found))


def of_file(path: Path) -> list[Incident]:
    try:
        return of_notebook(notebooks.read(path)) if Path(path).is_file() else []
    except CourseError:
        return []


def listing(outcomes: list) -> str:
    """What `grade` prints after its table: one row per incident ("" if none)."""
    rows = [
        (o.student, o.assignment, i.cell, f"{i.kind}: {i.reason}")
        for o in outcomes
        for i in o.incidents
    ]
    if not rows:
        return ""
    title = "to look at: a bound hit, refused by the rule, or tampering with the grader"
    return f"{title}\n{render(('student', 'assignment', 'cell', 'incident'), rows)}"


def summary(incidents: list[Incident]) -> str:
    """One CSV cell: every incident, "; " between them."""
    return "; ".join(str(i) for i in incidents)


def add_column(csv_path: Path, autograded: Path) -> None:
    """Add the incidents of each row's graded notebook (`autograded/<student>/
    <assignment>/<assignment>.ipynb`) to nbgrader's grades CSV, as its last
    column; nbgrader's own columns stay as they are."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    student, assignment = header.index("student_id"), header.index("assignment")
    for row in body:
        graded = Path(autograded) / row[student] / row[assignment]
        row.append(summary(of_file(graded / f"{row[assignment]}.ipynb")))
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[*header, COLUMN], *body])
