"""lstm_ref: a readable re-implementation of torch.nn.LSTM, RNN and GRU that agrees
with the installed torch to float64 round-off.

``functional`` holds the step equations; ``LSTM``, ``RNN`` and ``GRU`` share one
driver (``base.RNNBase``) that stacks layers, runs both directions and handles packed
sequences; ``shapes`` predicts every shape from the constructor arguments.
"""

from . import functional, shapes
from .cells import GRUCell, LSTMCell, RNNCell
from .gru import GRU
from .lstm import LSTM
from .rnn import RNN

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNCell",
    "functional",
    "shapes",
]
