"""Self-study grading: a learner's notebooks graded with the real hidden tests.

Each notebook is copied into a temporary nbgrader course (the learner's file is only
read), autograded there by nbgrader, and reported per exercise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import notebooks, settings
from autograder.errors import CourseError
from autograder.grading import course, feedback
from autograder.i18n import _


@dataclass
class CellResult:
    grade_id: str
    score: float
    max_score: float
    feedback: str
    exercise: str = ""


@dataclass
class Report:
    path: str
    assignment: str = ""
    score: float = 0.0
    max_score: float = 0.0
    cells: list[CellResult] = field(default_factory=list)
    problem: str = ""

    def as_json(self) -> dict:
        cells = [
            {k: v for k, v in asdict(c).items() if k != "exercise"} for c in self.cells
        ]
        return {
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "cells": cells,
        } | ({"problem": self.problem} if self.problem else {})


def load_masters(masters: Path) -> dict:
    return {
        a: notebooks.read(masters / a / f"{a}.ipynb")
        for a in course.assignments(masters)
    }


def check(
    paths: list[Path],
    masters: Path = course.MASTERS,
    timeout: int = settings.DEFAULT_TIMEOUT,
    sealed: bool = True,
) -> list[Report]:
    """Grade every notebook in `paths` (in sealed kernels unless not `sealed`); a
    notebook that cannot be graded gets a report with its `problem` instead."""
    known = load_masters(masters)
    reports = []
    with course.TempCourse(masters, timeout, sealed=sealed) as temp:
        for number, path in enumerate(paths):
            report = Report(str(path))
            try:
                nb = notebooks.read(path)
                report.assignment = notebooks.recognise(Path(path), nb, known)
                if Path(path).stem in known and Path(path).stem != report.assignment:
                    holds = report.assignment
                    report.problem = _(
                        "{name} holds the exercises of {holds}; graded as {holds}"
                    ).format(name=Path(path).name, holds=holds)
                student = f"learner{number}"
                temp.submit(student, report.assignment, Path(path))
                failed = temp.autograde(student, report.assignment)
                report.problem = "; ".join(p for p in (report.problem, failed) if p)
                fill(report, temp, student, known[report.assignment])
            except CourseError as error:
                report.problem = str(error)
            reports.append(report)
    return reports


def fill(report: Report, temp: course.TempCourse, student: str, master) -> None:
    """Scores from the gradebook, feedback from the autograded notebook: a failed
    check's message whole (all the problems it lists, one a line)."""
    owner = notebooks.exercises(master)
    lines = {}
    graded = temp.autograded(student, report.assignment)
    if graded.is_file():
        for cell in notebooks.read(graded).cells:
            grade_id = notebooks.nbgrader_meta(cell).get("grade_id")
            lines.setdefault(grade_id, feedback.cell_feedback(cell, whole=True))
    for cell in temp.grades(student, report.assignment):
        line = lines.get(cell.grade_id, report.problem or _("not graded"))
        report.cells.append(
            CellResult(
                cell.grade_id,
                cell.score,
                cell.max_score,
                line,
                owner.get(cell.grade_id, cell.grade_id),
            )
        )
    report.score = sum(c.score for c in report.cells)
    report.max_score = sum(c.max_score for c in report.cells)


def by_exercise(report: Report) -> list[tuple[str, float, float, str]]:
    """(exercise, earned, possible, feedback): the first failing cell's message, else
    the confirmation of the hidden test (it graded everything the visible test only
    checked the form of, e.g. a prediction), else the first cell's."""
    rows: dict[str, list[CellResult]] = {}
    for cell in report.cells:
        rows.setdefault(cell.exercise, []).append(cell)
    table = []
    for exercise, cells in rows.items():
        failing = [c for c in cells if c.score < c.max_score]
        hidden = [c for c in cells if c.grade_id.endswith("-hidden")]
        line = (failing or hidden or cells)[0].feedback
        earned = sum(c.score for c in cells)
        table.append((exercise, earned, sum(c.max_score for c in cells), line))
    return table
