r"""The step equations of the Elman RNN, the LSTM and the GRU, as plain tensor code.

Every cell is split in two, the way torch's own CPU kernel runs it:

* the **input part** ``x W_ih^T + b_ih`` does not depend on the previous state, so a
  layer computes it for all time steps in one matrix product;
* the **step** (``rnn_step``, ``lstm_step``, ``gru_step``) adds the recurrent part
  ``h W_hh^T + b_hh`` and applies the gates: one matrix product per time step.

``rnn_cell``, ``lstm_cell`` and ``gru_cell`` put the two parts together for a single
step. ``unroll`` runs a step along a (possibly packed) sequence; ``lstm_layer`` is one
direction of one LSTM layer. Shapes: ``N`` batch, ``H`` hidden size, ``P`` projection
size. Every cell also takes unbatched input (drop the ``N``).
"""

import torch

__all__ = [
    "gru_cell",
    "gru_step",
    "lstm_cell",
    "lstm_cell_backward",
    "lstm_layer",
    "lstm_step",
    "rnn_cell",
    "rnn_step",
    "unroll",
]


def linear(x, weight, bias=None):
    """``x @ weight.T + bias``: the affine map every gate is built from.

    torch's fused ``linear`` (one matrix product-and-add, as in torch's own cells).
    """
    return torch.nn.functional.linear(x, weight, bias)


# --- Elman RNN ------------------------------------------------------------------------


def rnn_step(x_proj, h_0, w_hh, b_hh=None, nonlinearity="tanh"):
    """One RNN step given the input part ``x_proj = x W_ih^T + b_ih``, shape (N, H)."""
    act = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
    return act(x_proj + linear(h_0, w_hh, b_hh))  # (N, H)


def rnn_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    r"""One step of an Elman RNN.

    .. math::
        h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})

    where :math:`x` is the input, :math:`h` the previous hidden state and
    :math:`h'` the next one; ``nonlinearity="relu"`` puts ReLU in place of tanh.

    Args:
        input: (N, H_in) or (H_in)
        hx: (N, H) or (H)
        w_ih: (H, H_in); w_hh: (H, H); b_ih, b_hh: (H) or None

    Returns:
        h': (N, H) or (H)
    """
    return rnn_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh, nonlinearity)


# --- LSTM -----------------------------------------------------------------------------


def lstm_step(x_proj, hx, w_hh, b_hh=None, w_hr=None):
    """One LSTM step given the input part ``x_proj = x W_ih^T + b_ih``, (N, 4*H)."""
    h_0, c_0 = hx
    gates = x_proj + linear(h_0, w_hh, b_hh)  # (N, 4*H)
    i, f, g, o = gates.chunk(4, dim=-1)  # torch's order: input, forget, cell, output
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_1 = f * c_0 + i * g  # (N, H)
    h_1 = o * torch.tanh(c_1)  # (N, H)
    if w_hr is not None:
        h_1 = h_1 @ w_hr.T  # (N, P): the projected h is what recurs
    return h_1, c_1


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    r"""One step of an LSTM.

    .. math::
        \begin{array}{ll}
        i = \sigma(x W_{ii}^T + b_{ii} + h W_{hi}^T + b_{hi}) \\
        f = \sigma(x W_{if}^T + b_{if} + h W_{hf}^T + b_{hf}) \\
        g = \tanh(x W_{ig}^T + b_{ig} + h W_{hg}^T + b_{hg}) \\
        o = \sigma(x W_{io}^T + b_{io} + h W_{ho}^T + b_{ho}) \\
        c' = f \odot c + i \odot g \\
        h' = o \odot \tanh(c') \\
        \end{array}

    where :math:`i, f, g, o` are the input, forget, cell and output gates, stacked
    in that order in ``w_ih = [W_ii | W_if | W_ig | W_io]`` (and likewise ``w_hh``,
    ``b_ih``, ``b_hh``), :math:`\sigma` is the sigmoid and :math:`\odot` the
    elementwise product. With a projection ``w_hr``, :math:`h' = (o \odot
    \tanh(c')) W_{hr}^T`.

    Args:
        input: (N, H_in) or (H_in)
        hx: the pair (h, c), each (N, H_out) / (N, H), or unbatched (H_out) / (H)
        w_ih: (4*H, H_in); w_hh: (4*H, H_out); b_ih, b_hh: (4*H) or None
        w_hr: (P, H) or None. H_out = P with a projection, else H.

    Returns:
        (h', c'): (N, H_out) and (N, H), or unbatched (H_out) and (H)
    """
    return lstm_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh, w_hr)


def lstm_cell_backward(
    grad_h, grad_c, input, hx, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None
):
    r"""The gradients of one ``lstm_cell`` step, by hand (no autograd).

    Given :math:`\partial \ell / \partial h'` (``grad_h``) and
    :math:`\partial \ell / \partial c'` (``grad_c``, the gradient that arrives from
    the next step through the cell state), the chain rule back through the cell:

    .. math::
        \begin{array}{ll}
        m = o \odot \tanh(c'), \quad \delta m = \delta h' \, W_{hr}
        \text{ (or } \delta h' \text{ if no } W_{hr}) \\
        \delta o = \delta m \odot \tanh(c') \\
        \delta c' \mathrel{+}= \delta m \odot o \odot (1 - \tanh^2(c')) \\
        \delta c = \delta c' \odot f, \quad \delta f = \delta c' \odot c, \quad
        \delta i = \delta c' \odot g, \quad \delta g = \delta c' \odot i \\
        \delta a = [\delta i \odot i(1-i) \,|\, \delta f \odot f(1-f) \,|\,
                    \delta g \odot (1-g^2) \,|\, \delta o \odot o(1-o)] \\
        \delta x = \delta a \, W_{ih}, \quad \delta h = \delta a \, W_{hh}, \quad
        \delta W_{ih} = \delta a^T x, \quad \delta W_{hh} = \delta a^T h, \quad
        \delta b_{ih} = \delta b_{hh} = \textstyle\sum_n \delta a
        \end{array}

    where :math:`a` are the gate pre-activations (N, 4*H). ``grad_h`` or ``grad_c``
    may be None (no gradient from that side).

    Returns:
        dict with keys "input", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr",
        each shaped like its tensor; None for an absent bias or projection.
    """
    h_0, c_0 = hx
    batched = input.dim() == 2
    if not batched:  # work on a batch of one, squeeze at the end
        input, h_0, c_0 = input[None], h_0[None], c_0[None]
        grad_h = None if grad_h is None else grad_h[None]
        grad_c = None if grad_c is None else grad_c[None]

    # Forward again, keeping the intermediate values.
    gates = linear(input, w_ih, b_ih) + linear(h_0, w_hh, b_hh)  # (N, 4*H)
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_1 = f * c_0 + i * g
    tanh_c_1 = torch.tanh(c_1)
    m = o * tanh_c_1  # h' before the projection, (N, H)

    # Backward, in reverse order of the forward.
    if grad_h is None:
        grad_h = torch.zeros_like(m if w_hr is None else m @ w_hr.T)
    grad_c = torch.zeros_like(c_1) if grad_c is None else grad_c
    grad_w_hr = None if w_hr is None else grad_h.T @ m  # (P, H)
    grad_m = grad_h if w_hr is None else grad_h @ w_hr  # (N, H)
    grad_o = grad_m * tanh_c_1
    grad_c_1 = grad_c + grad_m * o * (1 - tanh_c_1**2)  # both paths into c'
    grad_i, grad_f, grad_g = grad_c_1 * g, grad_c_1 * c_0, grad_c_1 * i
    grad_c_0 = grad_c_1 * f
    grad_gates = torch.cat(  # (N, 4*H): through sigmoid' = s(1-s) and tanh' = 1-t^2
        [
            grad_i * i * (1 - i),
            grad_f * f * (1 - f),
            grad_g * (1 - g**2),
            grad_o * o * (1 - o),
        ],
        dim=-1,
    )
    grad_b = grad_gates.sum(0)  # (4*H,)
    grads = {
        "input": grad_gates @ w_ih,  # (N, H_in)
        "h": grad_gates @ w_hh,  # (N, H_out)
        "c": grad_c_0,  # (N, H)
        "w_ih": grad_gates.T @ input,  # (4*H, H_in)
        "w_hh": grad_gates.T @ h_0,  # (4*H, H_out)
        "b_ih": None if b_ih is None else grad_b,
        "b_hh": None if b_hh is None else grad_b.clone(),
        "w_hr": grad_w_hr,
    }
    if not batched:
        for key in ("input", "h", "c"):
            grads[key] = grads[key][0]
    return grads


# --- GRU ------------------------------------------------------------------------------


def gru_step(x_proj, h_0, w_hh, b_hh=None):
    """One GRU step given the input part ``x_proj = x W_ih^T + b_ih``, (N, 3*H)."""
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)  # torch's order: reset, update, new
    h_r, h_z, h_n = linear(h_0, w_hh, b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)  # (N, H)
    z = torch.sigmoid(x_z + h_z)  # (N, H)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales the recurrent part only
    return (1 - z) * n + z * h_0  # (N, H)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    r"""One step of a GRU.

    .. math::
        \begin{array}{ll}
        r = \sigma(x W_{ir}^T + b_{ir} + h W_{hr}^T + b_{hr}) \\
        z = \sigma(x W_{iz}^T + b_{iz} + h W_{hz}^T + b_{hz}) \\
        n = \tanh(x W_{in}^T + b_{in} + r \odot (h W_{hn}^T + b_{hn})) \\
        h' = (1 - z) \odot n + z \odot h
        \end{array}

    where :math:`r, z, n` are the reset, update and new gates, stacked in that order
    in ``w_ih = [W_ir | W_iz | W_in]`` (and likewise ``w_hh``, ``b_ih``, ``b_hh``).

    Args:
        input: (N, H_in) or (H_in)
        hx: (N, H) or (H)
        w_ih: (3*H, H_in); w_hh: (3*H, H); b_ih, b_hh: (3*H) or None

    Returns:
        h': (N, H) or (H)
    """
    return gru_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh)


# --- along a sequence -----------------------------------------------------------------


def unroll(step, inputs, state, batch_sizes, reverse=False):
    """Run ``step`` along a sequence stored as packed rows.

    ``inputs`` holds the rows of time step 0, then of step 1, ... (the layout of
    ``PackedSequence.data``): ``batch_sizes[t]`` rows at step t, the sequences sorted
    longest first, so the active ones at step t are the first ``batch_sizes[t]``.
    A plain (L, N, *) batch is the case ``batch_sizes = [N] * L``.

    ``state`` is a tuple of (N, *) tensors, ``step(x_t, state) -> state``, and the
    first tensor of the state is the output. Rows that are not active keep their
    state: going forward, a sequence that has ended keeps its final state; going in
    reverse, a sequence that has not started yet keeps its initial state, so the
    reverse direction never sees padding.

    Returns:
        (outputs, state): outputs in the same packed row layout (time order, also
        when ``reverse``), and the final state of every sequence.
    """
    inputs = inputs.split(list(batch_sizes))  # the rows of each time step
    times = range(len(inputs))
    outputs = [None] * len(inputs)
    for t in reversed(times) if reverse else times:
        n = batch_sizes[t]
        everyone = n == len(state[0])
        active = step(inputs[t], state if everyone else tuple(s[:n] for s in state))
        outputs[t] = active[0]
        if everyone:
            state = active
        else:  # the inactive sequences keep their rows of the state
            state = tuple(
                torch.cat([a, s[n:]]) for a, s in zip(active, state, strict=True)
            )
    return torch.cat(outputs), state


def lstm_layer(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, reverse=False):
    """One direction of one LSTM layer over a time-major batch.

    Args:
        input: (L, N, H_in)
        hx: the pair (h_0, c_0), shapes (N, H_out) and (N, H)
        reverse: run t = L-1, ..., 0 (the reverse direction of a bidirectional LSTM);
            the output still comes back in time order.

    Returns:
        (output, (h_n, c_n)): output (L, N, H_out) holds h_t of every step.
    """
    L, N, _ = input.shape
    x_proj = linear(input, w_ih, b_ih).reshape(L * N, -1)  # (L*N, 4*H): all steps

    def step(x_t, state):
        return lstm_step(x_t, state, w_hh, b_hh, w_hr)

    output, (h_n, c_n) = unroll(step, x_proj, tuple(hx), [N] * L, reverse)
    return output.reshape(L, N, -1), (h_n, c_n)
