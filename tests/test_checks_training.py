"""Fast in-process tests of autograder.checks.training (no nbgrader, no kernel).

Every exercise's test cells, taken from the master, must pass its solution and fail
each catalogued mistake with that mistake's feedback; the references the checks grade
with must agree with the master's solutions.
"""

import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from tqdm.auto import tqdm

from autograder.checks import core
from autograder.checks import training as checks

ROOT = Path(__file__).resolve().parents[1]
ID = "07_training"
MASTER = nbformat.read(ROOT / "solutions" / ID / f"{ID}.ipynb", as_version=4)
CATALOG = tomllib.loads((ROOT / "tests" / "mistakes" / f"{ID}.toml").read_text())
MISTAKES = CATALOG["mistake"]


def _cells(prefix: str = "") -> dict[str, str]:
    """grade_id -> source of the master's nbgrader cells, markers stripped."""
    found = {}
    for cell in MASTER.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and grade_id.startswith(prefix):
            found[grade_id] = re.sub(
                r"^\s*### (BEGIN|END) \w+( \w+)?\n", "", cell.source, flags=re.M
            )
    return found


ANSWERS = {k: v for k, v in _cells().items() if not k.startswith("test-")}
TESTS = _cells("test-")


def _scope() -> dict:
    """The names the notebook's first cell imports, and the reference make_batch that
    train uses (the checks substitute it anyway)."""
    return {
        "sys": sys,
        "torch": torch,
        "nn": nn,
        "tqdm": tqdm,
        "pad_sequence": pad_sequence,
        "pack_padded_sequence": pack_padded_sequence,
        "make_batch": checks.reference_make_batch,
    }


def _grade(exercise: str, source: str) -> None:
    """Run an answer cell's source, then both of its test cells, in one namespace."""
    scope = _scope()
    exec(source, scope)  # noqa: S102 - the master's own cells
    for grade_id in (f"test-{exercise}", f"test-{exercise}-hidden"):
        exec(TESTS[grade_id], scope)  # noqa: S102


def test_catalog_covers_every_exercise_with_three_mistakes():
    assert set(ANSWERS) == {m["exercise"] for m in MISTAKES}
    for exercise in ANSWERS:
        assert sum(m["exercise"] == exercise for m in MISTAKES) >= 3, exercise


@pytest.mark.parametrize("exercise", sorted(ANSWERS))
def test_solution_passes(exercise, capsys):
    _grade(exercise, ANSWERS[exercise])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines and all(line.startswith("✓ ") for line in lines)
    assert captured.err == ""  # nbgrader scores anything on stderr as a failure


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m["name"] for m in MISTAKES])
def test_mistake_fails_with_its_feedback(mistake):
    source = ANSWERS[mistake["exercise"]]
    assert source.count(mistake["old"]) == 1, "old must occur exactly once"
    with pytest.raises(core.CheckFailed) as failure:
        _grade(mistake["exercise"], source.replace(mistake["old"], mistake["new"]))
    assert mistake["feedback"] in str(failure.value)


@pytest.mark.parametrize("exercise", sorted(ANSWERS))
def test_stub_is_not_done(exercise):
    with pytest.raises((NotImplementedError, NameError)):
        _grade(exercise, "raise NotImplementedError()")


def test_references_match_the_masters_solutions():
    """The references the checks substitute are the master's own answers."""
    scope = _scope()
    exec(ANSWERS["make-batch"], scope)  # noqa: S102
    exec(ANSWERS["digit-classifier"], scope)  # noqa: S102
    sequences = [torch.randn(n, 3) for n in (4, 1, 6)]
    mine, theirs = (
        checks.reference_make_batch(sequences),
        scope["make_batch"](sequences),
    )
    assert torch.equal(mine[0].data, theirs[0].data)
    assert torch.equal(mine[1], theirs[1])
    for bidirectional in (False, True):
        torch.manual_seed(0)
        reference = checks.ReferenceClassifier(3, 4, 5, 2, bidirectional)
        torch.manual_seed(0)
        master = scope["DigitClassifier"](3, 4, 5, 2, bidirectional)
        assert torch.equal(reference(mine[0]), master(mine[0]))


def test_train_progress_bar_on_stderr_is_kept_out_of_the_cell(capsys):
    """A learner's tqdm bar on stderr (the default) must not cost the points."""

    def noisy_train(model, sequences, labels, epochs, lr, batch_size, progress):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in tqdm(range(epochs)):  # stderr, even with progress=False
            order = torch.randperm(len(sequences))
            total = 0.0
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                packed, _ = make_batch([sequences[i] for i in batch])  # noqa: F821
                loss = nn.functional.cross_entropy(model(packed), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            losses.append(total / len(order))
        return losses

    checks.check_train(noisy_train)
    assert capsys.readouterr().err == ""
