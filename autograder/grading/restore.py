"""nbgrader's OverwriteCells, made to survive what learners do to notebooks.

With `add_missing_cells` on, stock nbgrader 0.9.6 crashes the whole submission
(KeyError) when a copy-pasted cell was de-duplicated, when a cell's grade id is
unknown, or when the cell before a deleted test cell is missing too. `RestoreCells`
drops such stale metadata, and puts each missing test cell back after the nearest
cell of the master that is still there.

A notebook none of whose graded cells belongs to the assignment is another
assignment's notebook: grading it would only score the restored test cells against
nothing. Like stock nbgrader, `RestoreCells` then fails that submission loudly
(`ForeignNotebook`, one line naming both); `lstm-course check` and `grade` recognise
the assignment before grading and never get here.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import OverwriteCells

from autograder.i18n import _


class ForeignNotebook(ValueError):
    """The submitted notebook holds no graded cell of the assignment it is graded as."""


def positions(nb: NotebookNode) -> dict[str, int]:
    return {
        cell.metadata["nbgrader"]["grade_id"]: index
        for index, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


class RestoreCells(OverwriteCells):
    """`OverwriteCells` that restores deleted test cells without crashing, and
    refuses another assignment's notebook."""

    def preprocess(self, nb: NotebookNode, resources):
        refuse_foreign(nb, resources["nbgrader"])
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        cell, resources = super().preprocess_cell(cell, resources, index)
        meta = cell.get("metadata", {})
        if "nbgrader" in meta and not meta["nbgrader"].get("grade_id"):
            del meta["nbgrader"]  # a duplicate or an unknown cell: now a plain cell
        return cell, resources

    def add_missing_grade_cells(self, nb: NotebookNode, resources):
        master = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in master.source_cells]
        solutions = {cell.name for cell in master.solution_cells}
        for graded in sorted(
            master.grade_cells, key=lambda cell: order.index(cell.name)
        ):
            present = positions(nb)
            if graded.name in present:
                continue
            self.log.warning("Missing grade cell %s: adding it back", graded.name)
            earlier = order[: order.index(graded.name)]
            anchor = next((present[n] for n in reversed(earlier) if n in present), -1)
            source = master.source_cells[order.index(graded.name)]
            restored = self.missing_cell_transform(
                source, graded.max_score, is_solution=graded.name in solutions
            )
            nb.cells.insert(anchor + 1, restored)
        return nb, resources

    def add_missing_task_cells(self, nb: NotebookNode, resources):
        master = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in master.source_cells]
        present = positions(nb)
        for task in master.task_cells:
            if task.name not in present:
                source = master.source_cells[order.index(task.name)]
                nb.cells.append(
                    self.missing_cell_transform(source, task.max_score, is_task=True)
                )
        return nb, resources


def refuse_foreign(nb: NotebookNode, where: dict) -> None:
    """Raise `ForeignNotebook` when `nb` has graded cells and none is the master's.
    (A notebook with no graded cell at all is this assignment's, stripped: its test
    cells are restored and it scores what it earns.)"""
    ids = set(positions(nb))
    if not ids:
        return
    with Gradebook(where["db_url"]) as gradebook:
        master = gradebook.find_notebook(where["notebook"], where["assignment"])
        known = {cell.name for cell in master.source_cells}
    if not ids & known:
        raise ForeignNotebook(
            _(
                "{notebook}.ipynb is not a notebook of {assignment}: none of its "
                "{count} graded cells is one of the assignment's (it looks like "
                "another assignment's notebook); grade it as its own"
            ).format(
                notebook=where["notebook"],
                assignment=where["assignment"],
                count=len(ids),
            )
        )
