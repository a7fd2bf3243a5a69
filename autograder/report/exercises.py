"""The exercises of an assignment, from its master: each answer cell and the graded
test cells below it (visible and hidden), and the master's answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder import notebooks
from autograder.grading.feedback import is_hidden_test
from autograder.report.similar import solution_of


@dataclass
class Exercise:
    name: str  # its answer cell's grade_id (a test cell's own, without one)
    cells: list[str] = field(default_factory=list)  # graded test cells, in order
    hidden: set[str] = field(default_factory=set)  # those of the hidden tests
    solution: str = ""  # the master's answer


def of_master(master) -> list[Exercise]:
    """Every exercise with a graded test cell, in the notebook's order."""
    owner = notebooks.exercises(master)
    found: dict[str, Exercise] = {}
    answers = {}
    for cell in master.cells:
        meta = notebooks.nbgrader_meta(cell)
        if notebooks.is_answer(cell):
            answers[meta["grade_id"]] = solution_of(cell.source)
        elif meta.get("grade") and meta.get("grade_id") in owner:
            grade_id = meta["grade_id"]
            exercise = found.setdefault(owner[grade_id], Exercise(owner[grade_id]))
            exercise.cells.append(grade_id)
            if is_hidden_test(cell):
                exercise.hidden.add(grade_id)
    for exercise in found.values():
        exercise.solution = answers.get(exercise.name, "")
    return list(found.values())


def of_assignment(masters: Path, assignment: str, notebook: str) -> list[Exercise]:
    """The exercises of `notebook` of `assignment`, from its master in `masters`;
    `CourseError` when there is none."""
    return of_master(notebooks.read(Path(masters) / assignment / f"{notebook}.ipynb"))


def cell_by_cell(grade_ids: list[str]) -> list[Exercise]:
    """Without a master: each graded cell an exercise of its own."""
    return [Exercise(grade_id, [grade_id]) for grade_id in sorted(grade_ids)]
