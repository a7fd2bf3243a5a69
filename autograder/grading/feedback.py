"""What a learner sees of a graded notebook: feedback lines and the feedback page.

nbgrader puts hidden tests back before grading, and its feedback page shows every
cell's source and full tracebacks (nbgrader #917, #1363). `HideHiddenTests`
replaces a hidden test cell's source with a note and cuts every traceback down to
one line (a failed check's message, whole: every problem it lists), so the page
says what went wrong without giving the tests away.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.i18n import N_, _

HIDDEN_MARK = "### BEGIN HIDDEN TESTS"
HIDDEN_NOTE = N_("# Hidden tests: other sizes and seeds. Their source is not shown.")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def is_hidden_test(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and (
        HIDDEN_MARK in cell.source or str(meta.get("grade_id", "")).endswith("-hidden")
    )


def _first_line(text: str) -> str:
    lines = ANSI.sub("", str(text)).strip().splitlines()
    return lines[0] if lines else ""


def error_line(output: NotebookNode, whole: bool = False) -> str:
    """One line for an error output: the check's message, or `Name: message`; with
    `whole`, a check's message whole (one that lists several problems has a line
    for each, and its mistake id at the end)."""
    first = _first_line(output.get("evalue", ""))
    if output.get("ename") in ("CheckFailed", "KernelDied"):
        if whole:
            return ANSI.sub("", str(output.get("evalue", ""))).strip()
        return first
    if output.get("ename") == "NotImplementedError":
        return _("not answered yet (NotImplementedError)")
    if output.get("ename") == "CellTimeoutError":
        return _("stopped: the cell ran longer than the time limit (an endless loop?)")
    return f"{output.get('ename')}: {first}" if first else str(output.get("ename"))


def cell_feedback(cell: NotebookNode, whole: bool = False) -> str:
    """The first line of what a graded cell printed: its error (with `whole`, a
    check's message whole: `error_line`), or its confirmation."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return error_line(output, whole)
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            return _("wrote to stderr: {line}").format(line=_first_line(output.text))
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.text.strip():
            return _first_line(output.text)
    return _("passed")


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback step: hide hidden tests' source and trim tracebacks to one line."""

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        if is_hidden_test(cell):
            cell.source = _(HIDDEN_NOTE)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                said = (
                    error_line(output, whole=True)
                    if output.ename == "CheckFailed"
                    else _first_line(output.evalue)
                )
                output.traceback = [f"{output.ename}: {said}"]
        return cell, resources
