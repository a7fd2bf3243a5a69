"""Fast in-process tests of autograder.checks.training (no nbgrader, no kernel).

The master's own test cells (run by tests/grading/inprocess.py) must pass its
solutions and fail each catalogued mistake with that mistake's feedback; the
references the checks grade with must agree with the master's solutions.
"""

import pytest
import torch
from grading import inprocess
from torch import nn
from tqdm.auto import tqdm

from autograder.checks import training as checks

ID = "07_training"
MISTAKES = inprocess.mistakes(ID)


def test_catalog_covers_every_exercise_with_three_mistakes():
    inprocess.assert_catalogued(ID)


def test_solutions_pass_every_test():
    results = inprocess.run(ID)
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_fails_with_its_feedback(mistake):
    # Own exercise's tests only: training twice per mistake is slow, and
    # tests/test_grading.py proves through nbgrader that no other exercise fails.
    inprocess.assert_caught(mistake, isolated=False)


def test_the_release_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


def test_references_match_the_masters_solutions():
    """The references the checks substitute are the master's own answers."""
    scope = inprocess.namespace(ID)
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
