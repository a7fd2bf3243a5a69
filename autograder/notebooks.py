"""Reading notebooks safely and telling which assignment and exercise a cell is."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.errors import CourseError
from autograder.i18n import _


def read(path: Path) -> NotebookNode:
    """The notebook at `path`, or a one-line `CourseError` saying why it cannot be."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(_("{path}: no such notebook").format(path=path))
    try:
        return nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CourseError(
            _("{path}: not a notebook (corrupt JSON: {error})").format(
                path=path, error=error
            )
        ) from None
    except Exception as error:  # nbformat raises many kinds for a broken file
        raise CourseError(
            _("{path}: not a readable notebook ({error})").format(
                path=path, error=error
            )
        ) from None


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_ids(nb: NotebookNode) -> list[str]:
    return [m["grade_id"] for c in nb.cells if (m := nbgrader_meta(c)).get("grade_id")]


def is_answer(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution")) and not meta.get("grade")


def exercises(nb: NotebookNode) -> dict[str, str]:
    """Each graded cell's exercise: the grade_id of the nearest answer cell above it."""
    owner, current = {}, ""
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if is_answer(cell):
            current = meta["grade_id"]
        elif meta.get("grade"):
            owner[meta["grade_id"]] = current or meta["grade_id"]
    return owner


def recognise(path: Path, nb: NotebookNode, masters: dict[str, NotebookNode]) -> str:
    """The assignment a learner's notebook belongs to, from its cells' grade ids, or
    its file name when the ids were stripped."""
    ids = set(grade_ids(nb))
    overlap = {a: len(ids & set(grade_ids(m))) for a, m in masters.items()}
    best = max(overlap, key=overlap.get, default=None)
    if best is not None and overlap[best] > 0:
        return best
    if path.stem in masters:
        return path.stem
    known = ", ".join(masters) or _("none")
    raise CourseError(
        _(
            "{path}: not a notebook of this course (no known exercise in it; "
            "assignments: {known})"
        ).format(path=path, known=known)
    )
