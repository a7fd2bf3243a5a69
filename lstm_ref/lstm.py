"""``LSTM``: torch.nn.LSTM, written as the loop its docstring describes."""

from .base import RNNBase
from .functional import lstm_step


class LSTM(RNNBase):
    r"""A multi-layer long short-term memory (LSTM) RNN over an input sequence.

    Every layer computes, for each time step :math:`t`:

    .. math::
        \begin{array}{ll}
        i_t = \sigma(x_t W_{ii}^T + b_{ii} + h_{t-1} W_{hi}^T + b_{hi}) \\
        f_t = \sigma(x_t W_{if}^T + b_{if} + h_{t-1} W_{hf}^T + b_{hf}) \\
        g_t = \tanh(x_t W_{ig}^T + b_{ig} + h_{t-1} W_{hg}^T + b_{hg}) \\
        o_t = \sigma(x_t W_{io}^T + b_{io} + h_{t-1} W_{ho}^T + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t = o_t \odot \tanh(c_t) \\
        \end{array}

    where :math:`x_t` is the input at time :math:`t` (for layer :math:`l > 0`, the
    output :math:`h^{(l-1)}_t` of the layer below, after dropout in training),
    :math:`h_{t-1}, c_{t-1}` the layer's previous hidden and cell states (the initial
    ones at :math:`t = 0`), :math:`i, f, g, o` the input, forget, cell and output
    gates, :math:`\sigma` the sigmoid and :math:`\odot` the elementwise product.
    With ``proj_size > 0``, :math:`h_t = (o_t \odot \tanh(c_t)) W_{hr}^T`: the
    projected :math:`h_t` is what recurs and what is output.

    Args:
        input_size: features of the input :math:`x`
        hidden_size: features of the hidden state :math:`h` (and of :math:`c`)
        num_layers: number of stacked layers. Default: 1
        bias: if ``False``, no ``b_ih`` and ``b_hh``. Default: ``True``
        batch_first: input and output are (N, L, *) instead of (L, N, *); never
            h and c. Default: ``False``
        dropout: dropout probability on the output of every layer but the last,
            in training mode only. Default: 0
        bidirectional: add a reverse direction, run from t = L-1 down to 0.
            Default: ``False``
        proj_size: if ``> 0``, project h to this size. Default: 0

    Inputs: input, (h_0, c_0)
        * **input**: (L, H_in) unbatched, (L, N, H_in), or (N, L, H_in) with
          ``batch_first``; or a ``PackedSequence``.
        * **h_0**: (D * num_layers, H_out) unbatched or (D * num_layers, N, H_out).
        * **c_0**: (D * num_layers, H_cell) unbatched or (D * num_layers, N, H_cell).
          Both default to zeros.

    Outputs: output, (h_n, c_n)
        * **output**: (L, D * H_out) unbatched, (L, N, D * H_out), or (N, L, D * H_out)
          with ``batch_first``: h_t of the last layer for every t, the two
          directions concatenated. A ``PackedSequence`` if the input was one.
        * **h_n**: (D * num_layers, N, H_out): the final h of every layer and
          direction, at index ``layer * D + direction``. The reverse direction ends
          at t = 0, so ``h_n[-1]`` is ``output[0, :, H_out:]``, not ``output[-1]``.
        * **c_n**: (D * num_layers, N, H_cell): the final cell states.

    where:

    .. math::
        \begin{aligned}
        N ={} & \text{batch size} \\
        L ={} & \text{sequence length} \\
        D ={} & 2 \text{ if bidirectional else } 1 \\
        H_{in} ={} & \text{input\_size} \\
        H_{cell} ={} & \text{hidden\_size} \\
        H_{out} ={} & \text{proj\_size if proj\_size} > 0 \text{ else hidden\_size}
        \end{aligned}

    Attributes:
        weight_ih_l[k]: (4*H_cell, H_in) for k = 0, else (4*H_cell, D * H_out),
            the four gates stacked as ``[W_ii | W_if | W_ig | W_io]``
        weight_hh_l[k]: (4*H_cell, H_out)
        bias_ih_l[k], bias_hh_l[k]: (4*H_cell)
        weight_hr_l[k]: (proj_size, H_cell), only with ``proj_size > 0``
        ..._reverse: the same for the reverse direction.
        All drawn from :math:`\mathcal{U}(-1/\sqrt{H_{cell}}, 1/\sqrt{H_{cell}})`.

    Examples::

        >>> lstm = LSTM(10, 20, 2)
        >>> input = torch.randn(5, 3, 10)
        >>> h0, c0 = torch.randn(2, 3, 20), torch.randn(2, 3, 20)
        >>> output, (hn, cn) = lstm(input, (h0, c0))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    # --- torch's checks, as torch's LSTM overrides them ------------------------------

    def get_expected_cell_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_lstm_hidden(input, hidden, batch_sizes)

    def check_lstm_hidden(self, input, hidden, batch_sizes):
        self.check_hidden_size(
            hidden[0],
            self.get_expected_hidden_size(input, batch_sizes),
            "Expected hidden[0] size {}, got {}",
        )
        self.check_hidden_size(
            hidden[1],
            self.get_expected_cell_size(input, batch_sizes),
            "Expected hidden[1] size {}, got {}",
        )

    def check_packed_args(self, input, hx, batch_sizes):
        # torch's LSTM leaves packed input to its kernel. That reports a wrong hx
        # obscurely ("got an incorrect number of RNN parameters"): lstm_ref checks
        # hx as torch does for unpacked input. A wrong input size fails the kernel's
        # first product, of all the rows with weight_ih_l0: lstm_ref says the same.
        self.check_lstm_hidden(input, hx, batch_sizes)
        w = self.weight_ih_l0
        if input.size(-1) != w.size(1):
            raise RuntimeError(
                "mat1 and mat2 shapes cannot be multiplied "
                f"({input.size(0)}x{input.size(-1)} and {w.size(1)}x{w.size(0)})"
            )

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def check_hx_dims(self, hx, is_batched):
        want, kind = (3, "batched 3-D") if is_batched else (2, "unbatched 2-D")
        if hx[0].dim() != want or hx[1].dim() != want:
            raise RuntimeError(
                f"For {kind} input, hx and cx should also be {want}-D but got "
                f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
            )
        return hx if is_batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))

    # --- the cell ---------------------------------------------------------------------

    def zero_hidden(self, batch_size, input):
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (
            self._zeros(batch_size, input, real_hidden_size),
            self._zeros(batch_size, input, self.hidden_size),
        )

    def cell(self, x_t, state, weights):
        w = weights
        return lstm_step(
            x_t, *state, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"],
            w["weight_hr"],
        )  # fmt: skip

    def _as_state(self, hx):
        if len(hx) != 2:  # ATen's lstm, after torch's checks
            raise RuntimeError("lstm expects two hidden states")
        return tuple(hx)

    def _from_state(self, state):
        return state
