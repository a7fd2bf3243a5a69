"""lstm_ref: a readable re-implementation of torch.nn.LSTM, RNN and GRU that agrees
with the installed torch to float64 round-off.

``functional`` holds the step equations under the names of the notebook exercises
they answer, ``backward`` notebook 06's hand-written gradients; ``LSTM``, ``RNN`` and
``GRU`` share one driver (``base.RNNBase``: torch's checks, the loop over time, the
layers and directions; ``packed`` runs a ``PackedSequence``); ``shapes`` predicts
every shape from the constructor arguments.
"""

from . import backward, functional, shapes
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
    "backward",
    "functional",
    "shapes",
]
