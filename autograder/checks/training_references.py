"""The references and data of notebook 07's checks (`training`, `training_loop`,
`classifier`).

An exercise that builds on an earlier one is graded with a reference in place of the
learner's earlier answer: `reference_make_batch` for `make_batch`, `ReferenceClassifier`
for `DigitClassifier`. The data: scikit-learn's 8x8 digits as sequences of 8 rows,
split by a seeded permutation (`digit_split`), and seeded random sequences.
"""

from __future__ import annotations

import functools

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from autograder.checks import core

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
