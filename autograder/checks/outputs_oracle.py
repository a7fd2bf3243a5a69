"""The oracle of notebook 05's checks (`inputs_outputs`, `padded_outputs`) and the
calling and diagnosing of learner code they share.

The oracle is `lstm_ref.LSTM` run in float64 from a seed (`_lstm`, `_run`: output and
h_n of a batched or unbatched input); `_attempt` calls learner code with the likely
cause of its exception, `_diagnose` names a known mistake or compares with the
expected answer; `_describe` says which LSTM and input a message is about.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from autograder.checks import core
from autograder.checks.core import fail
from autograder.i18n import _
from lstm_ref import LSTM

INPUT_SIZE = 3


# ---------------------------------------------------------------------------
# Running the oracle


def _lstm(hidden_size: int, num_layers: int = 1, bidirectional=False):
    return LSTM(
        INPUT_SIZE, hidden_size, num_layers, bidirectional=bidirectional
    ).double()


def _run(seed: int, num_layers: int, bidirectional: bool, batch: int | None, steps=5):
    """(output, h_n) of a seeded LSTM on a batched (batch = N) or unbatched input."""
    shape = (steps, batch, INPUT_SIZE) if batch else (steps, INPUT_SIZE)
    with core.forked_rng(seed), torch.no_grad():
        lstm = _lstm(4, num_layers, bidirectional)
        output, (h_n, _c_n) = lstm(torch.randn(shape, dtype=torch.float64))
    return output, h_n


def _describe(num_layers: int, bidirectional: bool, batch: int | None) -> str:
    if bidirectional and batch:
        text = _("a {num_layers}-layer bidirectional LSTM on a batch of {batch}")
    elif bidirectional:
        text = _("a {num_layers}-layer bidirectional LSTM on an unbatched input")
    elif batch:
        text = _("a {num_layers}-layer unidirectional LSTM on a batch of {batch}")
    else:
        text = _("a {num_layers}-layer unidirectional LSTM on an unbatched input")
    return text.format(num_layers=num_layers, batch=batch)


def _attempt(
    name: str, fn: Callable, *args, hint: str = "", mistake: str = "", by_error=None
):
    """Call learner code; on an exception, fail with its message and a likely cause:
    `by_error[exception type name]` = (mistake, cause) if given, else `hint` (the
    mistake `mistake`, else `raised`)."""
    rules = [
        (f"{kind}:", because, named)
        for kind, (named, because) in (by_error or {}).items()
    ]
    fallback = [("", hint, mistake or "raised")] if hint else []
    with core.explain(*rules, *fallback):
        return core.call(name, fn, *args)


def _diagnose(
    name: str,
    got,
    expected: torch.Tensor,
    known: list[core.Known],
    context: str,
    hint: str = "",
    explain: Callable[[], None] = lambda: None,
):
    """Fail with the first known mistake `got` matches (None, or a mistake that gives
    the right answer on this case, is skipped); else, if `got` is wrong, let
    `explain` name a cause, and compare with `expected`."""
    found = core.find_mistake(got, known, correct=expected)
    if found:
        fail(
            _("{name} for {context}: {message}").format(
                name=name, context=context, message=found.message
            ),
            found.mistake,
        )
    if not core.matches(got, expected):
        explain()
    core.expect_close(
        _("{name} for {context}").format(name=name, context=context),
        got,
        expected,
        hint,
    )
