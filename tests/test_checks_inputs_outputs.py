"""Fast in-process tests of autograder.checks.inputs_outputs (no nbgrader, no kernel).

The master's own test cells (run by tests/grading/inprocess.py) must pass its
solutions and fail each catalogued mistake with that mistake's feedback; the oracles
the checks rely on must agree with torch.
"""

import pytest
import torch
from grading import inprocess
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from autograder.checks import core
from autograder.checks import inputs_outputs as checks

ID = "05_inputs_outputs"
MISTAKES = inprocess.mistakes(ID)


def test_catalog_covers_every_exercise_with_three_mistakes():
    inprocess.assert_catalogued(ID)


def test_solutions_pass_every_test():
    results = inprocess.run(ID)
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_costs_its_exercise_only_with_its_feedback(mistake):
    inprocess.assert_caught(mistake)


def test_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


def test_predicted_shapes_take_lists_and_refuse_floats(capsys):
    scope = {}
    exec(inprocess.solutions(ID)["predict-shapes"], scope)  # noqa: S102
    as_lists = {key: list(shape) for key, shape in scope["predicted"].items()}
    checks.check_predicted_shapes(as_lists, sorted(as_lists))
    assert capsys.readouterr().out.startswith("✓")
    with pytest.raises(core.CheckFailed, match=r"5\.9 is a float, not an int"):
        checks.check_predicted_shapes({**as_lists, "a_h_n": (5.9, 3, 20)}, ["a_h_n"])


@pytest.mark.parametrize("key", sorted(checks.SHAPE_QUESTIONS))
def test_shape_questions_match_torch_runs(key):
    kwargs, input_shape, tensor = checks.SHAPE_QUESTIONS[key]
    output, (h_n, c_n) = torch.nn.LSTM(**kwargs)(torch.zeros(input_shape))
    torch_shape = {"output": output, "h_n": h_n, "c_0": c_n}[tensor].shape
    assert checks._true_shape(kwargs, input_shape, tensor) == tuple(torch_shape)


def test_bidirectional_truth_is_read_from_a_run():
    assert {
        t: checks._bidirectional_truth(t) for t in ("h_n[-1]", "h_n[-2]", "h_n[0]")
    } == {"h_n[-1]": "C", "h_n[-2]": "A", "h_n[0]": "D"}


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_oracle_equals_torch_packing(bidirectional):
    """The checks' padded output and per-sequence h_n are what torch's packing gives."""
    lengths, total = (4, 2, 5, 3), 7
    padded, h_alone = checks._padded_run(3, lengths, total, 2, bidirectional)
    with core.forked_rng(3):  # the same weights and inputs as _padded_run's
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
