"""Run a master's own test cells in-process, against given answers (no kernel).

The in-process check tests (`tests/test_checks_*.py`) use this instead of re-encoding
the notebook's tests: `run` executes the master's code cells in notebook order in one
namespace, as a kernel would (the first code cell, which imports and seeds; every
given and answer cell; every test cell), with the master's solutions or other sources
in the answer cells, and records what each test cell printed and raised. nbgrader
itself grades the same notebooks in `tests/test_grading*.py`; this is the fast loop.

    results = inprocess.run("06_backprop_through_lstm")
    inprocess.assert_all_pass(results)
    inprocess.assert_caught(mistake)     # one catalogued mistake, its own exercise

Plain cells after the first (demonstrations, figures, training runs) are skipped
unless `plain=True`: test cells must not depend on them.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
import torch

from autograder import notebooks
from autograder.checks.core import MISTAKE_ID, CheckFailed
from grading import harness

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Cell:
    kind: str  # "setup", "plain", "given", "answer" or "test"
    grade_id: str | None
    source: str
    exercise: str | None  # the answer cell a test cell belongs to


@dataclass(frozen=True)
class Outcome:
    """What one test cell did."""

    exercise: str
    error: BaseException | None
    out: str
    err: str
    moved_rng: bool  # the global torch generator differs after the cell

    @property
    def message(self) -> str:
        """The first line of the failure: what nbgrader's feedback shows."""
        return str(self.error).splitlines()[0] if self.error else ""


def master(assignment: str, folder: str = "solutions") -> nbformat.NotebookNode:
    path = ROOT / folder / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4)


def mistakes(assignment: str) -> list[harness.Mistake]:
    path = ROOT / "tests" / "mistakes" / f"{assignment}.toml"
    return harness.catalog(path, assignment)


def solutions(assignment: str) -> dict[str, str]:
    """grade_id -> the master's answer, markers removed."""
    return harness.solution_sources(master(assignment))


def cells(assignment: str) -> list[Cell]:
    """The master's code cells, each with its kind and its exercise."""
    nb = master(assignment)
    owner = notebooks.exercises(nb)
    found, first = [], True
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = notebooks.nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if meta.get("grade"):
            kind = "test"
        elif notebooks.is_answer(cell):
            kind = "answer"
        elif grade_id:
            kind = "given"
        else:
            kind = "setup" if first else "plain"
        first = False
        found.append(Cell(kind, grade_id, cell.source, owner.get(grade_id)))
    return found


def is_hidden(cell: Cell) -> bool:
    """A hidden test cell: its body is wrapped in `### BEGIN HIDDEN TESTS`."""
    return cell.kind == "test" and "### BEGIN HIDDEN TESTS" in cell.source


def exercises(assignment: str) -> list[str]:
    """The grade ids of the answer cells, in notebook order."""
    return [c.grade_id for c in cells(assignment) if c.kind == "answer"]


def run(
    assignment: str,
    answers: dict[str, str] | None = None,
    *,
    only: set[str] | None = None,
    plain: bool = False,
    hidden: bool = True,
) -> dict[str, Outcome]:
    """Execute the master with `answers` (grade_id -> source; the master's solutions
    for the others) and return test grade_id -> Outcome. `only`: run just the test
    cells of these exercises. Errors in non-test cells propagate, except in answer
    cells, where nbgrader would also go on (the tests then fail), and, when `answers`
    are given, in the later cells that use them (a figure drawn with a wrong answer).
    `hidden=False`: skip the hidden test cells (what a learner runs)."""
    sources = {**solutions(assignment), **(answers or {})}
    scope: dict = {"__name__": "__main__"}
    results = {}
    tolerated = ("test", "answer") + (("given", "plain") if answers else ())
    with _fresh_kernel():
        for cell in cells(assignment):
            if cell.kind == "plain" and not plain:
                continue
            if cell.kind == "test" and only and cell.exercise not in only:
                continue
            if cell.kind == "test" and not hidden and is_hidden(cell):
                continue
            outcome = _execute(cell, sources, scope, tolerated)
            if cell.kind == "test":
                results[cell.grade_id] = outcome
    return results


def namespace(assignment: str, answers: dict[str, str] | None = None) -> dict:
    """The kernel's names after every cell but the tests (and plain cells) ran."""
    sources = {**solutions(assignment), **(answers or {})}
    scope: dict = {"__name__": "__main__"}
    for cell in cells(assignment):
        if cell.kind in ("setup", "given", "answer"):
            _execute(cell, sources, scope)
    return scope


def _execute(
    cell: Cell,
    sources: dict[str, str],
    scope: dict,
    tolerated: tuple[str, ...] = ("test", "answer"),
) -> Outcome:
    source = sources[cell.grade_id] if cell.kind == "answer" else cell.source
    out, err = io.StringIO(), io.StringIO()
    error, before = None, torch.random.get_rng_state()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = compile(source, f"<{cell.grade_id or cell.kind}>", "exec")
            exec(code, scope)  # noqa: S102 - the master's own cells
        except Exception as raised:  # noqa: BLE001 - recorded, as nbgrader does
            if cell.kind not in tolerated:
                raise
            error = raised
    moved = not torch.equal(before, torch.random.get_rng_state())
    return Outcome(cell.exercise, error, out.getvalue(), err.getvalue(), moved)


@contextlib.contextmanager
def _fresh_kernel():
    """torch's default dtype as a new kernel has it (the masters set float64), one
    torch thread (as grading kernels run: on a busy machine a thread pool per
    process is several times slower), and no figure left open afterwards."""
    import matplotlib.pyplot as plt

    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)
        plt.close("all")


def failed(results: dict[str, Outcome]) -> dict[str, Outcome]:
    return {k: v for k, v in results.items() if v.error is not None}


def assert_all_pass(results: dict[str, Outcome]) -> None:
    """Every test cell passed, printed only `✓` lines and nothing on stderr
    (nbgrader scores stderr as a failure)."""
    assert results, "no test cell ran"
    assert not failed(results), {k: repr(v.error) for k, v in failed(results).items()}
    for grade_id, outcome in results.items():
        lines = outcome.out.splitlines()
        assert lines and all(line.startswith("✓ ") for line in lines), (
            grade_id,
            outcome.out,
        )
        assert outcome.err == "", (grade_id, outcome.err)


def assert_rng_untouched(results: dict[str, Outcome]) -> None:
    """No test cell moved the learner's global random generator (checks seed a
    fork of it), so a learner's later cells draw what they would without the tests."""
    moved = [grade_id for grade_id, outcome in results.items() if outcome.moved_rng]
    assert not moved, f"these test cells moved the global RNG: {moved}"


def with_mistake(mistake: harness.Mistake) -> dict[str, str]:
    """The answers with one catalogued mistake applied to its exercise."""
    source = solutions(mistake.assignment)[mistake.exercise]
    count = source.count(mistake.old)
    assert count == 1, f"{mistake.name}: `old` occurs {count} times, expected once"
    return {mistake.exercise: source.replace(mistake.old, mistake.new)}


def assert_caught(mistake: harness.Mistake, *, isolated: bool = True) -> list[str]:
    """The mistake fails a test cell of its own exercise with CheckFailed whose first
    line holds its catalogued feedback and whose id is its catalogued `mistake` (every
    failure of the exercise carries an id of the exercise); with `isolated`, no other
    exercise's test fails (only the later ones can: earlier test cells run before the
    changed answer, so they are skipped). Returns the failure messages."""
    names = exercises(mistake.assignment)
    later = names[names.index(mistake.exercise) :]
    only = set(later) if isolated else {mistake.exercise}
    bad = failed(run(mistake.assignment, with_mistake(mistake), only=only))
    others = {k: v.message for k, v in bad.items() if v.exercise != mistake.exercise}
    assert not others, f"{mistake.name} also failed {others}"
    own = [v.error for v in bad.values()]
    assert own, f"no test of {mistake.exercise} caught {mistake.name!r}"
    assert all(isinstance(e, CheckFailed) for e in own), own
    messages = [v.message for v in bad.values()]
    assert any(mistake.feedback in m for m in messages), messages
    ids = [e.mistake for e in own]
    prefix = f"{mistake.exercise}/"
    assert all(MISTAKE_ID.fullmatch(i) and i.startswith(prefix) for i in ids), ids
    assert any(
        e.mistake == mistake.mistake and mistake.feedback in str(e).splitlines()[0]
        for e in own
    ), (mistake.name, mistake.mistake, messages)
    return messages


def assert_catalogued(assignment: str, at_least: int = 3) -> None:
    """Every exercise has `at_least` catalogued mistakes, and every mistake names an
    exercise of the master."""
    names = exercises(assignment)
    caught = [m.exercise for m in mistakes(assignment)]
    assert set(caught) <= set(names), set(caught) - set(names)
    counts = {e: caught.count(e) for e in names}
    assert all(n >= at_least for n in counts.values()), counts


def release_answers(assignment: str) -> dict[str, str]:
    """grade_id -> the release's answer cell: what a learner starts from."""
    nb = master(assignment, "notebooks")
    return {
        notebooks.nbgrader_meta(c)["grade_id"]: c.source
        for c in nb.cells
        if notebooks.is_answer(c)
    }


def assert_stubs_fail(assignment: str) -> dict[str, Outcome]:
    """The release's untouched answer cells fail every test cell, as "not done yet":
    NotImplementedError, a CheckFailed, or the NameError of a prediction never set
    (which the kernel's handler shows as "not answered yet"); never another error
    raised by the checks' own code. Returns the outcomes."""
    results = run(assignment, release_answers(assignment))
    passing = set(results) - set(failed(results))
    assert not passing, f"the release's stubs pass {passing}"
    for grade_id, outcome in results.items():
        done_yet = NotImplementedError | CheckFailed | NameError
        assert isinstance(outcome.error, done_yet), (grade_id, repr(outcome.error))
    return results
