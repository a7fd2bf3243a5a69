"""06_backprop_through_lstm's checks, in-process: the master's answers pass every test
cell, and each catalogued mistake fails its own exercise's tests, and only those, with
feedback that names it."""

import json
import os
import tomllib
from pathlib import Path

import pytest

from autograder.checks.core import CheckFailed

os.environ.setdefault("MPLBACKEND", "Agg")
REPO = Path(__file__).resolve().parent.parent
ID = "06_backprop_through_lstm"
MASTER = REPO / "solutions" / ID / f"{ID}.ipynb"
MISTAKES = tomllib.loads((REPO / "tests" / "mistakes" / f"{ID}.toml").read_text())


def cells():
    """(kind, grade_id, source) of each code cell: setup, given, answer or test."""
    for cell in json.loads(MASTER.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell["metadata"].get("nbgrader", {})
        source = "".join(cell["source"])
        kind = (
            "test"
            if meta.get("grade")
            else "answer"
            if meta.get("solution")
            else "given"
            if meta.get("locked")
            else "plain"
        )
        yield kind, meta.get("grade_id"), source


def run_tests(replace=None):
    """Run the master's definitions (with one answer edited), then every test cell.
    Returns {exercise: None or the CheckFailed message of its first failing test}."""
    scope, results, exercise = {}, {}, None
    for n, (kind, grade_id, source) in enumerate(cells()):
        if kind == "answer":
            exercise = grade_id
            if replace and replace["exercise"] == grade_id:
                assert source.count(replace["old"]) == 1, replace["name"]
                source = source.replace(replace["old"], replace["new"])
        if kind in ("answer", "given") or (kind == "plain" and n == 0):
            exec(compile(source, f"<{grade_id or 'setup'}>", "exec"), scope)
        elif kind == "test":
            try:
                exec(compile(source, f"<{grade_id}>", "exec"), scope)
                results.setdefault(exercise, None)
            except CheckFailed as failure:
                results[exercise] = results.get(exercise) or str(failure)
    return results


def test_the_masters_answers_pass_every_check(capsys):
    results = run_tests()
    assert results and all(message is None for message in results.values()), results
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", MISTAKES["mistake"], ids=lambda m: m["name"])
def test_each_mistake_fails_its_own_exercise_only(mistake):
    results = run_tests(replace=mistake)
    message = results[mistake["exercise"]]
    assert message is not None, f"{mistake['name']} was not caught"
    assert mistake["feedback"] in message, message
    others = {k: v for k, v in results.items() if k != mistake["exercise"] and v}
    assert not others, f"{mistake['name']} also failed {others}"


def test_every_exercise_has_three_catalogued_mistakes():
    exercises = {g for kind, g, _ in cells() if kind == "answer"}
    counts = {
        e: sum(m["exercise"] == e for m in MISTAKES["mistake"]) for e in exercises
    }
    assert all(n >= 3 for n in counts.values()), counts
