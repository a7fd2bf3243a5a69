"""``RNN``: torch.nn.RNN, the Elman RNN the LSTM was designed to improve on."""

from .base import RNNBase
from .functional import rnn_cell, rnn_relu_cell


class RNN(RNNBase):
    r"""A multi-layer Elman RNN with tanh or ReLU over an input sequence.

    Every layer computes, for each time step :math:`t`:

    .. math::
        h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})

    where :math:`x_t` is the input at time :math:`t` (for layer :math:`l > 0`, the
    output of the layer below, after dropout in training) and :math:`h_{t-1}` the
    layer's previous hidden state (the initial one at :math:`t = 0`). With
    ``nonlinearity='relu'``, ReLU replaces tanh.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout,
        bidirectional: as for :class:`lstm_ref.LSTM`.
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``

    Inputs: input, h_0
        * **input**: (L, H_in) unbatched, (L, N, H_in), or (N, L, H_in) with
          ``batch_first``; or a ``PackedSequence``.
        * **h_0**: (D * num_layers, H) unbatched or (D * num_layers, N, H).
          Defaults to zeros.

    Outputs: output, h_n
        * **output**: (L, D * H), (L, N, D * H) or (N, L, D * H): h_t of the last
          layer for every t.
        * **h_n**: (D * num_layers, N, H): the final h of every layer and direction.

    where N is the batch size, L the sequence length, D = 2 if bidirectional else 1,
    H_in = input_size and H = hidden_size.

    Attributes:
        weight_ih_l[k]: (H, H_in) for k = 0, else (H, D * H)
        weight_hh_l[k]: (H, H)
        bias_ih_l[k], bias_hh_l[k]: (H)
        ..._reverse: the same for the reverse direction.
        All drawn from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.

    Examples::

        >>> rnn = RNN(10, 20, 2)
        >>> output, hn = rnn(torch.randn(5, 3, 10), torch.randn(2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        # torch's RNN takes nonlinearity as its 4th positional argument.
        if "proj_size" in kwargs:
            raise ValueError(
                "proj_size argument is only supported for LSTM, not RNN or GRU"
            )
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. "
                "Select from 'tanh' or 'relu'."
            )
        super().__init__(modes[self.nonlinearity], *args, **kwargs)

    def cell(self, x_t, state, weights):
        w = weights
        cell = rnn_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        return (
            cell(x_t, *state, w["weight_ih"], w["weight_hh"], w["bias_ih"],
                 w["bias_hh"]),
        )  # fmt: skip
