"""The class's scores and the release's answer cells, read from nbgrader's gradebook.

Read-only, in a few queries through nbgrader's own tables (sqlite or PostgreSQL
alike): opening it with nbgrader's `Gradebook` would create a missing database and
write to an existing one, and asking it cell by cell takes minutes for a large
class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import (
    Assignment,
    Grade,
    GradeCell,
    Notebook,
    SolutionCell,
    SourceCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from autograder.errors import CourseError
from autograder.grading import gradebook
from autograder.i18n import _


@dataclass
class Scores:
    """Every graded cell's score, by (student, assignment, notebook)."""

    # (student, assignment, notebook) -> grade_id -> (score, max_score)
    cells: dict[tuple[str, str, str], dict[str, tuple[float, float]]] = field(
        default_factory=dict
    )
    names: dict[str, str] = field(default_factory=dict)  # student id -> full name
    # (assignment, notebook) -> answer cell grade_id -> its release source
    stubs: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def assignments(self) -> list[str]:
        return sorted({a for _s, a, _n in self.cells})


def _existing(url: str) -> None:
    """A sqlite gradebook must exist: connecting would create an empty one."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return  # gradebook.check words it
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or not path.is_file():
            raise CourseError(
                _(
                    "no gradebook at {path}: grade the class first (lstm-course "
                    "grade, or nbgrader autograde), or say where it is with "
                    "--workdir or --db"
                ).format(path=path)
            )


def read(url: str, assignments: list[str] | None = None) -> Scores:
    """The scores of every submission in the gradebook at `url` (only of
    `assignments` if given); one `CourseError` line when it cannot be read."""
    _existing(url)
    gradebook.check(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        if not inspect(engine).has_table("grade"):
            raise CourseError(
                _("{url} is not an nbgrader gradebook (it has no grades)").format(
                    url=gradebook.shown(url)
                )
            )
        with Session(engine) as session:
            scores = _query(session, assignments)
    except DBAPIError as error:
        what = gradebook.diagnose(make_url(url), error)
        raise CourseError(f"gradebook {gradebook.shown(url)}: {what}") from None
    finally:
        engine.dispose()
    missing = sorted(set(assignments or []) - set(scores.assignments()))
    if missing:
        raise CourseError(
            _("no graded submissions of {missing} in the gradebook {url}").format(
                missing=", ".join(missing), url=gradebook.shown(url)
            )
        )
    if not scores.cells:
        raise CourseError(
            _("no graded submissions in the gradebook {url}").format(
                url=gradebook.shown(url)
            )
        )
    return scores


def _query(session: Session, assignments: list[str] | None) -> Scores:
    scores = Scores()
    rows = (
        session.query(
            Student.id,
            Assignment.name,
            Notebook.name,
            GradeCell.name,
            Grade.score,
            GradeCell.max_score,
        )
        .select_from(Grade)
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(
            SubmittedAssignment,
            SubmittedNotebook.assignment_id == SubmittedAssignment.id,
        )
        .join(Student, SubmittedAssignment.student_id == Student.id)
        .join(GradeCell, Grade.cell_id == GradeCell.id)
        .join(Notebook, GradeCell.notebook_id == Notebook.id)
        .join(Assignment, Notebook.assignment_id == Assignment.id)
    )
    if assignments:
        rows = rows.filter(Assignment.name.in_(assignments))
    for student, assignment, notebook, cell, score, max_score in rows:
        key = (student, assignment, notebook)
        scores.cells.setdefault(key, {})[cell] = (float(score or 0), float(max_score))
    for student, first, last in session.query(
        Student.id, Student.first_name, Student.last_name
    ):
        scores.names[student] = " ".join(p for p in (first, last) if p)
    answers = (
        session.query(
            Assignment.name, Notebook.name, SourceCell.name, SourceCell.source
        )
        .select_from(SourceCell)
        .join(Notebook, SourceCell.notebook_id == Notebook.id)
        .join(Assignment, Notebook.assignment_id == Assignment.id)
        .join(
            SolutionCell,
            (SolutionCell.name == SourceCell.name)
            & (SolutionCell.notebook_id == SourceCell.notebook_id),
        )
    )
    for assignment, notebook, cell, source in answers:
        scores.stubs.setdefault((assignment, notebook), {})[cell] = source or ""
    return scores
