"""What a learner's autograded notebook says: each graded cell's errors, each answer
as written (and the shape of its code, `similar.shape`), and what the grader
refused or bounded (`autograder.grading.incidents`, as `lstm-course grade` lists
it).

Read as plain JSON: nbformat's validation costs more than the reading, and a
report reads a whole class's notebooks, in parallel where the system can fork. A
file that is not a notebook gives one line, as `autograder.notebooks.read` words
it, in place of its `Graded`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from autograder import i18n, notebooks
from autograder.errors import CourseError
from autograder.grading import incidents
from autograder.i18n import _
from autograder.report import similar

CHUNK = 16  # notebooks per task of a worker


@dataclass
class Graded:
    edition: str  # the notebook's language ("en", "ko")
    # graded test cell -> its error and stderr outputs (what says why it failed)
    outputs: dict[str, list[dict]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # answer cell -> source
    # answer cell -> the shape of its code (answers with a def, class or loop)
    shapes: dict[str, similar.Shape | None] = field(default_factory=dict)
    incidents: list[incidents.Incident] = field(default_factory=list)


def path_of(workdir: Path, student: str, assignment: str, notebook: str) -> Path:
    """Where nbgrader (and `lstm-course grade`) put an autograded notebook."""
    return Path(workdir) / "autograded" / student / assignment / f"{notebook}.ipynb"


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _telling(output: dict) -> bool:
    return output.get("output_type") == "error" or output.get("name") == "stderr"


def _cells(nb: dict) -> Graded:
    graded = Graded(i18n.notebook_language(nb) or i18n.SOURCE)
    for cell in nb["cells"]:
        meta = notebooks.nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if not isinstance(grade_id, str):
            continue
        if notebooks.is_answer(cell) and grade_id not in graded.answers:
            graded.answers[grade_id] = _source(cell)
            if similar.LOOKS_LIKE_CODE.search(graded.answers[grade_id]):
                graded.shapes[grade_id] = similar.shape(graded.answers[grade_id])
        elif meta.get("grade") and grade_id not in graded.outputs:
            outputs = cell.get("outputs", [])
            graded.outputs[grade_id] = [o for o in outputs if _telling(o)]
    # `incidents.of_notebook` reads attributes: a shallow NotebookNode is enough.
    shallow = NotebookNode(
        metadata=NotebookNode(nb.get("metadata", {})),
        cells=[NotebookNode(cell) for cell in nb["cells"]],
    )
    graded.incidents = incidents.of_notebook(shallow)
    return graded


def read(path: Path) -> Graded:
    """The graded notebook at `path`; `CourseError` (one line) if it is not one."""
    try:
        nb = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise CourseError(_("{path}: no such notebook").format(path=path)) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise CourseError(
            _("{path}: not a notebook (corrupt JSON: {error})").format(
                path=path, error=error
            )
        ) from None
    try:
        return _cells(nb)
    except (KeyError, AttributeError, TypeError) as error:
        raise CourseError(
            _("{path}: not a readable notebook ({error})").format(
                path=path, error=error
            )
        ) from None


def _read_or_say(path: Path) -> Graded | str:
    try:
        return read(path)
    except CourseError as error:
        return str(error)


def read_all(paths: list[Path], jobs: int | None = None) -> list[Graded | str]:
    """Each notebook of `paths` read (or why not), in order, on `jobs` processes
    (default: the cores) when the system forks; one process otherwise."""
    jobs = jobs or os.cpu_count() or 1
    methods = multiprocessing.get_all_start_methods()
    if jobs < 2 or len(paths) < 2 * CHUNK or "fork" not in methods:
        return [_read_or_say(path) for path in paths]
    # forked workers start with everything imported; they only read files
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return pool.map(_read_or_say, paths, chunksize=CHUNK)
