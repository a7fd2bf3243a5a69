"""Building graded submissions for the tests: filled releases and known mistakes.

A "filled" notebook is a release whose answer cells hold the master's solutions
(markers removed): what a learner who got everything right submits. A mistake
notebook is a filled one with one catalogued `old` -> `new` replacement applied in
one exercise's answer cell.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import notebooks

SOLUTION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


@dataclass(frozen=True)
class Mistake:
    assignment: str
    exercise: str
    name: str
    old: str
    new: str
    feedback: str
    mistake: str = ""  # the id its diagnosis carries, `<exercise>/<mistake>`

    @property
    def student(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:40]
        return f"mistake-{self.exercise}-{slug}"


def catalog(path: Path, assignment: str) -> list[Mistake]:
    if not path.is_file():
        return []
    with path.open("rb") as f:
        entries = tomllib.load(f).get("mistake", [])
    return [Mistake(assignment, **entry) for entry in entries]


def solution_sources(master: NotebookNode) -> dict[str, str]:
    """grade_id -> the master's answer, without the solution markers."""
    return {
        notebooks.nbgrader_meta(c)["grade_id"]: SOLUTION.sub("", c.source)
        for c in master.cells
        if notebooks.is_answer(c)
    }


def fill(release: NotebookNode, master: NotebookNode) -> NotebookNode:
    nb = nbformat.from_dict(release)
    answers = solution_sources(master)
    for cell in nb.cells:
        grade_id = notebooks.nbgrader_meta(cell).get("grade_id")
        if notebooks.is_answer(cell) and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def answer_cell(nb: NotebookNode, exercise: str) -> NotebookNode:
    for cell in nb.cells:
        if notebooks.nbgrader_meta(cell).get("grade_id") == exercise:
            return cell
    raise KeyError(f"no answer cell {exercise!r}")


def apply(filled: NotebookNode, mistake: Mistake) -> NotebookNode:
    nb = nbformat.from_dict(filled)
    cell = answer_cell(nb, mistake.exercise)
    count = cell.source.count(mistake.old)
    if count != 1:
        raise ValueError(
            f"{mistake.assignment}/{mistake.name}: `old` occurs {count} times in "
            f"{mistake.exercise}'s answer, expected exactly once"
        )
    cell.source = cell.source.replace(mistake.old, mistake.new)
    return nb


def write(nb: NotebookNode, folder: Path, student: str, assignment: str) -> Path:
    path = folder / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def rounds(mistakes: list[Mistake]) -> list[list[Mistake]]:
    """Mistakes packed for speed: round r holds the r-th mistake of every exercise,
    so one notebook grades one mistake per exercise."""
    by_exercise: dict[str, list[Mistake]] = {}
    for mistake in mistakes:
        by_exercise.setdefault(mistake.exercise, []).append(mistake)
    depth = max((len(group) for group in by_exercise.values()), default=0)
    return [[g[r] for g in by_exercise.values() if r < len(g)] for r in range(depth)]


def apply_all(filled: NotebookNode, mistakes: list[Mistake]) -> NotebookNode:
    nb = filled
    for mistake in mistakes:
        nb = apply(nb, mistake)
    return nb


HIDDEN = r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1"


def secret_lines(master: NotebookNode, kinds: tuple[str, ...]) -> list[str]:
    """Telling lines (16+ characters, not comments) that the master has only inside
    its `### BEGIN <kind>` parts (SOLUTION, HIDDEN TESTS): text that must never
    reach a learner."""
    public = "\n".join(
        re.sub(HIDDEN, "", c.source, flags=re.DOTALL) for c in master.cells
    )
    return [
        line.strip()
        for c in master.cells
        for kind, part in re.findall(HIDDEN, c.source, flags=re.DOTALL)
        if kind in kinds
        for line in part.splitlines()
        if len(line.strip()) >= 16
        and not line.strip().startswith("#")
        and line.strip() not in public
    ]
