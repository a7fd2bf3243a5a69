r"""The step equations of the Elman RNN, the LSTM and the GRU, as plain tensor code.

Each function has the name and the arguments of the notebook exercise it answers, so
a learner can put the two side by side after solving it:

* ``rnn_cell`` (01); ``lstm_gates``, ``lstm_cell`` and ``gru_cell`` (02);
  ``lstm_layer`` (03); ``lstm_step`` (04, with the projection of ``proj_size``).
* ``rnn_relu_cell`` is ``rnn_cell`` with ReLU in place of tanh
  (``nn.RNN(nonlinearity="relu")``).

Shapes: ``N`` batch, ``H_in`` input size, ``H`` hidden size, ``P`` projection size.
Every cell also takes unbatched input (drop the ``N``). The hand-written gradients of
an LSTM step are in :mod:`lstm_ref.backward`.
"""

import torch

__all__ = [
    "gru_cell",
    "lstm_cell",
    "lstm_gates",
    "lstm_layer",
    "lstm_step",
    "rnn_cell",
    "rnn_relu_cell",
]


def linear(x, weight, bias=None):
    """``x @ weight.T + bias``: the affine map every gate is built from (torch's
    fused ``linear``, one product-and-add, as torch's own cells compute it)."""
    return torch.nn.functional.linear(x, weight, bias)


# --- Elman RNN (notebook 01) ----------------------------------------------------------


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    r"""One step of an Elman RNN: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T
    + b_{hh})`.

    x: (N, H_in) or (H_in); h: (N, H) or (H); w_ih: (H, H_in); w_hh: (H, H);
    b_ih, b_hh: (H) or None. Returns h': shaped like h.
    """
    return torch.tanh(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh))


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """``rnn_cell`` with ReLU in place of tanh."""
    return torch.relu(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh))


# --- LSTM (notebooks 02, 03, 04) ------------------------------------------------------


def lstm_gates(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    r"""The four gates of one LSTM step, after their activations.

    .. math::
        \begin{array}{ll}
        i = \sigma(x W_{ii}^T + b_{ii} + h W_{hi}^T + b_{hi}) \\
        f = \sigma(x W_{if}^T + b_{if} + h W_{hf}^T + b_{hf}) \\
        g = \tanh(x W_{ig}^T + b_{ig} + h W_{hg}^T + b_{hg}) \\
        o = \sigma(x W_{io}^T + b_{io} + h W_{ho}^T + b_{ho})
        \end{array}

    the input, forget, cell and output gates, stacked in that order in
    ``weight_ih = [W_ii | W_if | W_ig | W_io]`` (and likewise ``weight_hh``,
    ``bias_ih``, ``bias_hh``).

    x: (N, H_in) or (H_in); h: (N, H_out) or (H_out); weight_ih: (4*H, H_in);
    weight_hh: (4*H, H_out); bias_ih, bias_hh: (4*H) or None.
    Returns (i, f, g, o), each (N, H) or (H).
    """
    gates = linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=-1)  # torch's order: input, forget, cell, output
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    r"""One LSTM step, as ``torch.nn.LSTMCell`` computes it.

    .. math::
        c' = f \odot c + i \odot g, \qquad h' = o \odot \tanh(c')

    with the gates of :func:`lstm_gates` and :math:`\odot` the elementwise product.

    x: (N, H_in) or (H_in); state: the pair (h, c), each (N, H) or (H); the weights
    as in :func:`lstm_gates`. Returns (h', c'), shaped like h and c.
    """
    h, c = state
    return lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)


def lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    r"""One step of one layer of ``torch.nn.LSTM``, with its projection.

    :func:`lstm_cell` and, when ``w_hr`` (P, H) is given (``proj_size = P``),
    :math:`h' = (o \odot \tanh(c')) W_{hr}^T`: the projected h' (N, P) is what
    recurs and what the layer outputs; c' keeps width H.

    Returns (h', c'): (N, H_out) and (N, H), H_out = P with a projection, else H.
    """
    i, f, g, o = lstm_gates(x, h, w_ih, w_hh, b_ih, b_hh)
    c_next = f * c + i * g  # (N, H)
    h_next = o * torch.tanh(c_next)  # (N, H)
    if w_hr is not None:
        h_next = h_next @ w_hr.T  # (N, P)
    return h_next, c_next


def lstm_layer(x, params, state=None, batch_first=False):
    """One LSTM layer over a batch of sequences, like a one-layer ``nn.LSTM``.

    x: (L, N, H_in), or (N, L, H_in) when ``batch_first``.
    params: torch's names without the ``_l0``: "weight_ih", "weight_hh", and
        optionally "bias_ih", "bias_hh" and "weight_hr" (a projection).
    state: (h_0, c_0), each (1, N, H_out) / (1, N, H) whatever batch_first is;
        None means zeros.
    Returns (output, (h_n, c_n)): output (L, N, H_out), or (N, L, H_out) when
    ``batch_first``, holds h_t of every step; h_n and c_n are (1, N, *).
    """
    if batch_first:
        x = x.transpose(0, 1)  # (L, N, H_in): time first inside the layer
    weights = [params.get(k) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    w_hr = params.get("weight_hr")
    if state is None:
        H, N = params["weight_ih"].shape[0] // 4, x.shape[1]
        H_out = H if w_hr is None else w_hr.shape[0]
        state = (x.new_zeros(1, N, H_out), x.new_zeros(1, N, H))
    h, c = state[0][0], state[1][0]  # (N, *): the step has no layer axis
    outputs = []
    for x_t in x:  # t = 0, ..., L-1
        h, c = lstm_step(x_t, h, c, *weights, w_hr)
        outputs.append(h)
    output = torch.stack(outputs)  # (L, N, H_out)
    if batch_first:
        output = output.transpose(0, 1)
    return output, (h[None], c[None])


# --- GRU (notebook 02) ----------------------------------------------------------------


def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    r"""One step of a GRU, as ``torch.nn.GRUCell`` computes it.

    .. math::
        \begin{array}{ll}
        r = \sigma(x W_{ir}^T + b_{ir} + h W_{hr}^T + b_{hr}) \\
        z = \sigma(x W_{iz}^T + b_{iz} + h W_{hz}^T + b_{hz}) \\
        n = \tanh(x W_{in}^T + b_{in} + r \odot (h W_{hn}^T + b_{hn})) \\
        h' = (1 - z) \odot n + z \odot h
        \end{array}

    the reset, update and new gates, stacked in that order in
    ``weight_ih = [W_ir | W_iz | W_in]`` (and likewise the others).

    x: (N, H_in) or (H_in); h: (N, H) or (H); weight_ih: (3*H, H_in);
    weight_hh: (3*H, H); bias_ih, bias_hh: (3*H) or None. Returns h'.
    """
    x_r, x_z, x_n = linear(x, weight_ih, bias_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales the recurrent part only
    return (1 - z) * n + z * h
