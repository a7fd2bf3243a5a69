"""Proof that every master is right: it earns full marks and its release zero.

Both are graded by a real nbgrader autograde; the graded master (every output and
figure) is kept for instructors in the git-ignored `solutions_executed/`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder import notebooks, settings
from autograder.grading import course, feedback


@dataclass
class Proof:
    assignment: str
    master: tuple[float, float]
    release: tuple[float, float]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def total(cells: list[course.GradedCell]) -> tuple[float, float]:
    return sum(c.score for c in cells), sum(c.max_score for c in cells)


def prove(
    assignment: str,
    temp: course.TempCourse,
    executed: Path,
) -> Proof:
    master_nb = temp.masters / assignment / f"{assignment}.ipynb"
    release_nb = temp.release(assignment)
    problems = []
    for student, notebook in (("master", master_nb), ("release", release_nb)):
        temp.submit(student, assignment, notebook)
        failed = temp.autograde(student, assignment)
        if failed:
            problems.append(f"{student}: {failed}")
    master, release = (
        temp.grades("master", assignment),
        temp.grades("release", assignment),
    )
    graded = temp.autograded("master", assignment)
    lines = {}
    if graded.is_file():
        lines = {
            notebooks.nbgrader_meta(c).get("grade_id"): feedback.cell_feedback(c)
            for c in notebooks.read(graded).cells
        }
        shutil.rmtree(executed / assignment, ignore_errors=True)
        shutil.copytree(graded.parent, executed / assignment)
    problems += [
        f"master loses {c.max_score - c.score:g} on {c.grade_id}: "
        f"{lines.get(c.grade_id)}"
        for c in master
        if c.score < c.max_score
    ]
    problems += [
        f"the release earns {c.score:g} on {c.grade_id} without an answer"
        for c in release
        if c.score
    ]
    return Proof(assignment, total(master), total(release), problems)


def solutions(
    ids: list[str],
    masters: Path = course.MASTERS,
    executed: Path = course.ROOT / "solutions_executed",
    timeout: int = settings.DEFAULT_TIMEOUT,
) -> list[Proof]:
    with course.TempCourse(masters, timeout) as temp:
        return [prove(assignment, temp, Path(executed)) for assignment in ids]
