"""The check of notebook 03's forget-bias exercise: `init_forget_bias(lstm, value)`.

It must set the forget gate's total bias, bias_ih + bias_hh on rows [H:2H], to `value`
in every layer and direction of an `nn.LSTM`, in place, and change nothing else; a
mistake is named from what changed (another chunk, the weights, both biases set, the
first layer only, the parameters replaced). The notebook's test cells call it through
`lstm_layer`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from autograder.i18n import _

from . import core


def _bias_names(lstm: nn.LSTM) -> list[tuple[str, str]]:
    return [
        (name, name.replace("bias_ih", "bias_hh"))
        for name, _p in lstm.named_parameters()
        if name.startswith("bias_ih")
    ]


@core.exercise("forget-bias")
@core.forked_rng()
def check_forget_bias(
    init_forget_bias: Callable,
    input_size: int = 3,
    hidden_size: int = 4,
    num_layers: int = 2,
    bidirectional: bool = True,
    value: float = 1.0,
    seed: int = 0,
) -> None:
    """After init_forget_bias(lstm, value): bias_ih + bias_hh on the forget chunk
    [H:2H] equals value in every layer and direction; nothing else changed."""
    torch.manual_seed(seed)
    lstm = nn.LSTM(
        input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional
    )
    what = (
        f"init_forget_bias(nn.LSTM({input_size}, {hidden_size}, "
        f"num_layers={num_layers}, bidirectional={bidirectional}), {value})"
    )
    before = copy.deepcopy(lstm.state_dict())
    no_grad = (
        "requires grad",
        _(
            "a parameter tracks its gradient, so autograd refuses to change it in "
            "place: make the assignments inside `with torch.no_grad():`"
        ),
    )
    with core.explain(no_grad):
        returned = core.call("init_forget_bias", init_forget_bias, lstm, value)
    params = dict(lstm.named_parameters())
    if set(params) != set(before):
        core.fail(
            _(
                "{what} changed which parameters the LSTM has: set entries of the "
                "existing bias tensors in place (under torch.no_grad())"
            ).format(what=what),
            "parameters-replaced",
        )
    H = hidden_size
    f = slice(H, 2 * H)
    chunks = {
        _("input gate i"): slice(0, H),
        _("candidate g"): slice(2 * H, 3 * H),
        _("output gate o"): slice(3 * H, 4 * H),
    }
    for name, p in params.items():
        if not isinstance(p, nn.Parameter) or not p.requires_grad:
            core.fail(
                _(
                    "{what}: {name} is no longer a trainable nn.Parameter — change "
                    "its entries in place inside torch.no_grad()"
                ).format(what=what, name=name),
                "not-a-parameter",
            )
        if name.startswith("weight") and not torch.equal(p.detach(), before[name]):
            core.fail(
                _("{what} changed {name}: only the biases should change").format(
                    what=what, name=name
                ),
                "weights-changed",
            )
        if name.startswith("bias"):
            for gate, chunk in chunks.items():
                if not torch.equal(p.detach()[chunk], before[name][chunk]):
                    core.fail(
                        _(
                            "{what} changed the {gate} chunk of {name} — torch "
                            "stacks the gates in the order i, f, g, o, so the "
                            "forget gate is rows [H:2H] = [{H}:{H2}]"
                        ).format(what=what, gate=gate, name=name, H=H, H2=2 * H),
                        "wrong-chunk",
                    )
    for ih, hh in _bias_names(lstm):
        total = (params[ih] + params[hh]).detach()[f]
        if torch.allclose(total, torch.full_like(total, value)):
            continue
        if torch.allclose(total, torch.full_like(total, 2 * value)):
            core.fail(
                _(
                    "{what}: {ih} + {hh} is {double:g} on the forget chunk — "
                    "torch adds both bias vectors, so setting both to {value:g} "
                    "doubles it; set {ih}'s forget chunk to {value:g} and {hh}'s "
                    "to 0"
                ).format(what=what, ih=ih, hh=hh, double=2 * value, value=value),
                "both-biases-set",
            )
        if torch.equal(params[ih].detach()[f], before[ih][f]):
            core.fail(
                _(
                    "{what} left {ih}'s forget chunk as it was — set the forget "
                    "bias in every layer and direction (iterate over "
                    "lstm.named_parameters(), not only the _l0 names)"
                ).format(what=what, ih=ih),
                "not-every-layer",
            )
        if torch.allclose(params[ih].detach()[f], torch.full_like(total, value)):
            core.fail(
                _(
                    "{what}: {ih}'s forget chunk is {value:g} but {hh}'s is not 0, "
                    "so the gate's total bias {ih} + {hh} is not {value:g}"
                ).format(what=what, ih=ih, hh=hh, value=value),
                "bias-hh-not-zero",
            )
        core.fail(
            _(
                "{what}: {ih} + {hh} on the forget chunk [{H}:{H2}] should be "
                "{value:g} everywhere, got {got}"
            ).format(
                what=what, ih=ih, hh=hh, H=H, H2=2 * H, value=value, got=total.tolist()
            ),
            "differs",
        )
    if returned is not lstm:
        core.fail(
            _(
                "{what} returned {got}: return lstm itself, "
                "so that `lstm = init_forget_bias(nn.LSTM(...), 1.0)` works"
            ).format(what=what, got=core.describe(returned)),
            "not-returned",
        )
    core.passed(
        _(
            "forget bias b_ih + b_hh = {value:g} on rows [H:2H] of every layer "
            "and direction; nothing else changed"
        ).format(value=value)
    )
