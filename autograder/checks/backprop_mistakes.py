"""The known mistakes of notebook 06's exercises, each computed, to recognise a
learner's answer: `gates_backward_variant` and `GATES_MISTAKES` (gates_backward: a
missing path into c', the old c, no local derivatives, σ's derivative for g, the gate
order, c_prev without f), `sequence_backward_variant` and `SEQUENCE_MISTAKES`
(lstm_sequence_backward: a gradient not carried, only the last output, weights
overwritten, the loop forward in time). The keys, with dashes, are the mistakes'
names; the messages are marked `N_`, translated where `backprop` uses them.
"""

from __future__ import annotations

import torch

from autograder.i18n import N_
from lstm_ref.backward import lstm_cell_backward as ref_cell_backward

GATES = ("i", "f", "g", "o")


def gates_backward_variant(grad_h, grad_c, cache, mistake):
    """A known wrong `gates_backward` (`mistake` is a key of GATES_MISTAKES), to
    recognise a learner's answer."""
    i, f, g, o = (cache[k] for k in GATES)
    # tanh(c') feeds both h' and the o gate's gradient; the old c is a slip
    tanh_c = torch.tanh(cache["c" if mistake == "tanh_of_old_c" else "c_next"])
    through_h = grad_h * o * (1 - tanh_c**2)
    grad_c_next = {
        "no_tanh_path": grad_c,
        "no_upstream_c": through_h,
    }.get(mistake, grad_c + through_h)
    grad_i, grad_f, grad_g = grad_c_next * g, grad_c_next * cache["c"], grad_c_next * i
    grad_o = grad_h * tanh_c
    if mistake == "no_local_derivatives":
        parts = [grad_i, grad_f, grad_g, grad_o]
    elif mistake == "sigmoid_for_g":
        parts = [
            grad_i * i * (1 - i),
            grad_f * f * (1 - f),
            grad_g * g * (1 - g),
            grad_o * o * (1 - o),
        ]
    else:
        parts = [
            grad_i * i * (1 - i),
            grad_f * f * (1 - f),
            grad_g * (1 - g**2),
            grad_o * o * (1 - o),
        ]
    if mistake == "order_ifog":
        parts = [parts[0], parts[1], parts[3], parts[2]]
    grad_c_prev = grad_c_next if mistake == "c_prev_without_f" else grad_c_next * f
    return torch.cat(parts, dim=-1), grad_c_prev


GATES_MISTAKES = {  # the keys, with dashes, are the mistakes' names
    "no_tanh_path": N_(
        "the path from grad_h through h' = o ⊙ tanh(c') into c' is missing: two "
        "paths reach c', and their gradients add (§3's equations)"
    ),
    "no_upstream_c": N_(
        "grad_c is ignored: the gradient that arrives from the next step "
        "through the cell state adds to the one coming through h'"
    ),
    "tanh_of_old_c": N_(
        "tanh is taken of the old cell state c; h' = o * tanh(c') uses "
        "the new one, cache['c_next'], in the o gate's gradient and in the tanh path"
    ),
    "no_local_derivatives": N_(
        "grad_gates is taken after the activations: it is the gradient with respect "
        "to the pre-activations, so each gate's gradient still passes through its "
        "activation's local derivative (§2)"
    ),
    "sigmoid_for_g": N_(
        "the candidate g is a tanh, not a sigmoid: its gradient passes through "
        "tanh's local derivative, not σ's (§2)"
    ),
    "order_ifog": N_(
        "grad_gates is stacked in the order i, f, o, g; torch packs the "
        "gates as i, f, g, o"
    ),
    "c_prev_without_f": N_(
        "grad_c_prev misses the forget gate: differentiate c' = f ⊙ c + i ⊙ g with "
        "respect to c (§3)"
    ),
}


def sequence_backward_variant(grad_output, caches, params, mistake):
    """A known wrong backward pass, to recognise it."""
    totals = {k: torch.zeros_like(v) for k, v in params.items()}
    grad_h = torch.zeros_like(grad_output[0])
    grad_c = torch.zeros_like(caches[0]["c"])
    grad_x = []
    order = range(len(caches)) if mistake == "forward_in_time" else None
    for t in order or reversed(range(len(caches))):
        upstream = grad_output[t]
        if mistake == "last_only" and t < len(caches) - 1:
            upstream = torch.zeros_like(upstream)
        carried_c = torch.zeros_like(grad_c) if mistake == "c_not_carried" else grad_c
        carried_h = 0 * grad_h if mistake == "h_not_carried" else grad_h
        step = ref_cell_backward(upstream + carried_h, carried_c, caches[t])
        for key in totals:
            totals[key] = (
                step[key] if mistake == "overwritten" else totals[key] + step[key]
            )
        grad_h, grad_c = step["h"], step["c"]
        grad_x.append((t, step["x"]))
    grad_x = [g for _t, g in sorted(grad_x, key=lambda pair: pair[0])]
    return {"x": torch.stack(grad_x), "h_0": grad_h, "c_0": grad_c, **totals}


SEQUENCE_MISTAKES = {  # the keys, with dashes, are the mistakes' names
    "c_not_carried": N_(
        "the cell-state gradient is not carried from step t to step t-1: "
        "pass the grad_c that step t returns into step t-1 (this is the additive path "
        "that lets LSTM gradients survive)"
    ),
    "h_not_carried": N_(
        "the gradient that step t sends back to h_(t-1) is dropped: h_(t-1) reaches "
        "the loss through the output and through step t, and the two gradients add "
        "(§6)"
    ),
    "last_only": N_(
        "only the last step's output gradient is used: every h_t is in the "
        "output, so grad_output[t] must be added to the gradient arriving from step t+1"
    ),
    "overwritten": N_(
        "the weight gradients are overwritten at every step: the same "
        "weights are used at every step, so their gradients add up over time"
    ),
    "forward_in_time": N_(
        "the loop runs forward in time: the gradient of step t needs what step t+1 "
        "sends back, so backpropagation through time starts at the last step (§6)"
    ),
}
