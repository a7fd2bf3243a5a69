"""lstm_ref: a readable re-implementation of torch.nn.LSTM, RNN and GRU that agrees with
the installed torch to float64 round-off.

``lstm_ref.functional`` holds the step equations; the modules reproduce torch's
constructor arguments, parameter names and forward behaviour.
"""

from . import functional

__all__ = ["functional"]
