"""Checks for 07_training: predicted shapes, a batch pipeline, a training loop.

The references live here too (`reference_make_batch`, `ReferenceClassifier`): an
exercise that builds on an earlier one is graded with them in place of the learner's
earlier answer. Predicted shapes are read by `core.parse_shape` and compared with a
real `nn.LSTM`; `make_batch` is judged by unpacking what it packed. The classifier
exercise has its own module, `classifier`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Callable

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pad_packed_sequence,
    pad_sequence,
)

from autograder.checks import core
from autograder.i18n import N_, _

# The LSTM whose shapes the learner predicts (the notebook builds the same one).
PREDICT_LSTM = dict(
    input_size=8, hidden_size=16, num_layers=2, bidirectional=True, batch_first=True
)


# --- references -----------------------------------------------------------------------


def reference_make_batch(sequences: list[torch.Tensor]):
    """Pad, then pack without sorting: (PackedSequence, lengths), input order kept."""
    lengths = torch.tensor([len(s) for s in sequences])
    padded = pad_sequence(sequences, batch_first=True)
    packed = pack_padded_sequence(
        padded, lengths, batch_first=True, enforce_sorted=False
    )
    return packed, lengths


class ReferenceClassifier(nn.Module):
    """nn.LSTM, then a linear head on the last layer's final h (both directions)."""

    def __init__(
        self,
        input_size=8,
        hidden_size=32,
        num_classes=10,
        num_layers=1,
        bidirectional=False,
    ):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.head = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.head(_last_layer(h_n, self.lstm.bidirectional))


def _last_layer(states: torch.Tensor, bidirectional: bool) -> torch.Tensor:
    """(D*num_layers, N, H) -> (N, D*H): the last layer, forward then reverse."""
    return torch.cat([states[-2], states[-1]], dim=-1) if bidirectional else states[-1]


# --- data -----------------------------------------------------------------------------


@functools.cache
def digit_split(n_train: int = 1200, seed: int = 0):
    """scikit-learn's 8x8 digits as sequences of 8 rows, scaled to [0, 1], split by a
    seeded permutation: (train_sequences, train_labels, test_sequences, test_labels)."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32) / 16
    labels = torch.tensor(digits.target)
    order = torch.randperm(len(images), generator=core.generator(seed))
    train, test = order[:n_train], order[n_train:]
    return list(images[train]), labels[train], list(images[test]), labels[test]


def _random_sequences(lengths, features: int, seed: int) -> list[torch.Tensor]:
    generator = core.generator(seed)
    return [
        torch.randn(n, features, generator=generator, dtype=torch.float64)
        for n in lengths
    ]


# The training checks' name for core's seeding (a fork of torch's RNG).
_seeded = core.forked_rng


# --- exercise 1: predict the shapes ---------------------------------------------------


def _actual_shapes(input_shape: tuple) -> dict[str, tuple]:
    with core.forked_rng(0):
        lstm = nn.LSTM(**PREDICT_LSTM)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.zeros(input_shape))
    return {
        "output": tuple(output.shape),
        "h_n": tuple(h_n.shape),
        "c_n": tuple(c_n.shape),
    }


def _shape_mistakes(expected: dict[str, tuple], batched: bool) -> dict:
    """(tensor, wrong shape) -> the reason, for the wrong shapes learners write."""
    H = PREDICT_LSTM["hidden_size"]
    layers = PREDICT_LSTM["num_layers"]
    states = ("h_n", "c_n")
    if not batched:
        L = expected["output"][0]
        found = {
            ("output", (1, *expected["output"])): _(
                "an unbatched input (L, H_in) gives an unbatched output "
                "(L, D*H_out): no batch dimension is added"
            ),
            ("output", (L, H)): _(
                "output concatenates both directions: D*H_out features per step"
            ),
        }
        for name in states:
            found[name, (expected["h_n"][0], 1, H)] = _(
                "an unbatched input gives an unbatched {name} (D*num_layers, H_out):"
                " no batch dimension is added"
            ).format(name=name)
            found[name, (layers, H)] = _(
                "{name} stacks num_layers * D = 2 * 2 final states, one per layer "
                "and direction"
            ).format(name=name)
        return found
    N, L, _H_in = expected["output"]
    found = {
        ("output", (N, L, H)): _(
            "output concatenates both directions: D*H_out = 2*16 = 32 features"
        ),
        ("output", (L, N, 2 * H)): _("batch_first=True makes output (N, L, D*H_out)"),
    }
    for name in states:
        found[name, (N, 2 * layers, H)] = _(
            "{name} ignores batch_first: it is always (D*num_layers, N, H_out)"
        ).format(name=name)
        found[name, (layers, N, H)] = _(
            "{name} stacks num_layers * D = 2 * 2 final states, one per layer and "
            "direction"
        ).format(name=name)
        found[name, (2 * layers, N, 2 * H)] = _(
            "{name} keeps the directions apart (first axis), each H_out = 16 wide"
        ).format(name=name)
    return found


def _check_shapes(
    prefix: str, predictions: dict, input_shape: tuple, batched: bool
) -> None:
    expected = _actual_shapes(input_shape)
    mistakes = _shape_mistakes(expected, batched)
    for kind, value in predictions.items():
        got = core.parse_shape(f"{prefix}_{kind}", value, example=(2, 3, 4))
        if got != expected[kind]:
            reason = mistakes.get((kind, got)) or _("run the cell below and compare")
            core.fail(
                _(
                    "{name} = {got} is not the shape nn.LSTM gives for an "
                    "input {input_shape} — {reason}"
                ).format(
                    name=f"{prefix}_{kind}",
                    got=got,
                    input_shape=input_shape,
                    reason=reason,
                )
            )
    shapes = ", ".join(f"{kind} {tuple(value)}" for kind, value in predictions.items())
    core.passed(
        _("shapes for an input {input_shape}: {shapes}").format(
            input_shape=input_shape, shapes=shapes
        )
    )


def check_batch_shapes(batch_output, batch_h_n, batch_c_n) -> None:
    """The predicted shapes for a batch of 32 digits, (32, 8, 8)."""
    _check_shapes(
        "batch",
        {"output": batch_output, "h_n": batch_h_n, "c_n": batch_c_n},
        (32, 8, 8),
        batched=True,
    )


def check_single_shapes(single_output, single_h_n) -> None:
    """The predicted shapes for one digit without a batch dimension, (8, 8)."""
    _check_shapes(
        "single", {"output": single_output, "h_n": single_h_n}, (8, 8), batched=False
    )


# --- exercise 2: make_batch -----------------------------------------------------------


_LAYOUT = N_(
    "pad_sequence and pack_padded_sequence must agree on the layout: pass "
    "batch_first=True to both"
)


def _call_make_batch(make_batch: Callable, sequences: list[torch.Tensor]):
    rules = (
        ("enforce_sorted", _("the lengths are not sorted: pass enforce_sorted=False "
         "so pack_padded_sequence sorts them and remembers the order")),
        (("batch_size", "batch_first"), _(_LAYOUT)),
        ("", _("see the hints above the cell")),
    )  # fmt: skip
    with core.explain(*rules):
        result = core.call("make_batch", make_batch, list(sequences))
    return core.expect_pair("make_batch", result, "packed", "lengths")


def check_make_batch(
    make_batch: Callable, lengths=(5, 2, 7, 3), features: int = 3, seed: int = 0
) -> None:
    """make_batch(sequences) must return (PackedSequence, lengths) that keeps every
    sequence whole and in the order given."""
    sequences = _random_sequences(lengths, features, seed)
    originals = [s.clone() for s in sequences]
    packed, got_lengths = _call_make_batch(make_batch, sequences)
    if any(not torch.equal(s, o) for s, o in zip(sequences, originals, strict=True)):
        core.fail(_("make_batch changed the sequences it was given; build new tensors"))
    if not isinstance(packed, PackedSequence):
        core.fail(
            _(
                "make_batch should return a PackedSequence first (from "
                "pack_padded_sequence), got {got} — a padded "
                "tensor alone lets the LSTM run over the padding"
            ).format(got=core.describe(packed))
        )
    _check_lengths(got_lengths, lengths, features)
    try:
        unpacked = _unpack(packed)
    except RuntimeError as error:
        core.fail(
            _("the PackedSequence cannot be unpacked ({error}) — {layout}").format(
                error=error, layout=_(_LAYOUT)
            )
        )
    if len(unpacked) != len(originals):
        core.fail(
            _(
                "the PackedSequence holds {count} sequences, expected "
                "{expected} — {layout}"
            ).format(count=len(unpacked), expected=len(originals), layout=_(_LAYOUT))
        )
    for i, (original, got) in enumerate(zip(originals, unpacked, strict=True)):
        if torch.equal(got, original):
            continue
        if any(torch.equal(got, o) for o in originals):
            core.fail(
                _(
                    "sequence {index} of the batch is another sequence of the input: "
                    "keep the order of `sequences` (enforce_sorted=False sorts "
                    "internally and restores the order)"
                ).format(index=i)
            )
        core.fail(
            _(
                "sequence {index} (length {length}) does not come back from the "
                "packed batch unchanged: got {shape} — check the "
                "lengths; {layout}"
            ).format(
                index=i,
                length=lengths[i],
                shape=tuple(got.shape),
                layout=_(_LAYOUT),
            )
        )
    core.passed(
        _("make_batch packs {count} sequences of lengths {lengths}").format(
            count=len(lengths), lengths=list(lengths)
        )
    )


def _check_lengths(got, lengths, features: int) -> None:
    """The docstring's promise: a tensor of the N lengths, int64, in input order."""
    if not isinstance(got, torch.Tensor) or got.dtype != torch.int64 or got.dim() != 1:
        if isinstance(got, torch.Tensor):
            message = _(
                "lengths should be a 1-D int64 tensor, got a {dtype} tensor"
                " — torch.tensor([len(s) for s in sequences]) is one"
            ).format(dtype=got.dtype)
        else:
            message = _(
                "lengths should be a 1-D int64 tensor, got {got}"
                " — torch.tensor([len(s) for s in sequences]) is one"
            ).format(got=core.describe(got))
        core.fail(message)
    got = got.tolist()
    if got == list(lengths):
        return
    if got == sorted(lengths, reverse=True) != list(lengths):
        reason = _("they are sorted: keep the order of `sequences`")
    elif got == [features] * len(lengths):
        reason = _(
            "each is the number of features: count the time steps of each "
            "sequence, len(s) or s.shape[0]"
        )
    else:
        reason = _("count the time steps of each sequence, len(s) or s.shape[0]")
    core.fail(
        _("lengths = {got}, expected {expected} — {reason}").format(
            got=got, expected=list(lengths), reason=reason
        )
    )


def _unpack(packed: PackedSequence) -> list[torch.Tensor]:
    """The sequences a PackedSequence holds, in its original order."""
    padded, lengths = pad_packed_sequence(packed, batch_first=True)
    return [row[:n] for row, n in zip(padded, lengths.tolist(), strict=True)]


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
            )
        )


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
                ).format(epochs=epochs, got=got, length=len(losses))
            )
        core.fail(
            _(
                "train should return a list of {epochs} numbers (the mean loss of "
                "each epoch), got {got}"
            ).format(epochs=epochs, got=got)
        )
    try:
        losses = [float(loss) for loss in losses]
    except (TypeError, ValueError):
        core.fail(_("train should return plain numbers: use loss.item()"))
    after = model.parameters()
    if all(torch.equal(p.detach(), s) for p, s in zip(after, start, strict=True)):
        core.fail(
            _(
                "training left the parameters unchanged: call loss.backward() and "
                "then optimizer.step() for every batch"
            )
        )
    if accumulated:
        core.fail(
            _(
                "gradients accumulated from batch to batch: call "
                "optimizer.zero_grad() before loss.backward()"
            )
        )
    if any(not math.isfinite(loss) for loss in losses):
        core.fail(
            _(
                "the losses became {losses}: the learning rate is too large, or "
                "the loss is not nn.CrossEntropyLoss"
            ).format(losses=losses)
        )
    if min(losses) < 0:
        core.fail(
            _(
                "negative losses {losses}: nn.NLLLoss expects log-probabilities; "
                "use nn.CrossEntropyLoss on raw logits"
            ).format(losses=[round(x, 3) for x in losses])
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
            )
        )
    trained = mean_loss(model, sequences, labels[:n])
    if not trained < 0.9 * math.log(10):
        core.fail(
            _(
                "train reported the losses {losses}, but the model it left has loss "
                "{trained:.2f} on these digits, near chance ln(10) = 2.30: return the "
                "mean loss of each epoch of the training itself, and train the model "
                "you are given"
            ).format(losses=[round(x, 3) for x in losses], trained=trained)
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
            ).format(epochs=epochs, score=score, threshold=threshold, reason=reason)
        )
    _check_losses(losses, seen)
    core.passed(
        _(
            "train: {score:.1%} test accuracy on {count} held-out digits "
            "after {epochs} epochs (needed {threshold:.0%})"
        ).format(score=score, count=len(test_y), epochs=epochs, threshold=threshold)
    )
