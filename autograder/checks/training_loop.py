"""The checks of notebook 07's training loop (`train`), exercise 4.

The learner's `train(model, sequences, labels, ...)` trains a `ReferenceClassifier`
with `reference_make_batch` in place of the learner's `make_batch`; while it runs
(where it runs: `core.beside`), every backward pass is watched for gradients kept from
the previous batch, and every batch's loss is recomputed, so that the losses `train`
returns can be compared with each epoch's mean. `check_train` wants a loss that leaves
chance level, `check_train_accuracy` a test accuracy on held-out digits. The notebook's
test cells call both through `training`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Callable

import torch
from torch import nn

from autograder.checks import core
from autograder.checks.training_references import (
    ReferenceClassifier,
    digit_split,
    reference_make_batch,
)
from autograder.i18n import N_, _

# The training checks' name for core's seeding (a fork of torch's RNG).
_seeded = core.forked_rng


# --- exercise 4: the training loop ----------------------------------------------------


class _Watch:
    """Records, for every backward pass, whether .grad held more than this batch's
    gradient (zero_grad forgotten)."""

    def __init__(self, model: nn.Module):
        self.accumulated = False
        self.handles = []
        for p in model.parameters():
            fresh = {}
            self.handles.append(p.register_hook(functools.partial(self._fresh, fresh)))
            self.handles.append(
                p.register_post_accumulate_grad_hook(
                    functools.partial(self._sum, fresh)
                )
            )

    @staticmethod
    def _fresh(fresh: dict, grad: torch.Tensor) -> None:
        fresh["grad"] = grad.detach().clone()

    def _sum(self, fresh: dict, p: torch.Tensor) -> None:
        if not torch.equal(p.grad, fresh["grad"]):
            self.accumulated = True

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


class _Batches:
    """The batches training saw: the sequences `make_batch` packed for each and the
    logits the model gave them in training mode, to recompute each epoch's loss."""

    def __init__(self, model: nn.Module, sequences, labels):
        self.index = {id(s): i for i, s in enumerate(sequences)}
        self.labels, self.count = labels, len(sequences)
        self.rows: list | None = None  # the sequences of the last make_batch
        self.mapped = True  # every packed sequence was one of `sequences`
        self.seen: list[tuple[int, float]] = []  # (batch size, loss) per forward
        self.handle = model.register_forward_hook(self._forward)

    def make_batch(self, sequences):
        self.rows = [self.index.get(id(s)) for s in sequences]
        self.mapped &= None not in self.rows
        return reference_make_batch(sequences)

    def _forward(self, module, inputs, output) -> None:
        if module.training and self.rows is not None and self.mapped:
            target = self.labels[self.rows]
            loss = nn.functional.cross_entropy(output.detach(), target)
            self.seen.append((len(self.rows), float(loss)))
        self.rows = None

    def epochs(self) -> list[dict] | None:
        """Each epoch's batch losses summed up the ways a loop might (None when
        training did not go through make_batch)."""
        if not (self.mapped and self.seen):
            return None
        epochs, batch = [], []
        for size, loss in self.seen:
            batch.append((size, loss))
            if sum(n for n, _ in batch) >= self.count:
                epochs.append(
                    {
                        "mean": sum(n * v for n, v in batch) / self.count,
                        "mean of the batch losses": sum(v for _, v in batch)
                        / len(batch),
                        N_("the last batch's loss"): batch[-1][1],
                        N_("the sum of the batch losses"): sum(v for _, v in batch),
                    }
                )
                batch = []
        return epochs


def watched(train: Callable, model: nn.Module, sequences, labels, **kwargs):
    """`train(model, sequences, labels, ...)` with its output kept off stdout and
    stderr, its backward passes and batches watched; runs where `train` runs
    (`core.beside`). Returns train's result, whether gradients accumulated from
    batch to batch, and what each epoch's batches give (`_Batches.epochs`)."""
    watch = _Watch(model)
    batches = _Batches(model, sequences, labels)
    sink = io.StringIO()
    try:
        with (
            core.using(train, make_batch=batches.make_batch),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            losses = train(model, sequences, labels, **kwargs)
    finally:
        watch.close()
        batches.handle.remove()
    return losses, watch.accumulated, batches.epochs()


def _check_losses(losses: list[float], epochs: list[dict] | None) -> None:
    """Each returned loss must be its epoch's mean loss over the batches."""
    if epochs is None or len(epochs) != len(losses):
        return  # the batches cannot be told apart: nothing to compare
    for number, (got, sums) in enumerate(zip(losses, epochs, strict=True), 1):
        means = ("mean", "mean of the batch losses")
        if any(math.isclose(got, sums[k], rel_tol=1e-5) for k in means):
            continue
        slips = [k for k in sums if k not in means]
        slip = next((k for k in slips if math.isclose(got, sums[k], rel_tol=1e-5)), "")
        mistake = _SLIPS.get(slip, "losses-not-means")
        if slip:
            message = _(
                "train returned {got:.4f} as the loss of epoch {number}, but its "
                "batches give a mean loss of {mean:.4f} ({got:.4f} is {slip}): "
                "return, for every epoch, the mean of loss.item() over its batches"
            )
        else:
            message = _(
                "train returned {got:.4f} as the loss of epoch {number}, but its "
                "batches give a mean loss of {mean:.4f}: "
                "return, for every epoch, the mean of loss.item() over its batches"
            )
        core.fail(
            message.format(
                got=got, number=number, mean=sums["mean"], slip=_(slip) if slip else ""
            ),
            mistake,
        )


# The name of each way to sum an epoch's batch losses that is not its mean.
_SLIPS = {
    "the last batch's loss": "last-batch-loss",
    "the sum of the batch losses": "summed-losses",
}


def _run_training(
    train: Callable,
    model: nn.Module,
    sequences,
    labels,
    epochs: int,
    lr: float,
    batch_size: int,
):
    """Call the learner's train with the reference make_batch (progress bars off);
    diagnose the loop. Whether the parameters moved is judged here, from the
    model as training left it."""
    start = [p.detach().clone() for p in model.parameters()]
    losses, accumulated, epochs_seen = core.call(
        "train",
        core.beside(train, watched),
        model,
        sequences,
        labels,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        progress=False,
    )
    if not (isinstance(losses, list | tuple) and len(losses) == epochs):
        got = core.describe(losses)
        if hasattr(losses, "__len__"):
            core.fail(
                _(
                    "train should return a list of {epochs} numbers (the mean loss "
                    "of each epoch), got {got} of length {length}"
                ).format(epochs=epochs, got=got, length=len(losses)),
                "losses-not-per-epoch",
            )
        core.fail(
            _(
                "train should return a list of {epochs} numbers (the mean loss of "
                "each epoch), got {got}"
            ).format(epochs=epochs, got=got),
            "losses-not-per-epoch",
        )
    try:
        losses = [float(loss) for loss in losses]
    except (TypeError, ValueError):
        core.fail(
            _("train should return plain numbers: use loss.item()"),
            "losses-not-numbers",
        )
    after = model.parameters()
    if all(torch.equal(p.detach(), s) for p, s in zip(after, start, strict=True)):
        core.fail(
            _(
                "training left the parameters unchanged: call loss.backward() and "
                "then optimizer.step() for every batch"
            ),
            "no-step",
        )
    if accumulated:
        core.fail(
            _(
                "gradients accumulated from batch to batch: call "
                "optimizer.zero_grad() before loss.backward()"
            ),
            "no-zero-grad",
        )
    if any(not math.isfinite(loss) for loss in losses):
        core.fail(
            _(
                "the losses became {losses}: the learning rate is too large, or "
                "the loss is not nn.CrossEntropyLoss"
            ).format(losses=losses),
            "diverged",
        )
    if min(losses) < 0:
        core.fail(
            _(
                "negative losses {losses}: nn.NLLLoss expects log-probabilities; "
                "use nn.CrossEntropyLoss on raw logits"
            ).format(losses=[round(x, 3) for x in losses]),
            "nll-loss",
        )
    return losses, epochs_seen


@torch.no_grad()
def mean_loss(model: nn.Module, sequences, labels) -> float:
    """The cross-entropy of `model` on the sequences, computed here."""
    model.eval()
    logits = model(reference_make_batch(list(sequences))[0])
    return float(nn.functional.cross_entropy(logits, labels))


@torch.no_grad()
def accuracy(model: nn.Module, sequences, labels) -> float:
    model.eval()
    logits = model(reference_make_batch(list(sequences))[0])
    return float((logits.argmax(-1) == labels).double().mean())


@core.exercise("train-model")
def check_train(train: Callable, seed: int = 0, n: int = 400, epochs: int = 3) -> None:
    """A short run on digits cropped to 4..8 rows: one loss per epoch, gradients
    computed afresh for every batch, and a loss that leaves chance level, ln(10)."""
    digits, labels = digit_split()[:2]
    generator = torch.Generator().manual_seed(seed)
    crops = torch.randint(4, 9, (n,), generator=generator).tolist()
    sequences = [d[:k] for d, k in zip(digits[:n], crops, strict=True)]
    with _seeded(seed):
        model = ReferenceClassifier(hidden_size=16)
        losses, seen = _run_training(
            train, model, sequences, labels[:n], epochs, 2e-2, 32
        )
    if not losses[-1] < 0.9 * math.log(10):
        core.fail(
            _("the loss stayed near chance, ln(10) = 2.30: {losses} — {hint}").format(
                losses=[round(x, 3) for x in losses], hint=_(_CHANCE)
            ),
            "chance-loss",
        )
    trained = mean_loss(model, sequences, labels[:n])
    if not trained < 0.9 * math.log(10):
        core.fail(
            _(
                "train reported the losses {losses}, but the model it left has loss "
                "{trained:.2f} on these digits, near chance ln(10) = 2.30: return the "
                "mean loss of each epoch of the training itself, and train the model "
                "you are given"
            ).format(losses=[round(x, 3) for x in losses], trained=trained),
            "model-not-trained",
        )
    _check_losses(losses, seen)
    core.passed(
        _(
            "train: losses {losses} over {epochs} epochs on {count} variable-length "
            "digits"
        ).format(losses=[round(x, 2) for x in losses], epochs=epochs, count=n)
    )


_CHANCE = N_(
    "are the labels of each batch those of its sequences (index both with the same "
    "shuffled indices)? Is the optimizer torch.optim.Adam with the given lr?"
)


@core.exercise("train-model")
def check_train_accuracy(
    train: Callable, seed: int = 0, epochs: int = 6, threshold: float = 0.8
) -> None:
    """Train an LSTM classifier (hidden 32) with the learner's loop; it must reach
    `threshold` on held-out digits. The reference loop reaches 0.88-0.92."""
    train_x, train_y, test_x, test_y = digit_split()
    with _seeded(seed):
        model = ReferenceClassifier()
        losses, seen = _run_training(train, model, train_x, train_y, epochs, 1e-2, 64)
    score = accuracy(model, test_x, test_y)
    if score < threshold:
        chance = losses[-1] > 0.9 * math.log(10)
        reason = (
            _("the loss stayed near chance, ln(10): {hint}").format(hint=_(_CHANCE))
            if chance
            else _(
                "use torch.optim.Adam(model.parameters(), lr=lr), batches of "
                "batch_size, and nn.CrossEntropyLoss"
            )
        )
        core.fail(
            _(
                "after {epochs} epochs the model reaches {score:.1%} test accuracy "
                "on held-out digits, below {threshold:.0%} — {reason}"
            ).format(epochs=epochs, score=score, threshold=threshold, reason=reason),
            "chance-loss" if chance else "low-accuracy",
        )
    _check_losses(losses, seen)
    core.passed(
        _(
            "train: {score:.1%} test accuracy on {count} held-out digits "
            "after {epochs} epochs (needed {threshold:.0%})"
        ).format(score=score, count=len(test_y), epochs=epochs, threshold=threshold)
    )
