"""``RNNCell``, ``LSTMCell``, ``GRUCell``: one time step, with torch's parameters."""

import math

import torch
from torch import nn

from . import _checks
from .functional import gru_cell, lstm_cell, rnn_cell, rnn_relu_cell


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

    def _forward_one_state(self, cell, input, hx):
        """torch's ``RNNCell.forward`` and ``GRUCell.forward``, then ATen's checks."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead"
            )
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(
                f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead"
            )
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = input.new_zeros(input.size(0), self.hidden_size)
        else:
            hx = hx.unsqueeze(0) if not is_batched else hx
        if cell is None:  # RNNCell's nonlinearity is neither "tanh" nor "relu"
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        _checks.check_rnn_cell_forward_input(input, self.weight_ih.size(1))
        _checks.check_rnn_cell_forward_hidden(input, hx, self.weight_hh.size(1), 0)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        ret = cell(input, hx, *weights)
        return ret if is_batched else ret.squeeze(0)


class RNNCell(RNNCellBase):
    r"""An Elman RNN cell: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`
    (ReLU in place of tanh with ``nonlinearity='relu'``).

    Args: input_size, hidden_size, bias (default ``True``), nonlinearity
    (default ``'tanh'``).
    Inputs: input (N, H_in) or (H_in); hidden (N, H) or (H), zeros if omitted.
    Outputs: h' (N, H) or (H).
    """

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
        cell = {"tanh": rnn_cell, "relu": rnn_relu_cell}.get(self.nonlinearity)
        return self._forward_one_state(cell, input, hx)


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

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(
                f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead"
            )
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got "
                        f"{value.dim()}D instead"
                    )
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = input.new_zeros(input.size(0), self.hidden_size)
            hx = (zeros, zeros)
        else:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0)) if not is_batched else hx
        # ATen's lstm_cell: its Python binding takes a tuple, then it checks
        if isinstance(hx, torch.Tensor):
            raise TypeError(
                "lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, "
                "not Tensor"
            )
        if len(hx) != 2:
            raise RuntimeError("lstm_cell expects two hidden states")
        _checks.check_rnn_cell_forward_input(input, self.weight_ih.size(1))
        hidden_size = self.weight_hh.size(1)
        _checks.check_rnn_cell_forward_hidden(input, hx[0], hidden_size, 0)
        _checks.check_rnn_cell_forward_hidden(input, hx[1], hidden_size, 1)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        ret = lstm_cell(input, hx, *weights)
        return ret if is_batched else (ret[0].squeeze(0), ret[1].squeeze(0))


class GRUCell(RNNCellBase):
    r"""A GRU cell: one step of :class:`lstm_ref.GRU` (gates r, z, n).

    Args: input_size, hidden_size, bias (default ``True``).
    Inputs: input (N, H_in) or (H_in); hidden (N, H) or (H), zeros if omitted.
    Outputs: h' (N, H) or (H).
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._forward_one_state(gru_cell, input, hx)
