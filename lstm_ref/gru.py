"""``GRU``: torch.nn.GRU, the gated recurrent unit."""

from .base import RNNBase
from .functional import gru_cell


class GRU(RNNBase):
    r"""A multi-layer gated recurrent unit (GRU) RNN over an input sequence.

    Every layer computes, for each time step :math:`t`:

    .. math::
        \begin{array}{ll}
        r_t = \sigma(x_t W_{ir}^T + b_{ir} + h_{t-1} W_{hr}^T + b_{hr}) \\
        z_t = \sigma(x_t W_{iz}^T + b_{iz} + h_{t-1} W_{hz}^T + b_{hz}) \\
        n_t = \tanh(x_t W_{in}^T + b_{in} + r_t \odot (h_{t-1} W_{hn}^T + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{array}

    where :math:`x_t` is the input at time :math:`t` (for layer :math:`l > 0`, the
    output of the layer below, after dropout in training), :math:`h_{t-1}` the
    layer's previous hidden state, and :math:`r, z, n` the reset, update and new
    gates, stacked in that order in the weights.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout,
        bidirectional: as for :class:`lstm_ref.LSTM`.

    Inputs: input, h_0 and Outputs: output, h_n: as for :class:`lstm_ref.RNN`.

    Attributes:
        weight_ih_l[k]: (3*H, H_in) for k = 0, else (3*H, D * H)
        weight_hh_l[k]: (3*H, H)
        bias_ih_l[k], bias_hh_l[k]: (3*H)
        ..._reverse: the same for the reverse direction.
        All drawn from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.

    Examples::

        >>> gru = GRU(10, 20, 2)
        >>> output, hn = gru(torch.randn(5, 3, 10), torch.randn(2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError(
                "proj_size argument is only supported for LSTM, not RNN or GRU"
            )
        super().__init__("GRU", *args, **kwargs)

    def cell(self, x_t, state, weights):
        w = weights
        return (
            gru_cell(x_t, *state, w["weight_ih"], w["weight_hh"], w["bias_ih"],
                     w["bias_hh"]),
        )  # fmt: skip
