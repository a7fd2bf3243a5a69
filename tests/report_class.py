"""A graded class assembled from submissions already graded, for `lstm-course
report`'s tests and benchmark.

Grading is the slow part and a report only reads a gradebook and autograded
notebooks. So a class is put together from graded batches (tests/grading/
batches.py): each of its students takes, for each assignment, one submission
graded there. Its autograded notebook is copied into the class's course folder,
and its grades are written into the class's gradebook through nbgrader's
`Gradebook` API, as `lstm-course grade` merges a worker's grades.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.grading import course


@dataclass(frozen=True)
class Source:
    """A graded submission: `student`'s notebook of `assignment` in the course
    folder `workdir` (its autograded/ and gradebook.db)."""

    workdir: Path
    student: str
    assignment: str

    @property
    def autograded(self) -> Path:
        return self.workdir / "autograded" / self.student / self.assignment

    def scores(self) -> dict[str, tuple[float, float]]:
        return scores_in(self.workdir, self.student, self.assignment)


@functools.cache
def scores_in(workdir: Path, student: str, assignment: str) -> dict:
    """grade_id -> (score, max_score) of a submission, from its gradebook."""
    with Gradebook(gradebook_of(workdir), course.COURSE_ID) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades}


def gradebook_of(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'gradebook.db'}"


def copy_assignments(source_url: str, target_url: str, names: list[str]) -> None:
    """The assignments `names` of one gradebook (notebooks, graded, answer and
    source cells) made in another, as `nbgrader generate_assignment` makes them."""
    with (
        Gradebook(source_url, course.COURSE_ID) as source,
        Gradebook(target_url, course.COURSE_ID) as target,
    ):
        for name in names:
            target.update_or_create_assignment(name)
            for nb in source.find_assignment(name).notebooks:
                target.update_or_create_notebook(nb.name, name)
                for cell in nb.grade_cells:
                    target.update_or_create_grade_cell(
                        cell.name,
                        nb.name,
                        name,
                        max_score=cell.max_score,
                        cell_type=cell.cell_type,
                    )
                for cell in nb.solution_cells:
                    target.update_or_create_solution_cell(cell.name, nb.name, name)
                for cell in nb.source_cells:
                    target.update_or_create_source_cell(
                        cell.name,
                        nb.name,
                        name,
                        cell_type=cell.cell_type,
                        locked=cell.locked,
                        source=cell.source,
                        checksum=cell.checksum,
                    )


def enrol(
    url: str, workdir: Path, plan: dict[str, dict[str, Source]], copy: bool = True
) -> None:
    """Each student of `plan` submits, for each assignment, its graded source:
    grades into the gradebook at `url`, the autograded notebook into `workdir`
    (unless not `copy`: the notebooks are there already)."""
    with Gradebook(url, course.COURSE_ID) as gb:
        for student, taken in plan.items():
            gb.update_or_create_student(student)
            for assignment, source in taken.items():
                scores = source.scores()
                submission = gb.update_or_create_submission(assignment, student)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grade.auto_score = scores[grade.name][0]
                        grade.needs_manual_grade = False
                gb.db.commit()
                if copy:
                    target = workdir / "autograded" / student / assignment
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(source.autograded, target)
