"""The check of notebook 01's clip-grad-norm exercise, against torch itself.

`check_clip_grad_norm` gives the learner's `clip_grad_norm(parameters, max_norm)`
seeded float64 gradients above max_norm, below it and with a parameter without .grad,
passed as a generator (as net.parameters() is), and compares the returned total norm
and the clipped gradients with `torch.nn.utils.clip_grad_norm_`; on a mismatch it names
the usual slips (scaled not in place, the norm after clipping returned, the norms
summed, each parameter clipped on its own, scaled up). The notebook's test cells call
it through `rnn_limits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from autograder.i18n import _

from . import core

DTYPE = torch.float64

# --- exercise: clip-grad-norm -------------------------------------------------------


def _parameters_with_grads(
    shapes, scale: float, generator: torch.Generator, none_at: int | None = None
) -> list[torch.Tensor]:
    parameters = []
    for index, shape in enumerate(shapes):
        p = torch.randn(*shape, generator=generator, dtype=DTYPE, requires_grad=True)
        if index != none_at:
            p.grad = torch.randn(*shape, generator=generator, dtype=DTYPE) * scale
        parameters.append(p)
    return parameters


def _copy(parameters: list[torch.Tensor]) -> list[torch.Tensor]:
    copies = []
    for p in parameters:
        q = p.detach().clone().requires_grad_()
        q.grad = None if p.grad is None else p.grad.clone()
        copies.append(q)
    return copies


def _factor(total_norm, max_norm: float) -> float:
    """torch's clipping factor: min(1, max_norm / (total_norm + 1e-6))."""
    return min(1.0, max_norm / (float(total_norm) + 1e-6))


def _global_norm(parameters) -> float:
    return math.sqrt(
        sum(float(p.grad.norm()) ** 2 for p in parameters if p.grad is not None)
    )


@core.exercise("clip-grad-norm")
def check_clip_grad_norm(
    clip_grad_norm: Callable,
    seed: int = 0,
    shapes: tuple = ((4, 3), (4,), (2, 4)),
    max_norm: float = 1.0,
) -> None:
    """clip_grad_norm(parameters, max_norm) against torch.nn.utils.clip_grad_norm_:
    a gradient above max_norm, one below it, a parameter without .grad, and the
    parameters passed as a generator (as net.parameters() is)."""
    g = core.generator(seed)
    base = math.sqrt(sum(math.prod(s) for s in shapes))  # norm of unit randn grads
    cases = {
        _("a gradient of norm above max_norm"): (10 * max_norm / base, None),
        _("a gradient of norm below max_norm"): (0.3 * max_norm / base, None),
        _("a parameter whose .grad is None"): (10 * max_norm / base, 1),
    }
    for case, (scale, none_at) in cases.items():
        mine = _parameters_with_grads(shapes, scale, g, none_at)
        torch_params = _copy(mine)
        before = [None if p.grad is None else p.grad.clone() for p in mine]
        got = core.call("clip_grad_norm", clip_grad_norm, (p for p in mine), max_norm)
        expected = float(torch.nn.utils.clip_grad_norm_(torch_params, max_norm))
        try:
            total = float(got)
        except (TypeError, ValueError, RuntimeError):
            core.fail(
                _(
                    "clip_grad_norm should return the total norm (a number or a "
                    "0-d tensor), got {got} ({case})"
                ).format(got=core.describe(got), case=case),
                "not-a-number",
            )
        unchanged = all(
            b is None or torch.equal(p.grad, b)
            for p, b in zip(mine, before, strict=True)
        )
        if expected > max_norm and unchanged:
            core.fail(
                _(
                    "with {case} the gradients were not scaled: change each .grad "
                    "in place (an in-place operation, whose name ends in _), and if "
                    "you loop over `parameters` twice, make it a list first — a "
                    "generator such as net.parameters() is empty the second time"
                ).format(case=case),
                "not-scaled",
            )
        if not math.isclose(total, expected, rel_tol=1e-6):
            if math.isclose(total, min(expected, max_norm), rel_tol=1e-4):
                core.fail(
                    _(
                        "clip_grad_norm returned {total:.6g}, the norm after "
                        "clipping; torch returns the total norm before clipping, "
                        "{expected:.6g}"
                    ).format(total=total, expected=expected),
                    "norm-after-clipping",
                )
            summed = sum(float(b.norm()) for b in before if b is not None)
            if math.isclose(total, summed, rel_tol=1e-6):
                core.fail(
                    _(
                        "the total norm is the sum of the parameters' norms: it is "
                        "the norm of all gradients joined into one vector, "
                        "sqrt(sum of squared norms)"
                    ),
                    "norms-summed",
                )
            core.fail(
                _(
                    "clip_grad_norm returned {total:.6g}, torch's total norm is "
                    "{expected:.6g} ({case}) — the global L2 norm over every "
                    "parameter's .grad"
                ).format(total=total, expected=expected, case=case),
                "wrong-total-norm",
            )
        for index, (p, q) in enumerate(zip(mine, torch_params, strict=True)):
            if q.grad is None:
                if p.grad is not None:
                    core.fail(
                        _("parameter {index} had no .grad and should keep none").format(
                            index=index
                        ),
                        "grad-created",
                    )
                continue
            if torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-12):
                continue
            if expected < max_norm:
                core.fail(
                    _(
                        "with {case} (norm {before:.3g}) the gradients changed "
                        "to norm {norm:.3g}: clipping must never scale up — "
                        "gradients whose total norm is within max_norm stay as they are"
                    ).format(case=case, before=expected, norm=_global_norm(mine)),
                    "scales-up",
                )
            if all(
                b is None or core.matches(m.grad, b * _factor(b.norm(), max_norm))
                for m, b in zip(mine, before, strict=True)
            ):
                core.fail(
                    _(
                        "each parameter was clipped on its own norm: clipping "
                        "scales every gradient by one common factor from the global "
                        "norm, so the direction of the whole gradient is kept"
                    ),
                    "clipped-separately",
                )
            core.fail(
                _(
                    "parameter {index}'s gradient differs from torch's after "
                    "clipping ({case}): every .grad is scaled by one factor, "
                    "computed from the total norm and max_norm as §5 shows"
                ).format(index=index, case=case),
                "differs",
            )
    core.passed(
        _(
            "clip_grad_norm matches torch.nn.utils.clip_grad_norm_ (max_norm="
            "{max_norm}, {count} parameters, above and below the limit)"
        ).format(max_norm=max_norm, count=len(shapes))
    )
