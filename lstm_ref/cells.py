"""``RNNCell``, ``LSTMCell``, ``GRUCell``: one time step, with torch's parameters."""

import math

import torch
from torch import nn

from . import _checks
from .functional import gru_cell, lstm_cell, rnn_cell


class RNNCellBase(nn.Module):
    """Parameters ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H), ``bias_ih``,
    ``bias_hh`` (G*H), for G = num_chunks gates, drawn from U(-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(
        self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None
    ):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        G = num_chunks
        self.weight_ih = nn.Parameter(torch.empty((G * hidden_size, input_size), **kw))
        self.weight_hh = nn.Parameter(torch.empty((G * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.bias is not True:
            s += ", bias={bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _run(self, cell, input, state, **kwargs):
        """Check, add a batch dimension if needed, apply ``cell``, remove it again."""
        _checks.check_cell_dims(type(self).__name__, input, state)
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            state = tuple(s.unsqueeze(0) for s in state)
        if not state:  # omitted: zeros
            zeros = torch.zeros(
                input.size(0), self.hidden_size, dtype=input.dtype, device=input.device
            )
            state = (zeros,) * self.num_states
        _checks.check_cell_sizes(input, state, self.weight_ih.size(1), self.hidden_size)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        out = cell(input, state if len(state) > 1 else state[0], *weights, **kwargs)
        if batched:
            return out
        return tuple(o.squeeze(0) for o in out) if len(state) > 1 else out.squeeze(0)


class RNNCell(RNNCellBase):
    r"""An Elman RNN cell: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`
    (ReLU in place of tanh with ``nonlinearity='relu'``).

    Args: input_size, hidden_size, bias (default ``True``), nonlinearity
    (default ``'tanh'``).
    Inputs: input (N, H_in) or (H_in); hidden (N, H) or (H), zeros if omitted.
    Outputs: h' (N, H) or (H).
    """

    num_states = 1

    def __init__(
        self,
        input_size,
        hidden_size,
        bias=True,
        nonlinearity="tanh",
        device=None,
        dtype=None,
    ):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        state = () if hx is None else (hx,)
        return self._run(rnn_cell, input, state, nonlinearity=self.nonlinearity)


class LSTMCell(RNNCellBase):
    r"""An LSTM cell: one step of :class:`lstm_ref.LSTM`, computed by
    :func:`lstm_ref.functional.lstm_cell` (the equations are in its docstring).

    Args: input_size, hidden_size, bias (default ``True``).
    Inputs: input (N, H_in) or (H_in); (h_0, c_0) each (N, H) or (H), zeros if
    omitted.
    Outputs: (h_1, c_1), each (N, H) or (H).
    Attributes: weight_ih (4*H, H_in), weight_hh (4*H, H), bias_ih and bias_hh
    (4*H), the gates stacked in the order i, f, g, o.
    """

    num_states = 2

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        return self._run(lstm_cell, input, () if hx is None else tuple(hx))


class GRUCell(RNNCellBase):
    r"""A GRU cell: one step of :class:`lstm_ref.GRU` (gates r, z, n).

    Args: input_size, hidden_size, bias (default ``True``).
    Inputs: input (N, H_in) or (H_in); hidden (N, H) or (H), zeros if omitted.
    Outputs: h' (N, H) or (H).
    """

    num_states = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._run(gru_cell, input, () if hx is None else (hx,))
