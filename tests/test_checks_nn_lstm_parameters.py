"""Unit tests of autograder.checks.nn_lstm_parameters, in process (no nbgrader).

The master's own cells are executed: its solutions must pass every test cell (visible
and hidden), and each catalogued mistake, applied to its exercise's solution, must make
one of that exercise's test cells raise CheckFailed with the catalogued feedback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import matplotlib
import nbformat
import pytest
import torch

from autograder.checks import nn_lstm_parameters as checks
from autograder.checks.core import CheckFailed

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
ID = "04_nn_lstm_parameters"
MASTER = nbformat.read(ROOT / "solutions" / ID / f"{ID}.ipynb", as_version=4)
MISTAKES = tomllib.loads((ROOT / "tests" / "mistakes" / f"{ID}.toml").read_text())[
    "mistake"
]


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


CELLS = {_grade_id(c): c.source for c in MASTER.cells if _grade_id(c)}
ANSWERS = [
    gid for gid, c in ((_grade_id(c), c) for c in MASTER.cells)
    if gid and c.metadata["nbgrader"]["solution"]
]
SETUP = next(c.source for c in MASTER.cells
             if c.cell_type == "code" and "import" in c.source)


def _namespace(replace: dict | None = None) -> dict:
    """The notebook's setup, given code and every answer (one possibly replaced)."""
    scope: dict = {}
    exec(SETUP, scope)  # noqa: S102 - the master's own code
    exec(CELLS["lstm-step"], scope)  # noqa: S102
    for gid in ANSWERS:
        exec((replace or {}).get(gid, CELLS[gid]), scope)  # noqa: S102
    return scope


def _tests_of(exercise: str) -> list[str]:
    return [CELLS[f"test-{exercise}"], CELLS[f"test-{exercise}-hidden"]]


def test_the_master_has_six_exercises_with_visible_and_hidden_tests():
    assert ANSWERS == ["shapes-stacked", "dropout-answers", "shapes-directions",
                       "state-dict-shapes", "num-parameters", "my-lstm"]
    for exercise in ANSWERS:
        visible, hidden = _tests_of(exercise)
        assert "### BEGIN HIDDEN TESTS" in hidden and "HIDDEN" not in visible


@pytest.mark.parametrize("exercise", ANSWERS)
def test_solutions_pass_visible_and_hidden_tests(exercise, capsys):
    scope = _namespace()
    for source in _tests_of(exercise):
        exec(source, scope)  # noqa: S102
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("✓ ") for line in lines)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m["name"] for m in MISTAKES])
def test_each_mistake_fails_its_exercise_with_its_feedback(mistake):
    exercise, source = mistake["exercise"], CELLS[mistake["exercise"]]
    assert source.count(mistake["old"]) == 1, "`old` must occur once in the solution"
    scope = _namespace({exercise: source.replace(mistake["old"], mistake["new"])})
    messages = []
    for test_source in _tests_of(exercise):
        try:
            exec(test_source, scope)  # noqa: S102
        except CheckFailed as failure:
            messages.append(str(failure).splitlines()[0])  # what feedback shows
    assert messages, f"no test of {exercise} caught {mistake['name']!r}"
    assert any(mistake["feedback"] in m for m in messages), messages


def test_stubs_raise_not_implemented_unchanged():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check in (checks.check_state_dict_shapes, checks.check_num_parameters):
        with pytest.raises(NotImplementedError):
            check(stub)

    class Stub(torch.nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()
            raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_my_lstm(Stub)


@pytest.mark.parametrize("bad, says", [
    ([(5, 3, 20)], "should be a dict"),
    ({"A": {"output": (5, 3, 20)}}, "no prediction for"),
    ({k: {"output": "5, 3, 20"} for k in "ABCDEF"}, "tuple of ints"),
])
def test_malformed_predictions_get_a_clear_message(bad, says):
    with pytest.raises(CheckFailed, match=says):
        checks.check_shape_outputs("shapes_stacked", bad)


def test_dropout_answers_must_be_booleans():
    answers = dict.fromkeys(checks.DROPOUT_QUESTIONS, "yes")
    with pytest.raises(CheckFailed, match="True or False"):
        checks.check_dropout_answers(answers)


def test_the_shape_tables_agree_with_torch():
    # The expected shapes come from lstm_ref.shapes; torch is the judge.
    for table in checks.TABLES.values():
        for config in table.values():
            with checks.core.quiet(), torch.no_grad():
                lstm = torch.nn.LSTM(**config.kwargs)
                output, (h_n, c_n) = lstm(torch.zeros(config.input_shape))
            got = {"output": output.shape, "h_n": h_n.shape, "c_n": c_n.shape}
            assert {k: tuple(v) for k, v in got.items()} == checks.expected_shapes(
                config), str(config)


def test_every_state_dict_config_agrees_with_torch():
    for config in checks.VISIBLE_CONFIGS + checks.HIDDEN_CONFIGS:
        module = torch.nn.LSTM(**config.kwargs, device="meta")
        expected = {n: tuple(p.shape) for n, p in module.state_dict().items()}
        assert checks.reference_state_dict_shapes(**config.kwargs) == expected


def test_checks_leave_the_learners_random_state_alone():
    scope = _namespace()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    checks.check_dropout_answers(scope["dropout_answers"])
    checks.check_my_lstm(scope["MyLSTM"])
    assert torch.equal(torch.random.get_rng_state(), before)
