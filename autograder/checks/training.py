"""Checks for 07_training: a batch pipeline, a classifier head on h_n, a training loop.

The references live here too (`reference_make_batch`, `ReferenceClassifier`): an
exercise that builds on an earlier one is graded with them in place of the learner's
earlier answer. Final states are compared with `lstm_ref` run on each sequence alone,
so a batch that pads or orders sequences wrongly cannot agree by accident.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Callable, Iterator

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pad_packed_sequence,
    pad_sequence,
)

import lstm_ref
from autograder.checks import core

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
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    train, test = order[:n_train], order[n_train:]
    return list(images[train]), labels[train], list(images[test]), labels[test]


def _random_sequences(lengths, features: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(n, features, generator=generator, dtype=torch.float64)
        for n in lengths
    ]


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch for a check without disturbing the notebook's random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --- exercise 1: predict the shapes ---------------------------------------------------


def _as_shape(name: str, value) -> tuple:
    if isinstance(value, torch.Size | tuple | list) and all(
        isinstance(n, int) and not isinstance(n, bool) for n in value
    ):
        return tuple(value)
    core.fail(
        f"{name} should be a shape written as a tuple of ints, e.g. (2, 3); "
        f"got {value!r}"
    )


def _actual_shapes(input_shape: tuple) -> dict[str, tuple]:
    with _seeded(0):
        lstm = nn.LSTM(**PREDICT_LSTM)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.zeros(input_shape))
    return {
        "output": tuple(output.shape),
        "h_n": tuple(h_n.shape),
        "c_n": tuple(c_n.shape),
    }


def _shape_mistakes(expected: dict[str, tuple], batched: bool) -> dict:
    """Wrong shapes learners write, each with the reason."""
    H = PREDICT_LSTM["hidden_size"]
    layers = PREDICT_LSTM["num_layers"]
    if not batched:
        return {
            (1, *expected["output"]): "an unbatched input (L, H_in) gives an unbatched "
            "output (L, D*H_out): no batch dimension is added",
            (expected["h_n"][0], 1, H): "an unbatched input gives unbatched h_n "
            "(D*num_layers, H_out): no batch dimension is added",
            (layers, H): "h_n stacks num_layers * D = 2 * 2 final states, one per "
            "layer and direction",
            (expected["output"][0], H): "output concatenates both directions: "
            "D*H_out features per step",
        }
    N, L, _ = expected["output"]
    return {
        (N, L, H): "output concatenates both directions: D*H_out = 2*16 = 32 features",
        (L, N, 2 * H): "batch_first=True makes output (N, L, D*H_out)",
        (N, 2 * layers, H): "h_n and c_n ignore batch_first: they are always "
        "(D*num_layers, N, H_out)",
        (layers, N, H): "h_n and c_n stack num_layers * D = 2 * 2 final states, one "
        "per layer and direction",
        (2 * layers, N, 2 * H): "h_n and c_n keep the directions apart (first axis), "
        "each H_out = 16 wide",
    }


def _check_shapes(
    prefix: str, predictions: dict, input_shape: tuple, batched: bool
) -> None:
    expected = _actual_shapes(input_shape)
    mistakes = _shape_mistakes(expected, batched)
    for kind, value in predictions.items():
        got = _as_shape(f"{prefix}_{kind}", value)
        if got != expected[kind]:
            reason = mistakes.get(got, "run the cell below and compare")
            core.fail(
                f"{prefix}_{kind} = {got} is not the shape nn.LSTM gives for an "
                f"input {input_shape} — {reason}"
            )
    core.passed(
        f"shapes for an input {input_shape}: "
        + ", ".join(f"{kind} {tuple(value)}" for kind, value in predictions.items())
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


def _call_make_batch(make_batch: Callable, sequences: list[torch.Tensor]):
    try:
        with core.quiet():
            return make_batch(list(sequences))
    except (NotImplementedError, core.CheckFailed):
        raise
    except Exception as error:  # noqa: BLE001 - any learner error becomes feedback
        text = str(error)
        if "enforce_sorted" in text:
            hint = (
                "the lengths are not sorted: pass enforce_sorted=False so "
                "pack_padded_sequence sorts them and remembers the order"
            )
        elif "batch_size" in text or "batch_first" in text:
            hint = _LAYOUT
        else:
            hint = "see the hints above the cell"
        core.fail(
            f"make_batch(list of {len(sequences)} sequences) raised "
            f"{type(error).__name__}: {error} — {hint}"
        )


_LAYOUT = (
    "pad_sequence and pack_padded_sequence must agree on the layout: pass "
    "batch_first=True to both"
)


def check_make_batch(
    make_batch: Callable, lengths=(5, 2, 7, 3), features: int = 3, seed: int = 0
) -> None:
    """make_batch(sequences) must return (PackedSequence, lengths) that keeps every
    sequence whole and in the order given."""
    sequences = _random_sequences(lengths, features, seed)
    originals = [s.clone() for s in sequences]
    result = _call_make_batch(make_batch, sequences)
    if not (isinstance(result, tuple) and len(result) == 2):
        core.fail(
            f"make_batch should return a pair (packed, lengths), got "
            f"{core.describe(result)}"
        )
    if any(not torch.equal(s, o) for s, o in zip(sequences, originals, strict=True)):
        core.fail("make_batch changed the sequences it was given; build new tensors")
    packed, got_lengths = result
    if not isinstance(packed, PackedSequence):
        core.fail(
            f"make_batch should return a PackedSequence first (from "
            f"pack_padded_sequence), got {core.describe(packed)} — a padded "
            f"tensor alone lets the LSTM run over the padding"
        )
    _check_lengths(got_lengths, lengths, features)
    try:
        unpacked = _unpack(packed)
    except RuntimeError as error:
        core.fail(f"the PackedSequence cannot be unpacked ({error}) — {_LAYOUT}")
    if len(unpacked) != len(originals):
        core.fail(
            f"the PackedSequence holds {len(unpacked)} sequences, expected "
            f"{len(originals)} — {_LAYOUT}"
        )
    for i, (original, got) in enumerate(zip(originals, unpacked, strict=True)):
        if torch.equal(got, original):
            continue
        if any(torch.equal(got, o) for o in originals):
            core.fail(
                f"sequence {i} of the batch is another sequence of the input: "
                f"keep the order of `sequences` (enforce_sorted=False sorts "
                f"internally and restores the order)"
            )
        core.fail(
            f"sequence {i} (length {lengths[i]}) does not come back from the "
            f"packed batch unchanged: got {tuple(got.shape)} — check the "
            f"lengths; {_LAYOUT}"
        )
    core.passed(f"make_batch packs {len(lengths)} sequences of lengths {list(lengths)}")


def _check_lengths(got, lengths, features: int) -> None:
    try:
        got = [int(n) for n in got]
    except (TypeError, ValueError):
        core.fail(f"lengths should be a tensor of ints, got {core.describe(got)}")
    if got == list(lengths):
        return
    if got == sorted(lengths, reverse=True) != list(lengths):
        reason = "they are sorted: keep the order of `sequences`"
    elif got == [features] * len(lengths):
        reason = (
            "each is the number of features: count the time steps of each "
            "sequence, len(s) or s.shape[0]"
        )
    else:
        reason = "count the time steps of each sequence, len(s) or s.shape[0]"
    core.fail(f"lengths = {got}, expected {list(lengths)} — {reason}")


def _unpack(packed: PackedSequence) -> list[torch.Tensor]:
    """The sequences a PackedSequence holds, in its original order."""
    padded, lengths = pad_packed_sequence(packed, batch_first=True)
    return [row[:n] for row, n in zip(padded, lengths.tolist(), strict=True)]


def _reference_lstm(
    input_size, hidden_size, num_layers, bidirectional, state_dict=None, seed: int = 0
) -> lstm_ref.LSTM:
    with _seeded(seed):
        lstm = lstm_ref.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=True,
            dtype=torch.float64,
        )
    if state_dict is not None:
        lstm.load_state_dict({k: v.double() for k, v in state_dict.items()})
    return lstm


# --- exercise 3: the classifier -------------------------------------------------------


def _build(cls: Callable, sizes: dict, seed: int) -> nn.Module:
    with _seeded(seed):
        model = core.call(cls.__name__, cls, **sizes)
    if not isinstance(model, nn.Module):
        core.fail(
            f"{cls.__name__}(...) should build an nn.Module, got {type(model).__name__}"
        )
    return model.double()


def _parts(model: nn.Module, sizes: dict) -> tuple[nn.LSTM, nn.Linear]:
    """The model's one nn.LSTM and its head, checked against the sizes asked for."""
    lstms = [m for m in model.modules() if isinstance(m, nn.LSTM)]
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(lstms) != 1 or len(heads) != 1:
        core.fail(
            f"the classifier should hold one nn.LSTM and one nn.Linear head; "
            f"found {len(lstms)} nn.LSTM and {len(heads)} nn.Linear"
        )
    (lstm,), (head,) = lstms, heads
    D = 2 if sizes["bidirectional"] else 1
    for name in ("input_size", "hidden_size", "num_layers", "bidirectional"):
        if getattr(lstm, name) != sizes[name]:
            core.fail(
                f"nn.LSTM has {name}={getattr(lstm, name)}, but "
                f"the classifier was asked for {name}={sizes[name]}"
            )
    if not lstm.batch_first:
        core.fail(
            "nn.LSTM was built with batch_first=False, but batches come as "
            "(N, L, features): pass batch_first=True"
        )
    if head.in_features != D * sizes["hidden_size"]:
        reason = (
            " — a bidirectional head reads both directions of the last layer"
            if D == 2 and head.in_features == sizes["hidden_size"]
            else ""
        )
        core.fail(
            f"the head reads {head.in_features} features, expected D*hidden_size "
            f"= {D * sizes['hidden_size']}{reason}"
        )
    if head.out_features != sizes["num_classes"]:
        core.fail(
            f"the head gives {head.out_features} scores, expected num_classes = "
            f"{sizes['num_classes']}"
        )
    return lstm, head


def _wrong_heads(head, states, sizes) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The right logits, and those of the usual mistakes keyed by their reason."""
    output_last, h_n, c_n = states
    bidirectional = sizes["bidirectional"]
    right = head(_last_layer(h_n, bidirectional))
    N = h_n.shape[1]
    wrong = {
        "it reads c_n, the cell state: the classifier reads h_n, the hidden state "
        "(what the LSTM outputs)": head(_last_layer(c_n, bidirectional)),
        "it applies softmax: return raw logits, nn.CrossEntropyLoss applies "
        "log_softmax itself": right.softmax(-1),
        "it applies log_softmax: return raw logits, nn.CrossEntropyLoss applies "
        "log_softmax itself": right.log_softmax(-1),
    }
    if bidirectional:
        wrong[
            "it reads output[:, -1]: for the reverse direction that is its state "
            "after ONE step (only the last row). Read h_n: torch.cat([h_n[-2], "
            "h_n[-1]], dim=-1)"
        ] = head(output_last)
        if h_n.shape[0] == 2:
            wrong[
                "it reshapes h_n (D, N, H) to (N, D*H) with view, which mixes "
                "entries of the batch: index h_n[-2] and h_n[-1] and concatenate"
            ] = head(h_n.reshape(N, -1))
    if sizes["num_layers"] > 1:
        first = h_n[:2] if bidirectional else h_n[:1]
        wrong[
            "it reads the first layer (h_n[0]): h_n is (num_layers*D, N, H) with "
            "the last layer at the end, h_n[-1] (and h_n[-2] for its reverse "
            "direction)"
        ] = head(_last_layer(first, bidirectional))
    return right, wrong


def _reference_states(lstm: nn.LSTM, sequences: list[torch.Tensor]):
    """Each sequence run alone through lstm_ref with the model's weights:
    (output at the last step, h_n, c_n) stacked over the batch."""
    ref = _reference_lstm(
        lstm.input_size,
        lstm.hidden_size,
        lstm.num_layers,
        lstm.bidirectional,
        state_dict=lstm.state_dict(),
    )
    outs, hs, cs = [], [], []
    for sequence in sequences:
        output, (h_n, c_n) = ref(sequence.unsqueeze(0))
        outs.append(output[0, -1])
        hs.append(h_n[:, 0])
        cs.append(c_n[:, 0])
    return torch.stack(outs), torch.stack(hs, dim=1), torch.stack(cs, dim=1)


def _forward(model: nn.Module, x, packed: bool) -> torch.Tensor:
    try:
        return core.call("model", model, x)
    except core.CheckFailed as failure:
        if packed and ("tuple" in str(failure) or "PackedSequence" in str(failure)):
            core.fail(
                f"{failure} — for packed input, `output` is a PackedSequence "
                f"(a named tuple of data and batch sizes), not a padded "
                f"tensor: read the final states from h_n"
            )
        raise


def check_digit_classifier(
    DigitClassifier: Callable,
    input_size: int = 3,
    hidden_size: int = 5,
    num_classes: int = 4,
    num_layers: int = 1,
    bidirectional: bool = False,
    lengths=(6, 6, 6),
    seed: int = 0,
) -> None:
    """DigitClassifier(...)(x) must give head(h_n of the last layer) as raw logits,
    for a batch-first tensor when all lengths agree, else for a PackedSequence."""
    sizes = dict(
        input_size=input_size,
        hidden_size=hidden_size,
        num_classes=num_classes,
        num_layers=num_layers,
        bidirectional=bidirectional,
    )
    model = _build(DigitClassifier, sizes, seed)
    lstm, head = _parts(model, sizes)
    sequences = _random_sequences(lengths, input_size, seed + 1)
    packed = len(set(lengths)) > 1
    x = reference_make_batch(sequences)[0] if packed else torch.stack(sequences)
    what = "a PackedSequence" if packed else f"a tensor {tuple(x.shape)}"
    with torch.no_grad():
        logits = _forward(model, x, packed)
        right, wrong = _wrong_heads(head, _reference_states(lstm, sequences), sizes)
    core.expect_shape(
        f"the logits for {what}",
        logits,
        tuple(right.shape),
        "one row of num_classes scores per sequence",
    )
    if not core.matches(logits, right, atol=1e-10):
        for reason, mistake in wrong.items():
            if core.matches(logits, mistake, atol=1e-10):
                core.fail(f"the logits for {what} are wrong — {reason}")
        core.expect_close(
            f"the logits for {what}",
            logits,
            right,
            "the head should read h_n of the last layer",
            atol=1e-10,
        )
    kind = f"{num_layers}-layer {'bidirectional ' if bidirectional else ''}LSTM"
    core.passed(f"DigitClassifier ({kind}) gives head(h_n) for {what}")


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


def watched(train: Callable, model: nn.Module, *args, **kwargs):
    """`train(model, ...)` with its output kept off stdout and stderr and its
    backward passes watched; runs where `train` runs (`core.beside`). Returns
    train's result and whether gradients accumulated from batch to batch."""
    watch = _Watch(model)
    sink = io.StringIO()
    try:
        with (
            core.using(train, make_batch=reference_make_batch),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            losses = train(model, *args, **kwargs)
    finally:
        watch.close()
    return losses, watch.accumulated


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
    losses, accumulated = core.call(
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
        core.fail(
            f"train should return a list of {epochs} numbers (the mean loss of "
            f"each epoch), got {core.describe(losses)}"
            + (f" of length {len(losses)}" if hasattr(losses, "__len__") else "")
        )
    try:
        losses = [float(loss) for loss in losses]
    except (TypeError, ValueError):
        core.fail("train should return plain numbers: use loss.item()")
    after = model.parameters()
    if all(torch.equal(p.detach(), s) for p, s in zip(after, start, strict=True)):
        core.fail(
            "training left the parameters unchanged: call loss.backward() and "
            "then optimizer.step() for every batch"
        )
    if accumulated:
        core.fail(
            "gradients accumulated from batch to batch: call "
            "optimizer.zero_grad() before loss.backward()"
        )
    if any(not math.isfinite(loss) for loss in losses):
        core.fail(
            f"the losses became {losses}: the learning rate is too large, or "
            f"the loss is not nn.CrossEntropyLoss"
        )
    if min(losses) < 0:
        core.fail(
            f"negative losses {[round(x, 3) for x in losses]}: nn.NLLLoss "
            f"expects log-probabilities; use nn.CrossEntropyLoss on raw logits"
        )
    return losses


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
        losses = _run_training(train, model, sequences, labels[:n], epochs, 2e-2, 32)
    if not losses[-1] < 0.9 * math.log(10):
        core.fail(
            f"the loss stayed near chance, ln(10) = 2.30: "
            f"{[round(x, 3) for x in losses]} — {_CHANCE}"
        )
    trained = mean_loss(model, sequences, labels[:n])
    if not trained < 0.9 * math.log(10):
        core.fail(
            f"train reported the losses {[round(x, 3) for x in losses]}, but the "
            f"model it left has loss {trained:.2f} on these digits, near chance "
            f"ln(10) = 2.30: return the mean loss of each epoch of the training "
            f"itself, and train the model you are given"
        )
    core.passed(
        f"train: losses {[round(x, 2) for x in losses]} over {epochs} epochs "
        f"on {n} variable-length digits"
    )


_CHANCE = (
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
        losses = _run_training(train, model, train_x, train_y, epochs, 1e-2, 64)
    score = accuracy(model, test_x, test_y)
    if score < threshold:
        chance = losses[-1] > 0.9 * math.log(10)
        reason = (
            f"the loss stayed near chance, ln(10): {_CHANCE}"
            if chance
            else "use torch.optim.Adam(model.parameters(), lr=lr), batches of "
            "batch_size, and nn.CrossEntropyLoss"
        )
        core.fail(
            f"after {epochs} epochs the model reaches {score:.1%} test accuracy "
            f"on held-out digits, below {threshold:.0%} — {reason}"
        )
    core.passed(
        f"train: {score:.1%} test accuracy on {len(test_y)} held-out digits "
        f"after {epochs} epochs (needed {threshold:.0%})"
    )
