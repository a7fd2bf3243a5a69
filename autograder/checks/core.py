"""The building blocks every check helper uses.

A check compares a learner's function with `lstm_ref` and either prints one short
confirmation (`passed`) or raises `CheckFailed` with a message that says what was
checked, what was expected, what came, and the likely cause. Test cells call checks;
a raised `CheckFailed` is what nbgrader sees as a failed test.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import torch


class CheckFailed(AssertionError):
    """A learner's answer is wrong; the message says how and why (likely)."""


def fail(message: str) -> NoReturn:
    """Raise `CheckFailed` without chaining the helper's own frames."""
    raise CheckFailed(message) from None


def passed(message: str) -> None:
    """The one line a correct answer earns."""
    print(f"✓ {message}")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence warnings while learner code runs inside a check.

    nbgrader scores any output on stderr as a failure (nbgrader issue #1904), so a
    torch or numpy warning must not cost a correct answer its points.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def using(fn: Callable, **names: Any) -> Iterator[None]:
    """Temporarily replace globals that `fn` looks up, e.g.
    `using(lstm_layer, lstm_cell=lstm_ref.functional.lstm_cell)`, so an exercise that
    builds on an earlier one is graded on its own: an earlier mistake is not punished
    twice."""
    scope = getattr(fn, "__globals__", None)
    if scope is None:
        yield
        return
    missing = object()
    saved = {name: scope.get(name, missing) for name in names}
    scope.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                scope.pop(name, None)
            else:
                scope[name] = value


def call(name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call learner code; turn its exceptions into one clear line.

    `NotImplementedError` passes through unchanged: it means "not done yet".
    """
    try:
        with quiet():
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except CheckFailed:
        raise
    except Exception as error:  # noqa: BLE001 - any learner error becomes feedback
        shapes = ", ".join(describe(a) for a in args)
        fail(f"{name}({shapes}) raised {type(error).__name__}: {error}")


def describe(value: Any) -> str:
    """A short description of an argument for messages: shapes, not values."""
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    if isinstance(value, tuple | list) and len(value) > 4:
        return f"{type(value).__name__} of {len(value)}, first {describe(value[0])}"
    if isinstance(value, tuple | list):
        inner = ", ".join(describe(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return type(value).__name__ if value is not None else "None"


def relative_error(x: torch.Tensor, y: torch.Tensor) -> float:
    """CS231n's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    x, y = x.detach().double(), y.detach().double()
    return float(((x - y).abs() / (x.abs() + y.abs()).clamp(min=1e-8)).max())


def expect_tensor(name: str, got: Any) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        fail(f"{name} should be a torch.Tensor, got {type(got).__name__}")
    return got


def expect_shape(name: str, got: Any, expected: tuple, hint: str = "") -> None:
    """`name` must be a tensor of shape `expected`; `hint` names a likely cause."""
    got = expect_tensor(name, got)
    if tuple(got.shape) != tuple(expected):
        because = f" — {hint}" if hint else ""
        shape = tuple(got.shape)
        fail(f"{name} has shape {shape}, expected {tuple(expected)}{because}")


def expect_close(
    name: str,
    got: Any,
    expected: torch.Tensor,
    hint: str = "",
    atol: float = 1e-8,
    rtol: float = 1e-6,
) -> None:
    """`name` must match `expected` in shape and value (float64 tolerances)."""
    expect_shape(name, got, tuple(expected.shape), hint)
    got = got.detach().to(expected.dtype)
    if not torch.allclose(got, expected.detach(), atol=atol, rtol=rtol):
        worst = float((got - expected).abs().max())
        because = f" — {hint}" if hint else ""
        fail(f"{name} differs from the reference (max abs error {worst:.3g}){because}")


def matches(got: Any, expected: torch.Tensor, atol: float = 1e-8) -> bool:
    """True when `got` equals `expected` in shape and value: for diagnosis, when a
    wrong answer is compared with the outputs of known mistakes."""
    return (
        isinstance(got, torch.Tensor)
        and tuple(got.shape) == tuple(expected.shape)
        and torch.allclose(got.detach().to(expected.dtype), expected, atol=atol)
    )
