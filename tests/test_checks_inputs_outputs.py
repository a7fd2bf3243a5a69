"""Fast in-process tests of autograder.checks.inputs_outputs (no nbgrader, no kernel).

Every exercise's test cells, taken from the master, must pass its solution and fail
each catalogued mistake with that mistake's feedback; the oracles the checks rely on
must agree with torch.
"""

from pathlib import Path

import nbformat
import pytest
import torch
from grading import harness
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from autograder.checks import core
from autograder.checks import inputs_outputs as checks

ROOT = Path(__file__).resolve().parents[1]
ID = "05_inputs_outputs"
MASTER = nbformat.read(ROOT / "solutions" / ID / f"{ID}.ipynb", as_version=4)
MISTAKES = harness.catalog(ROOT / "tests" / "mistakes" / f"{ID}.toml", ID)
ANSWERS = harness.solution_sources(MASTER)
GRADED = [  # (grade_id, source, is a test cell) of every nbgrader cell, in order
    (cell.metadata.nbgrader.grade_id, cell.source, cell.metadata.nbgrader.grade)
    for cell in MASTER.cells
    if "nbgrader" in cell.metadata
]


def _grade(answers: dict[str, str]) -> dict[str, Exception | None]:
    """Run the answer and test cells in notebook order in one namespace, as the
    kernel does, with `answers` in the answer cells; grade_id -> what each test
    cell raised (None if it passed)."""
    scope = {"torch": torch}
    results = {}
    for grade_id, source, is_test in GRADED:
        try:
            exec(source if is_test else answers[grade_id], scope)  # noqa: S102
            results[grade_id] = None
        except Exception as error:  # noqa: BLE001 - recorded, as nbgrader does
            results[grade_id] = error
    return {k: v for k, v in results.items() if k.startswith("test-")}


def _failed(results: dict) -> set[str]:
    return {grade_id for grade_id, error in results.items() if error is not None}


def test_catalog_covers_every_exercise_with_three_mistakes():
    assert set(ANSWERS) == {m.exercise for m in MISTAKES}
    for exercise in ANSWERS:
        assert sum(m.exercise == exercise for m in MISTAKES) >= 3, exercise


def test_solutions_pass_every_test_with_one_line_each(capsys):
    results = _grade(ANSWERS)
    assert _failed(results) == set(), results
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(results) and all(line.startswith("✓ ") for line in lines)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_costs_its_exercise_only_with_its_feedback(mistake):
    source = ANSWERS[mistake.exercise]
    assert source.count(mistake.old) == 1, "old must occur exactly once"
    results = _grade(
        {**ANSWERS, mistake.exercise: source.replace(mistake.old, mistake.new)}
    )
    own = {f"test-{mistake.exercise}", f"test-{mistake.exercise}-hidden"}
    assert _failed(results) and _failed(results) <= own, _failed(results)
    errors = [results[g] for g in sorted(_failed(results))]
    assert all(isinstance(e, core.CheckFailed) for e in errors), errors
    assert any(mistake.feedback in str(e) for e in errors), errors


def test_stubs_fail_every_test():
    stubs = dict.fromkeys(ANSWERS, "raise NotImplementedError()")
    assert _failed(_grade(stubs)) == set(_grade(ANSWERS))


@pytest.mark.parametrize("key", sorted(checks.SHAPE_QUESTIONS))
def test_shape_questions_match_torch_runs(key):
    kwargs, input_shape, tensor = checks.SHAPE_QUESTIONS[key]
    output, (h_n, c_n) = torch.nn.LSTM(**kwargs)(torch.zeros(input_shape))
    torch_shape = {"output": output, "h_n": h_n, "c_0": c_n}[tensor].shape
    assert checks._true_shape(kwargs, input_shape, tensor) == tuple(torch_shape)


def test_checks_leave_the_learners_generator_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    _grade(ANSWERS)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_bidirectional_truth_is_read_from_a_run():
    assert {
        t: checks._bidirectional_truth(t) for t in ("h_n[-1]", "h_n[-2]", "h_n[0]")
    } == {"h_n[-1]": "C", "h_n[-2]": "A", "h_n[0]": "D"}


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_oracle_equals_torch_packing(bidirectional):
    """The checks' padded output and per-sequence h_n are what torch's packing gives."""
    lengths, total = (4, 2, 5, 3), 7
    padded, h_alone = checks._padded_run(3, lengths, total, 2, bidirectional)
    with checks._seeded(3):  # the same weights and inputs as _padded_run's
        ref = checks._lstm(4, 2, bidirectional)
        xs = [torch.randn(n, checks.INPUT_SIZE, dtype=torch.float64) for n in lengths]
    lstm = torch.nn.LSTM(checks.INPUT_SIZE, 4, 2, bidirectional=bidirectional).double()
    lstm.load_state_dict(ref.state_dict())
    x = torch.zeros(total, len(lengths), checks.INPUT_SIZE, dtype=torch.float64)
    for b, seq in enumerate(xs):
        x[: len(seq), b] = seq
    with torch.no_grad():
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out, (h_n, _) = lstm(packed)
        out, _ = pad_packed_sequence(out, total_length=total)
    assert torch.allclose(out, padded, atol=1e-12)
    assert torch.allclose(h_n.transpose(0, 1), h_alone, atol=1e-12)
