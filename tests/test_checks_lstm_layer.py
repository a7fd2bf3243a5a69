"""In-process tests of autograder.checks.lstm_layer (no nbgrader).

The answers come from the master notebook's own answer cells, so the checks are
tested against exactly what the master says is right, and every catalogued mistake is
applied to that text.
"""

import tomllib
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

import lstm_ref
from autograder.checks import core
from autograder.checks import lstm_layer as checks

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT / "solutions" / "03_lstm_layer" / "03_lstm_layer.ipynb"
CATALOG = ROOT / "tests" / "mistakes" / "03_lstm_layer.toml"


def nbgrader_cells(kind: str) -> dict:
    """grade_id -> source of the master's answer cells ("solution") or test cells."""
    nb = nbformat.read(MASTER, as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get(kind)
    }


def define(source: str) -> dict:
    """Run an answer cell the way the notebook does, with its imports and cell."""
    scope = {"torch": torch, "nn": nn, "lstm_cell": lstm_ref.functional.lstm_cell}
    exec(compile(source, "<answer>", "exec"), scope)
    return scope


def run(exercise: str, scope: dict, hidden: bool) -> None:
    """The master's own visible or hidden test cell of `exercise`, in `scope`."""
    grade_id = f"test-{exercise}-hidden" if hidden else f"test-{exercise}"
    exec(compile(nbgrader_cells("grade")[grade_id], grade_id, "exec"), scope)


EXERCISES = ["predict-shapes", "lstm-layer", "recall-net", "cell-state-jacobian",
             "forget-bias"]
MISTAKES = tomllib.loads(CATALOG.read_text())["mistake"]


def test_every_exercise_is_in_the_master_and_the_catalog():
    assert sorted(nbgrader_cells("solution")) == sorted(EXERCISES)
    for exercise in EXERCISES:
        assert sum(m["exercise"] == exercise for m in MISTAKES) >= 3, exercise


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("hidden", [False, True])
def test_master_answer_passes(exercise, hidden, capsys):
    run(exercise, define(nbgrader_cells("solution")[exercise]), hidden)
    assert capsys.readouterr().out.startswith("✓ ")


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m["name"] for m in MISTAKES])
def test_catalogued_mistake_is_caught_with_its_feedback(mistake):
    source = nbgrader_cells("solution")[mistake["exercise"]]
    assert source.count(mistake["old"]) == 1, "old must occur exactly once"
    scope = define(source.replace(mistake["old"], mistake["new"]))
    with pytest.raises(core.CheckFailed) as caught:
        run(mistake["exercise"], scope, hidden=False)
        run(mistake["exercise"], scope, hidden=True)
    assert mistake["feedback"] in str(caught.value)


def test_reference_layer_is_one_nn_lstm_layer():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True).double()
    params = {k: getattr(lstm, f"{k}_l0").detach() for k in checks.WEIGHTS}
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    state = (torch.randn(1, 2, 4, dtype=torch.float64),) * 2
    for st in (state, None):
        got = checks.reference_lstm_layer(x, params, st, batch_first=True)
        with torch.no_grad():
            want = lstm(x, st)
        torch.testing.assert_close(got[0], want[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(got[1][0], want[1][0], atol=1e-12, rtol=0)
        torch.testing.assert_close(got[1][1], want[1][1], atol=1e-12, rtol=0)


def test_a_stub_is_not_graded_as_done():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_lstm_layer(stub)
    with pytest.raises(NotImplementedError):
        checks.check_forget_bias(stub)


def test_checks_leave_the_learners_rng_alone(capsys):
    scope = define(nbgrader_cells("solution")["recall-net"])
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    checks.check_recall_net(scope["Recaller"])
    checks.check_predicted_shapes({"output": (3, 5, 6)}, ["output"], batch=3,
                                  length=5, input_size=4, hidden_size=6)
    assert torch.equal(torch.random.get_rng_state(), before)
