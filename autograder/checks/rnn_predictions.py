"""The gradient-norm predictions of notebook 01 (predict-gradient-norm).

The learner predicts ‖∂h_T/∂h_0‖ after 50 steps of a linear RNN whose w_hh has every
singular value equal to rho (0.9 and 1.1), and whether tanh makes it smaller or larger.
The visible test checks only that the answers are well formed
(`check_prediction_format`); the hidden one grades the numbers (`check_prediction`,
rho**T within 5%) and names the usual slips: rho * T, one step's norm, one factor
too few or too many, the direction reversed. The notebook's test cells call both
through `rnn_limits`.
"""

from __future__ import annotations

import math

from autograder.i18n import _

from . import core

# --- exercise: predict-gradient-norm ------------------------------------------------

# The answers a learner writes (the same strings in every language).
NORM_CHOICES = ("smaller or equal", "larger or equal", "it depends on the input")


def _predicted_norms(norm_after_50_steps) -> dict[float, float]:
    if not isinstance(norm_after_50_steps, dict) or set(norm_after_50_steps) != {
        0.9,
        1.1,
    }:
        core.fail(
            _(
                "norm_after_50_steps should be a dict with the keys 0.9 and 1.1, "
                "got {got!r}"
            ).format(got=norm_after_50_steps),
            "malformed",
        )
    try:
        return {rho: float(v) for rho, v in norm_after_50_steps.items()}
    except (TypeError, ValueError):
        core.fail(
            _(
                "norm_after_50_steps should map each radius to a number, got {got!r}"
            ).format(got=norm_after_50_steps),
            "malformed",
        )


def _predicted_choice(with_tanh) -> str:
    if with_tanh not in NORM_CHOICES:
        core.fail(
            _("with_tanh should be one of {choices}, got {got!r}").format(
                choices=NORM_CHOICES, got=with_tanh
            ),
            "malformed",
        )
    return with_tanh


@core.exercise("predict-gradient-norm")
def check_prediction_format(norm_after_50_steps, with_tanh) -> None:
    """The visible test only checks that the answers are well formed; the numbers
    are graded by the hidden test, and the next figure shows them."""
    _predicted_norms(norm_after_50_steps)
    _predicted_choice(with_tanh)
    core.passed(
        _(
            "your predictions are well formed (graded by the hidden test; the "
            "figure below shows the answer)"
        )
    )


@core.exercise("predict-gradient-norm")
def check_prediction(norm_after_50_steps, with_tanh, steps: int = 50) -> None:
    """The numbers: a linear RNN with w_hh = rho * Q has ‖∂h_T/∂h_0‖ = rho**T exactly;
    tanh' <= 1 can only make the norm smaller."""
    predicted = _predicted_norms(norm_after_50_steps)
    for rho, value in predicted.items():
        exact = rho**steps
        if math.isclose(value, exact, rel_tol=0.05):
            continue
        fields = dict(rho=rho, value=value, steps=steps, exact=exact)
        if math.isclose(value, rho * steps, rel_tol=0.05):
            core.fail(
                _(
                    "for rho = {rho} you predicted {value:.3g} = rho * T: the "
                    "Jacobian is a product of T factors, so the radii multiply, "
                    "they do not add"
                ).format(**fields),
                "radii-added",
            )
        if math.isclose(value, rho, rel_tol=0.05):
            core.fail(
                _(
                    "for rho = {rho} you predicted {value:.3g}, the norm of one "
                    "step: after {steps} steps the factors multiply"
                ).format(**fields),
                "one-step",
            )
        if any(math.isclose(value, rho ** (steps + k), rel_tol=0.02) for k in (-1, 1)):
            core.fail(
                _(
                    "for rho = {rho} you predicted {value:.3g}, one factor rho too "
                    "few or too many: the {steps} steps from h_0 to h_T each "
                    "contribute one step Jacobian, no more, no less"
                ).format(**fields),
                "off-by-one-step",
            )
        if value > 0 and math.isclose(value, 1 / exact, rel_tol=0.2):
            if rho < 1:
                message = _(
                    "for rho = {rho} you predicted {value:.3g} = 1 / rho**T: the "
                    "direction is reversed — a radius below 1 makes the norm shrink, "
                    "to rho**T"
                )
            else:
                message = _(
                    "for rho = {rho} you predicted {value:.3g} = 1 / rho**T: the "
                    "direction is reversed — a radius above 1 makes the norm grow, "
                    "to rho**T"
                )
            core.fail(message.format(**fields), "direction-reversed")
        core.fail(
            _(
                "for rho = {rho} you predicted {value:.3g}; the measured norm is "
                "{exact:.3g} — each step multiplies by the Jacobian w_hh.T, whose "
                "norm is rho"
            ).format(**fields),
            "differs",
        )
    if _predicted_choice(with_tanh) != "smaller or equal":
        core.fail(
            _(
                "with tanh the norm is always smaller or equal (you said {said!r}): "
                "each step multiplies by diag(1 - h_t**2), and tanh' = 1 - tanh**2 is "
                "at most 1 whatever the input"
            ).format(said=with_tanh),
            "tanh-not-smaller",
        )
    core.passed(
        _("your predictions are right: rho**T for the linear RNN, never more with tanh")
    )
