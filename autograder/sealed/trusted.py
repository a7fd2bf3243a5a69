"""Graded test cells, run in the grading process against the learner's kernel.

During autograding a test cell's source comes from the gradebook (nbgrader puts
the instructor's version back), and it runs here: its checks, `lstm_ref` and
torch are the grader's own, and the names it takes from the notebook resolve,
through `autograder.sealed.remote`, to the learner's values and functions. The names the
master binds by `import` (`checks`, `torch`, …) are the grader's: a learner who
rebinds them changes nothing. The cell fails (an error output, so nbgrader gives it
no points) when a check raises; it passes when it runs to the end.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any

import torch
from nbformat import NotebookNode
from nbformat.v4 import new_output

from autograder import notebooks
from autograder.checks.core import CheckFailed
from autograder.errors import CourseError
from autograder.i18n import _
from autograder.sealed import agent, remote, screen


def master_imports(master: NotebookNode) -> str:
    """Every top-level import of the master's given and test cells: the names it
    binds (torch, the checks…) are the grader's own, never the learner's."""
    lines = [
        ast.unparse(node)
        for cell in master.cells
        if cell.cell_type == "code" and not notebooks.is_answer(cell)
        for node in imports(cell.source)
    ]
    return "\n".join(dict.fromkeys(lines))


def grader_tools(master: NotebookNode, folder: Path | None) -> dict:
    """The master's imports, run here (its own folder importable, as in a kernel
    started there). One that fails stops grading: its name must never fall back
    to whatever the learner's notebook calls by it."""
    tools: dict = {"__builtins__": builtins}
    code = master_imports(master)
    sys.path.insert(0, str(folder or "."))
    try:
        exec(compile(code, "<the master's imports>", "exec"), tools)
    except Exception as error:
        raise CourseError(
            f"the master's imports fail in the grader ({type(error).__name__}: "
            f"{error}); grading needs them"
        ) from None
    finally:
        sys.path.remove(str(folder or "."))
    return tools


def imports(source: str) -> list[ast.stmt]:
    try:
        tree = ast.parse(
            "\n".join(line for line in source.splitlines() if line[:1] not in "%!")
        )
    except SyntaxError:
        return []
    return [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


def forbidden(tools: dict) -> dict[str, list[str]]:
    """What each exercise must not call: the `FORBIDDEN` tables of the check
    modules the master imports (see autograder/checks/)."""
    table: dict[str, list[str]] = {}
    for module in tools.values():
        if isinstance(module, types.ModuleType) and module.__name__.startswith(
            "autograder.checks."
        ):
            for exercise, names in getattr(module, "FORBIDDEN", {}).items():
                table.setdefault(exercise, []).extend(names)
    return table


class Namespace(dict):
    """A test cell's names: its own, then the grader's (imports, builtins), then
    the learner's, looked up in the kernel (`exec` reads unknown names here)."""

    def __init__(self, tools: dict, link: remote.Link):
        super().__init__()
        self.tools = tools
        self.link = link
        self.fetched: set[str] = set()

    def __missing__(self, name: str) -> Any:
        if name in self.tools or hasattr(builtins, name):
            raise KeyError(name)  # exec then reads the grader's globals / builtins
        value = self.link.lookup(name)
        self[name] = value
        self.fetched.add(name)
        return value

    def assigned(self) -> dict:
        """What the cell itself bound (kept for the test cells below)."""
        return {k: v for k, v in self.items() if k not in self.fetched}


@contextlib.contextmanager
def learner_state(link: remote.Link):
    """Run with the kernel's random state, default dtype and grad mode, and hand
    the state back to it afterwards, as if the cell had run there; the grading
    process's own state is restored."""
    saved = (torch.get_rng_state(), torch.get_default_dtype(), torch.is_grad_enabled())
    state = link.ask("state")
    torch.set_rng_state(state["rng"])
    if state["dtype"] in (torch.float32, torch.float64):
        torch.set_default_dtype(state["dtype"])
    try:
        with torch.set_grad_enabled(bool(state["grad"])):
            yield
        link.request(
            "set_state", rng=torch.get_rng_state(), dtype=torch.get_default_dtype()
        )
    finally:
        torch.set_rng_state(saved[0])
        torch.set_default_dtype(saved[1])
        torch.set_grad_enabled(saved[2])


def not_answered(name: str) -> str:
    return _(
        "not answered yet: `{name}` is not defined. Write the answer cell that "
        "defines it above this test and run it without errors."
    ).format(name=name)


def error_output(error: BaseException) -> NotebookNode:
    """The cell's error, as the learner should read it: one line, no traceback
    through the grader's files."""
    if isinstance(error, remote.NotDefined):
        name, message = "NotAnswered", not_answered(str(error.args[0]))
    elif type(error) is NotImplementedError:
        name = "NotAnswered"
        message = _(
            "not answered yet: replace `raise NotImplementedError()` with yours"
        )
    elif isinstance(error, remote.KernelTimeout):
        name, message = "CellTimeoutError", str(error)
    elif isinstance(error, CheckFailed):  # its subclasses read the same to a learner
        name, message = "CheckFailed", str(error)
    else:
        name, message = type(error).__name__, str(error)
    traceback = [f"{name}: {message}"]
    return new_output("error", ename=name, evalue=message, traceback=traceback)


def incident(cell: str, kind: str, reason: str) -> dict:
    """What the instructor is told of a cell: `kind` is "refused" (the rule) or
    "tampered" (with the grader's watch or its helper in the kernel)."""
    return {"cell": cell, "kind": kind, "reason": reason}


def refusal_incident(refusal: screen.Refusal) -> dict:
    kind = "tampered" if refusal.tampering else "refused"
    where = f"{refusal.cell}, line {refusal.line}"
    return incident(where, kind, f"`{refusal.construct}`: {refusal.reason}")


class TrustedTests:
    """Runs one notebook's graded test cells here, in the order they come."""

    def __init__(self, master: NotebookNode, folder: Path | None = None):
        self.master = master
        self.tools = grader_tools(master, folder)
        self.owner = notebooks.exercises(master)
        self.forbid = forbidden(self.tools)
        self.names: dict = {}  # what earlier test cells assigned
        self.refused: list[screen.Refusal] = []  # see `read`
        self.incidents: list[dict] = []  # see `incident`

    @staticmethod
    def import_lines(source: str) -> str:
        """A test cell's top-level imports, to run in the learner's kernel too."""
        return "\n".join(ast.unparse(node) for node in imports(source))

    def read(self, nb: NotebookNode) -> None:
        """Read the learner's code before it runs (autograder.sealed.screen): while
        it holds a refused construct, every exercise whose answer must not call
        what it implements fails with one message: the first construct that
        reaches into the grader's watch, else the first one."""
        found = screen.refusals(nb, self.master)
        self.refused = sorted(found, key=lambda refusal: not refusal.tampering)
        if any(self.forbid.values()):  # else a refusal costs nothing: not told
            self.incidents += [refusal_incident(r) for r in self.refused]

    def run(self, cell: NotebookNode, link: remote.Link, timeout: float) -> None:
        """Run `cell`; its outputs say how it went. `remote.KernelGone` passes."""
        grade_id = notebooks.nbgrader_meta(cell)["grade_id"]
        link.forbid = self.forbid.get(self.owner.get(grade_id, grade_id), [])
        link.deadline = time.monotonic() + timeout
        scope = Namespace(self.tools, link)
        scope.update(self.names)
        printed = io.StringIO()
        cell.outputs = []
        if self.refused and link.forbid:
            refusal = remote.Forbidden(self.refused[0].message())
            cell.outputs.append(error_output(refusal))
            return
        try:
            code = compile(cell.source, f"<{grade_id}>", "exec")
            with (
                learner_state(link),
                contextlib.redirect_stdout(printed),
                contextlib.redirect_stderr(io.StringIO()),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                exec(code, self.tools, scope)
        except remote.KernelGone:
            raise
        except (CheckFailed, Exception) as error:  # noqa: BLE001 - any failure fails
            failure = error
            self.note(grade_id, error)
        else:
            failure = None
        finally:
            self.names.update(scope.assigned())
            link.deadline = time.monotonic() + 10
            with contextlib.suppress(Exception):
                link.forget()
        if printed.getvalue():
            cell.outputs.append(
                new_output("stream", name="stdout", text=printed.getvalue())
            )
        if failure is not None:
            cell.outputs.append(error_output(failure))

    def note(self, grade_id: str, error: BaseException) -> None:
        """An incident, when the cell failed on the rule or on a broken helper."""
        if isinstance(error, remote.Forbidden) and error.name:
            kind = "tampered" if error.name in agent.TAMPERING else "refused"
            self.incidents.append(incident(grade_id, kind, f"calls {error.name}"))
        elif isinstance(error, remote.HelperBroken):
            self.incidents.append(incident(grade_id, "tampered", str(error)))
