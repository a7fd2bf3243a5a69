"""Checks for 07_training's classifier exercise: `DigitClassifier`, an nn.LSTM and a
linear head on the last layer's final h.

The learner's model is built, its one nn.LSTM and one nn.Linear are checked against
the sizes asked for, and its logits are compared with its own head applied to the
final states `lstm_ref` computes from the model's weights, each sequence run alone
(so packing mistakes cannot agree by accident). Wrong logits are matched against the
usual mistakes: c_n read, softmax applied, output[:, -1] read for the reverse
direction, h_n reshaped, the first layer read.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

import lstm_ref
from autograder.checks import core
from autograder.checks.training_references import (
    _last_layer,
    _random_sequences,
    reference_make_batch,
)
from autograder.i18n import _


def _reference_lstm(
    input_size, hidden_size, num_layers, bidirectional, state_dict=None, seed: int = 0
) -> lstm_ref.LSTM:
    with core.forked_rng(seed):
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


def _build(cls: Callable, sizes: dict, seed: int) -> nn.Module:
    with core.forked_rng(seed):
        model = core.call(cls.__name__, cls, **sizes)
    if not isinstance(model, nn.Module):
        core.fail(
            _("{name}(...) should build an nn.Module, got {got}").format(
                name=cls.__name__, got=type(model).__name__
            ),
            "not-a-module",
        )
    return model.double()


def _parts(model: nn.Module, sizes: dict) -> tuple[nn.LSTM, nn.Linear]:
    """The model's one nn.LSTM and its head, checked against the sizes asked for."""
    lstms = [m for m in model.modules() if isinstance(m, nn.LSTM)]
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(lstms) != 1 or len(heads) != 1:
        core.fail(
            _(
                "the classifier should hold one nn.LSTM and one nn.Linear head; "
                "found {lstms} nn.LSTM and {heads} nn.Linear"
            ).format(lstms=len(lstms), heads=len(heads)),
            "wrong-modules",
        )
    (lstm,), (head,) = lstms, heads
    D = 2 if sizes["bidirectional"] else 1
    for name in ("input_size", "hidden_size", "num_layers", "bidirectional"):
        if getattr(lstm, name) != sizes[name]:
            core.fail(
                _(
                    "nn.LSTM has {name}={got}, but "
                    "the classifier was asked for {name}={asked}"
                ).format(name=name, got=getattr(lstm, name), asked=sizes[name]),
                "lstm-arguments",
            )
    if not lstm.batch_first:
        core.fail(
            _(
                "nn.LSTM was built with batch_first=False, but batches come as "
                "(N, L, features): pass batch_first=True"
            ),
            "not-batch-first",
        )
    if head.in_features != D * sizes["hidden_size"]:
        message = _(
            "the head reads {got} features, expected D*hidden_size = {expected}"
        ).format(got=head.in_features, expected=D * sizes["hidden_size"])
        if D == 2 and head.in_features == sizes["hidden_size"]:
            reason = _("a bidirectional head reads both directions of the last layer")
            message = f"{message} — {reason}"
        core.fail(message, "head-width")
    if head.out_features != sizes["num_classes"]:
        core.fail(
            _("the head gives {got} scores, expected num_classes = {expected}").format(
                got=head.out_features, expected=sizes["num_classes"]
            ),
            "head-classes",
        )
    return lstm, head


def _wrong_heads(head, states, sizes) -> tuple[torch.Tensor, list[core.Known]]:
    """The right logits, and the usual mistakes with the logits they give."""
    output_last, h_n, c_n = states
    bidirectional = sizes["bidirectional"]
    right = head(_last_layer(h_n, bidirectional))
    N = h_n.shape[1]
    first = h_n[:2] if bidirectional else h_n[:1]
    Known = core.Known
    return right, [
        Known(
            "reads-c-n",
            _(
                "it reads c_n, the cell state: the classifier reads h_n, the hidden "
                "state (what the LSTM outputs)"
            ),
            head(_last_layer(c_n, bidirectional)),
        ),
        Known(
            "softmax",
            _(
                "it applies softmax: return raw logits, nn.CrossEntropyLoss applies "
                "log_softmax itself"
            ),
            right.softmax(-1),
        ),
        Known(
            "log-softmax",
            _(
                "it applies log_softmax: return raw logits, nn.CrossEntropyLoss "
                "applies log_softmax itself"
            ),
            right.log_softmax(-1),
        ),
        Known(
            "output-last-step",
            _(
                "it reads output[:, -1]: for the reverse direction that is its state "
                "after ONE step (only the last row). Read the last layer's two final "
                "states from h_n"
            ),
            head(output_last) if bidirectional else None,
        ),
        Known(
            "h-n-reshaped",
            _(
                "it reshapes h_n (D, N, H) to (N, D*H) with view, which mixes "
                "entries of the batch: take the last layer's rows of h_n one by one"
            ),
            head(h_n.reshape(N, -1)) if bidirectional and h_n.shape[0] == 2 else None,
        ),
        Known(
            "first-layer",
            _(
                "it reads the first layer (h_n[0]): h_n is (num_layers*D, N, H) with "
                "the last layer at the end"
            ),
            head(_last_layer(first, bidirectional))
            if sizes["num_layers"] > 1
            else None,
        ),
    ]


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
        said = failure.message
        if packed and ("tuple" in said or "PackedSequence" in said):
            core.fail(
                _(
                    "{failure} — for packed input, `output` is a PackedSequence "
                    "(a named tuple of data and batch sizes), not a padded "
                    "tensor: read the final states from h_n"
                ).format(failure=said),
                "packed-output",
            )
        raise


@core.exercise("digit-classifier")
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
    what = (
        _("a PackedSequence")
        if packed
        else _("a tensor {shape}").format(shape=tuple(x.shape))
    )
    logits_for = _("the logits for {what}").format(what=what)
    with torch.no_grad():
        logits = _forward(model, x, packed)
        right, wrong = _wrong_heads(head, _reference_states(lstm, sequences), sizes)
    core.expect_shape(
        logits_for,
        logits,
        tuple(right.shape),
        _("one row of num_classes scores per sequence"),
    )
    if not core.matches(logits, right, atol=1e-10):
        found = core.find_mistake(logits, wrong, atol=1e-10)
        if found:
            core.fail(
                _("the logits for {what} are wrong — {reason}").format(
                    what=what, reason=found.message
                ),
                found.mistake,
            )
        core.expect_close(
            logits_for,
            logits,
            right,
            _("the head should read h_n of the last layer"),
            atol=1e-10,
        )
    kind = (
        _("{num_layers}-layer bidirectional LSTM")
        if bidirectional
        else _("{num_layers}-layer LSTM")
    ).format(num_layers=num_layers)
    core.passed(
        _("DigitClassifier ({kind}) gives head(h_n) for {what}").format(
            kind=kind, what=what
        )
    )
