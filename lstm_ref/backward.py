r"""The gradients of an LSTM by hand (no autograd), with notebook 06's names.

``lstm_cell_forward`` runs one step and keeps a ``cache`` (a dict with keys x, h, c,
i, f, g, o, c_next, weight_ih, weight_hh: the gates after their activations);
``gates_backward`` and ``lstm_cell_backward`` go back through that step,
``lstm_sequence_backward`` through a whole layer (backpropagation through time).

For one step, with :math:`\delta y = \partial \ell / \partial y`:

.. math::
    \begin{array}{ll}
    \delta c' \mathrel{+}= \delta h' \odot o \odot (1 - \tanh^2(c')), \quad
    \delta o = \delta h' \odot \tanh(c') \\
    \delta c = \delta c' \odot f, \quad \delta f = \delta c' \odot c, \quad
    \delta i = \delta c' \odot g, \quad \delta g = \delta c' \odot i \\
    \delta a = [\delta i \odot i(1-i) \,|\, \delta f \odot f(1-f) \,|\,
                \delta g \odot (1-g^2) \,|\, \delta o \odot o(1-o)] \\
    \delta x = \delta a \, W_{ih}, \quad \delta h = \delta a \, W_{hh}, \quad
    \delta W_{ih} = \delta a^T x, \quad \delta W_{hh} = \delta a^T h, \quad
    \delta b_{ih} = \delta b_{hh} = \textstyle\sum_n \delta a
    \end{array}

where :math:`a` (N, 4*H) are the gate pre-activations. Shapes: x (N, H_in), h and c
(N, H).
"""

import torch

from .functional import lstm_gates

__all__ = [
    "gates_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_sequence_backward",
    "lstm_sequence_forward",
    "sigmoid_backward",
    "tanh_backward",
]

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def sigmoid_backward(grad, s):
    """Gradient through s = sigmoid(a), given grad = dl/ds and the output s."""
    return grad * s * (1 - s)


def tanh_backward(grad, t):
    """Gradient through t = tanh(a), given grad = dl/dt and the output t."""
    return grad * (1 - t**2)


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM step. Returns h_next (N, H), c_next (N, H) and the cache."""
    i, f, g, o = lstm_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    cache = {"x": x, "h": h, "c": c, "i": i, "f": f, "g": g, "o": o,
             "c_next": c_next, "weight_ih": weight_ih,
             "weight_hh": weight_hh}  # fmt: skip
    return h_next, c_next, cache


def gates_backward(grad_h, grad_c, cache):
    """Backward through the gates and the cell update of one step.

    grad_h: dl/dh' (N, H); grad_c: dl/dc' arriving from the next step (N, H).
    Returns (grad_gates, grad_c_prev): dl/da (N, 4H) in the order i, f, g, o, and
    dl/dc (N, H).
    """
    i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
    tanh_c = torch.tanh(cache["c_next"])
    grad_c_next = grad_c + tanh_backward(grad_h * o, tanh_c)  # both paths into c'
    grad_i = sigmoid_backward(grad_c_next * g, i)
    grad_f = sigmoid_backward(grad_c_next * cache["c"], f)
    grad_g = tanh_backward(grad_c_next * i, g)
    grad_o = sigmoid_backward(grad_h * tanh_c, o)
    grad_gates = torch.cat([grad_i, grad_f, grad_g, grad_o], dim=-1)
    return grad_gates, grad_c_next * f


def lstm_cell_backward(grad_h, grad_c, cache):
    """All the gradients of one LSTM step: a dict with keys "x" (N, H_in), "h",
    "c" (N, H), "weight_ih" (4H, H_in), "weight_hh" (4H, H), "bias_ih", "bias_hh"
    (4H,)."""
    grad_gates, grad_c_prev = gates_backward(grad_h, grad_c, cache)
    grad_bias = grad_gates.sum(dim=0)  # every row of the batch adds the same bias
    return {
        "x": grad_gates @ cache["weight_ih"],
        "h": grad_gates @ cache["weight_hh"],
        "c": grad_c_prev,
        "weight_ih": grad_gates.T @ cache["x"],
        "weight_hh": grad_gates.T @ cache["h"],
        "bias_ih": grad_bias,
        "bias_hh": grad_bias.clone(),  # both biases enter the gates the same way
    }


def lstm_sequence_forward(x, h_0, c_0, params):
    """Run lstm_cell_forward over x (L, N, H_in). Returns output (L, N, H), caches;
    ``params`` holds "weight_ih", "weight_hh", "bias_ih", "bias_hh"."""
    h, c, outputs, caches = h_0, c_0, [], []
    for x_t in x:
        h, c, cache = lstm_cell_forward(x_t, h, c, **params)
        outputs.append(h)
        caches.append(cache)
    return torch.stack(outputs), caches


def lstm_sequence_backward(grad_output, caches):
    """Backpropagation through time for one LSTM layer.

    grad_output: dl/d output, (L, N, H); caches: the L caches of the forward pass.
    Returns a dict with keys "x" (L, N, H_in), "h_0" (N, H), "c_0" (N, H) and the
    four weights' gradients, summed over time.
    """
    grad_h = torch.zeros_like(grad_output[0])  # nothing arrives after the last step
    grad_c = torch.zeros_like(caches[0]["c"])
    grad_x = [None] * len(caches)
    totals = dict.fromkeys(WEIGHTS, 0)
    for t in reversed(range(len(caches))):
        # h_t goes both into the output and into step t+1: the gradients add.
        step = lstm_cell_backward(grad_output[t] + grad_h, grad_c, caches[t])
        grad_x[t] = step["x"]
        grad_h, grad_c = step["h"], step["c"]
        for name in WEIGHTS:
            totals[name] = totals[name] + step[name]
    return {"x": torch.stack(grad_x), "h_0": grad_h, "c_0": grad_c, **totals}
