"""Points in one place: the test cells' `nbgrader.points`.

Every master states its points once, in a block of its first markdown cell that
`lstm-course release` writes from the test cells' metadata:

    <!-- points: written by `lstm-course release` from the cells' metadata -->
    | exercise | grade_id | points (visible + hidden) |
    |---|---|---|
    | Predict shapes | `shapes-stacked` | 1 + 2 |

    Total: 3 points.
    <!-- /points -->

(the exercise titles are prose and kept; the numbers are rewritten), and the
README's course map gets each master's total the same way. So changing a test's
points is one edit of its metadata, then `lstm-course release`.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import i18n, notebooks
from autograder.i18n import _

BEGIN = "<!-- points: written by `lstm-course release` from the cells' metadata -->"
END = "<!-- /points -->"
BLOCK = re.compile(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), re.DOTALL)
ROW = re.compile(r"^\| (.*?) \| `([\w-]+)` \|", re.MULTILINE)
# A course-map row: | `id` | what you learn | points | time |
MAP_ROW = re.compile(r"^(\| `(\d\d_\w+)` \|[^\n]*?\| )(\d+)( \|[^|\n]*\|)$", re.M)


def per_exercise(master: NotebookNode) -> dict[str, tuple[int, int]]:
    """Exercise grade_id -> (visible points, hidden points), in notebook order."""
    owner = notebooks.exercises(master)
    points: dict[str, tuple[int, int]] = {}
    for cell in master.cells:
        meta = notebooks.nbgrader_meta(cell)
        if notebooks.is_answer(cell):
            points.setdefault(meta["grade_id"], (0, 0))
        if not meta.get("grade"):
            continue
        exercise = owner[meta["grade_id"]]
        visible, hidden = points.get(exercise, (0, 0))
        value = _number(meta.get("points", 0))
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden += value
        else:
            visible += value
        points[exercise] = (visible, hidden)
    return points


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def total(master: NotebookNode) -> int | float:
    return _number(sum(v + h for v, h in per_exercise(master).values()))


def block(master: NotebookNode, old: str = "") -> str:
    """The points block's body for `master`, keeping the titles of `old`'s rows."""
    titles = dict((grade_id, title) for title, grade_id in ROW.findall(old))
    rows = [
        f"| {titles.get(grade_id, grade_id)} | `{grade_id}` | {v} + {h} |"
        for grade_id, (v, h) in per_exercise(master).items()
    ]
    columns = (_("exercise"), "grade_id", _("points (visible + hidden)"))
    header = ["| " + " | ".join(columns) + " |", "|---|---|---|"]
    ending = _("Total: {points} points.").format(points=total(master))
    return "\n".join([*header, *rows, "", ending, ""])


def has_block(master: NotebookNode) -> bool:
    cell = next((c for c in master.cells if c.cell_type == "markdown"), None)
    return cell is not None and BLOCK.search(cell.source) is not None


def updated_master(master: NotebookNode) -> NotebookNode | None:
    """`master` with its points block rewritten, or None if it is up to date or has
    no block (tests/test_readme.py requires one in every course master)."""
    nb = nbformat.from_dict(master)
    cell = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    found = BLOCK.search(cell.source) if cell is not None else None
    if not found:
        return None
    body = block(nb, found.group(1))
    if body == found.group(1):
        return None
    start, end = found.span(1)
    cell.source = cell.source[:start] + body + cell.source[end:]
    return nb


def updated_readme(text: str, totals: dict[str, int | float]) -> str:
    """The README with each course-map row's points set to its master's total."""

    def row(match: re.Match) -> str:
        points = totals.get(match.group(2), match.group(3))
        return f"{match.group(1)}{points}{match.group(4)}"

    return MAP_ROW.sub(row, text)


def write(
    ids: list[str], masters: Path, readmes: list[Path], check: bool
) -> list[Path]:
    """Rewrite (or with `check`, only find) the stale points of `ids`' masters and of
    the course maps in `readmes`; return the files that were stale."""
    stale, totals = [], {}
    for assignment in ids:
        path = Path(masters) / assignment / f"{assignment}.ipynb"
        nb = notebooks.read(path)
        with i18n.use(i18n.SOURCE):  # the masters are English whatever the locale
            new = updated_master(nb)
        totals[assignment] = total(nb)
        if new is not None:
            stale.append(path)
            if not check:
                nbformat.write(new, path)
    for readme in (r for r in readmes if r.is_file()):
        text = readme.read_text()
        new_text = updated_readme(text, totals)
        if new_text != text:
            stale.append(readme)
            if not check:
                readme.write_text(new_text)
    return stale
