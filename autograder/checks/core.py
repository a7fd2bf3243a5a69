"""The building blocks every check helper uses.

A check compares a learner's function with `lstm_ref` and either prints one short
confirmation (`passed`) or raises `CheckFailed` with a message that says what was
checked, what was expected, what came, and the likely cause. Test cells call checks;
a raised `CheckFailed` is what nbgrader sees as a failed test.

The shared steps of a check, one way each:

- seeding: `forked_rng(seed)` (a context manager and a decorator) seeds torch on a
  fork of its RNG, so a check never moves the learner's random stream; `generator`
  gives a seeded `torch.Generator` for drawing inputs; `default_dtype` follows float64;
- inputs in torch's layout: `cell_weights` (weight_ih, weight_hh, bias_ih, bias_hh);
- calling learner code: `call` (warnings silenced, an exception becomes one line, a
  `LearnerRaised`); `explain` adds the likely cause of such an exception;
- reading answers: `parse_shape` (a predicted shape), `expect_pair` (a returned pair),
  `expect_number`, `expect_tensor`, `expect_shape`, `expect_close`;
- diagnosis: `matches` and `find_mistake` compare a wrong answer with the outputs of
  known mistakes (`Known`: a mistake's name, its message, its output);
- identity: every failure names its mistake, `fail(message, "gate-order")`; inside
  `exercise("lstm-cell")` (a context manager and a decorator) the name becomes the
  id `lstm-cell/gate-order` (`MISTAKE_ID`), shown at the end of the message. The
  generic failures have generic names: `raised`, `differs`, `wrong-shape`, ….

Imported inside an IPython kernel (JupyterLab), this module also makes a failed check
show its message alone, without a traceback through these files, and an unanswered
exercise's test cell say "not answered yet" (see `install_notebook_errors`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import linecache
import math
import numbers
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, NoReturn

import torch

from autograder.i18n import _

Tensor = torch.Tensor


# What computes an LSTM for you (torch's and this course's reference): an answer
# that is to be an LSTM of its own must not call it. Each check module's FORBIDDEN
# table (exercise -> dotted names) says what its answers must not call; sealed
# grading gives an exercise zero, with a message, when its answer calls one.
LSTM_IMPLEMENTATIONS = (
    "torch.lstm_cell", "torch.lstm", "torch.nn.LSTMCell", "torch.nn.LSTM",
    "torch.nn.RNNBase", "lstm_ref",
)  # fmt: skip


# A diagnosis's stable identity, `<exercise grade_id>/<mistake>` (the same in every
# language), shown at the end of its message so that it survives in the graded
# notebook: `lstm-course report` counts them across a class.
MISTAKE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*")
_SHOWN_ID = re.compile(rf" \[({MISTAKE_ID.pattern})\]$")
_EXERCISE: contextvars.ContextVar[str] = contextvars.ContextVar("exercise", default="")


@contextlib.contextmanager
def exercise(grade_id: str) -> Iterator[None]:
    """Check the exercise `grade_id` (its answer cell's): a mistake named inside by a
    bare name gets the id `grade_id/name`. Also a decorator: `@core.exercise("x")`."""
    token = _EXERCISE.set(grade_id)
    try:
        yield
    finally:
        _EXERCISE.reset(token)


def mistake_id(mistake: str) -> str:
    """`mistake` as an id: a full id (`MISTAKE_ID`) as it is, a bare name within the
    exercise being checked; outside any exercise, the bare name."""
    where = _EXERCISE.get()
    return f"{where}/{mistake}" if mistake and "/" not in mistake and where else mistake


class CheckFailed(AssertionError):
    """A learner's answer is wrong; the message says how and why (likely), and
    `mistake` names the diagnosis: an id (`MISTAKE_ID`; a bare name is made one by
    `mistake_id`), or "" where none is known. `str()` ends with the id."""

    def __init__(self, message: str, mistake: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.mistake = mistake_id(mistake)

    def __str__(self) -> str:
        if MISTAKE_ID.fullmatch(self.mistake):
            return f"{self.message} [{self.mistake}]"
        return self.message

    def __reduce__(self):  # pickled between the kernel and the grader
        return type(self), (self.message, self.mistake)


class LearnerRaised(CheckFailed):
    """The learner's code raised: `error` is the name and message of its exception."""

    def __init__(self, message: str, error: str = "", mistake: str = "") -> None:
        super().__init__(message, mistake)
        self.error = error

    def __reduce__(self):
        return type(self), (self.message, self.error, self.mistake)


def fail(message: str, mistake: str = "") -> NoReturn:
    """Raise `CheckFailed` without chaining the helper's own frames."""
    raise CheckFailed(message, mistake) from None


def mistake_of(text: str) -> str:
    """The mistake id a failed check's message ends with, or ""."""
    found = _SHOWN_ID.search(text.strip().splitlines()[-1] if text.strip() else "")
    return found.group(1) if found else ""


def passed(message: str, hidden: str = "") -> None:
    """The one line a correct answer earns; `hidden` names the answers that only the
    hidden test grades (a visible test that reads part of a prediction says so)."""
    if hidden:
        message = _("{message} ({answers}: graded by the hidden test)").format(
            message=message, answers=hidden
        )
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


# --- seeding ------------------------------------------------------------------------


@contextlib.contextmanager
def forked_rng(seed: int | None = None) -> Iterator[None]:
    """Run on a fork of torch's RNG, seeded with `seed` if given: whatever the check
    draws (and whatever `torch.manual_seed` it calls), the learner's random stream is
    as it was before. Also a decorator: `@core.forked_rng()`."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def generator(seed: int) -> torch.Generator:
    """A `torch.Generator` seeded with `seed`, for drawing a check's inputs."""
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype = torch.float64) -> Iterator[None]:
    """Checks run in float64; a learner's `torch.zeros(...)` must follow along."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def cell_weights(
    input_size: int,
    hidden_size: int,
    gen: torch.Generator,
    *,
    num_chunks: int = 4,
    bias: bool = True,
    scale: float | None = None,
    bias_scale: float | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict[str, Tensor | None]:
    """One cell's parameters under torch's names and in torch's layout:
    weight_ih (num_chunks*H, H_in), weight_hh (num_chunks*H, H), bias_ih and bias_hh
    (num_chunks*H,), None when `bias=False`; gates stacked as torch does (LSTM i, f,
    g, o; GRU r, z, n; RNN one block). Drawn in that order from `gen`: uniform in
    (-1/√H, 1/√H) as torch initialises them, or, with `scale`, normal with standard
    deviation `scale` (`bias_scale` for the biases, default `scale`)."""
    rows = num_chunks * hidden_size
    shapes = {
        "weight_ih": (rows, input_size),
        "weight_hh": (rows, hidden_size),
        "bias_ih": (rows,),
        "bias_hh": (rows,),
    }

    def draw(name: str, shape: tuple) -> Tensor:
        if scale is None:
            k = hidden_size**-0.5
            return (torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1) * k
        std = scale if not name.startswith("bias") or bias_scale is None else bias_scale
        return torch.randn(shape, generator=gen, dtype=dtype) * std

    drawn = {name: draw(name, shape) for name, shape in shapes.items()}
    if not bias:
        drawn["bias_ih"] = drawn["bias_hh"] = None
    return drawn


# --- calling learner code -----------------------------------------------------------


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


def beside(fn: Callable, helper: Callable) -> Callable:
    """`helper` with `fn` as its first argument, run where `fn` runs: in the
    learner's kernel when `fn` is a proxy there (sealed grading,
    autograder/sealed/remote.py; `helper` must then be a module-level function of
    the checks)."""
    run_there = getattr(type(fn), "run_beside", None)
    if run_there is not None:
        return run_there(fn, helper)
    return functools.partial(helper, fn)


def call(name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call learner code; turn its exceptions into one clear line (`LearnerRaised`).

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
        raised = f"{type(error).__name__}: {error}"
        message = _("{name}({shapes}) raised {error}").format(
            name=name, shapes=shapes, error=raised
        )
        raise LearnerRaised(message, raised, "raised") from None


Rule = tuple[str | tuple[str, ...], str] | tuple[str | tuple[str, ...], str, str]


@contextlib.contextmanager
def explain(*rules: Rule) -> Iterator[None]:
    """Add the likely cause to an exception the learner's code raised inside `call`:
    each rule is (text, hint) or (text, hint, mistake) with text a string or a tuple
    of strings; the first rule whose text occurs in the exception's name or message
    (an empty string always does) appends its hint, which the caller has translated
    (`_(...)`), and names the mistake (else it stays `raised`). Failures of the
    check itself pass unchanged."""
    try:
        yield
    except LearnerRaised as error:
        for needles, hint, *named in rules:
            options = (needles,) if isinstance(needles, str) else needles
            if any(needle in error.error for needle in options):
                message = f"{error.message} — {hint}"
                mistake = named[0] if named else error.mistake
                raise LearnerRaised(message, error.error, mistake) from None
        raise


def describe(value: Any) -> str:
    """A short description of an argument for messages: shapes, not values."""
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    if isinstance(value, tuple | list) and len(value) > 4:
        return _("{kind} of {count}, first {first}").format(
            kind=type(value).__name__, count=len(value), first=describe(value[0])
        )
    if isinstance(value, tuple | list):
        inner = ", ".join(describe(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return type(value).__name__ if value is not None else "None"


# --- reading answers ----------------------------------------------------------------


def parse_shape(name: str, value: Any, example: tuple = (2, 7, 5)) -> tuple[int, ...]:
    """A predicted shape: a tuple (or list, or torch.Size) of non-negative ints.

    Floats (even 5.0), bools, strings, tensors and nested sequences are refused with
    one line that names the offending entry; `...` or None is "not answered yet"."""
    like = _("write it as a tuple of ints such as {example}").format(example=example)
    if value is None or value is Ellipsis:
        fail(
            _("{name} is not answered yet: {like}").format(name=name, like=like),
            "not-answered",
        )
    if not isinstance(value, tuple | list | torch.Size):
        fail(
            _("{name} should be a tuple of ints such as {example}, got {got}").format(
                name=name, example=example, got=_short(value)
            ),
            "not-a-shape",
        )
    for entry in value:
        if entry is Ellipsis:
            fail(
                _(
                    "{name} = {value!r} is not answered yet: replace each ... by a size"
                ).format(name=name, value=value),
                "not-answered",
            )
        if isinstance(entry, bool) or not isinstance(entry, numbers.Integral):
            fail(
                _(
                    "{name} = {value!r}: {entry!r} is a {kind}, not an int — {like}"
                ).format(
                    name=name,
                    value=value,
                    entry=entry,
                    kind=type(entry).__name__,
                    like=like,
                ),
                "not-a-shape",
            )
        if entry < 0:
            fail(
                _("{name} = {value!r}: {entry} is negative; sizes are ≥ 0").format(
                    name=name, value=value, entry=entry
                ),
                "not-a-shape",
            )
    return tuple(int(n) for n in value)


def _short(value: Any) -> str:  # repr(value) if one short line, else describe(value)
    text = repr(value)
    return text if len(text) <= 60 and "\n" not in text else describe(value)


def expect_pair(name: str, got: Any, first: str, second: str) -> tuple[Any, Any]:
    """`got` must be a pair (a tuple or list of two): returns it as a tuple."""
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(
            _("{name} should return the pair ({first}, {second}), got {got}").format(
                name=name, first=first, second=second, got=describe(got)
            ),
            "not-a-pair",
        )
    return tuple(got)


def expect_number(name: str, got: Any) -> float:
    """`got` must be one number: an int or a float (not a bool), or a tensor of one
    element. Returns it as a float."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return float(got)
    if isinstance(got, numbers.Real) and not isinstance(got, bool):
        return float(got)
    fail(
        _(
            "{name} should return one number (a float or a 0-d tensor), got {got}"
        ).format(name=name, got=describe(got)),
        "not-a-number",
    )


def expect_tensor(name: str, got: Any) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        fail(
            _("{name} should be a torch.Tensor, got {kind}").format(
                name=name, kind=type(got).__name__
            ),
            "not-a-tensor",
        )
    return got


def expect_shape(
    name: str, got: Any, expected: tuple, hint: str = "", mistake: str = ""
) -> None:
    """`name` must be a tensor of shape `expected`; `hint` names a likely cause,
    `mistake` its name (`wrong-shape` if not given)."""
    got = expect_tensor(name, got)
    if tuple(got.shape) != tuple(expected):
        fields = dict(name=name, shape=tuple(got.shape), expected=tuple(expected))
        mistake = mistake or "wrong-shape"
        if hint:
            fail(
                _("{name} has shape {shape}, expected {expected} — {hint}").format(
                    **fields, hint=hint
                ),
                mistake,
            )
        fail(
            _("{name} has shape {shape}, expected {expected}").format(**fields), mistake
        )


def expect_close(
    name: str,
    got: Any,
    expected: torch.Tensor,
    hint: str = "",
    atol: float = 1e-8,
    rtol: float = 1e-6,
    mistake: str = "",
) -> None:
    """`name` must match `expected` in shape and value (float64 tolerances); a wrong
    value is the mistake `differs` unless `mistake` names it (`hint` is for both)."""
    expect_shape(name, got, tuple(expected.shape), hint)
    got = got.detach().to(expected.dtype)
    if not torch.allclose(got, expected.detach(), atol=atol, rtol=rtol):
        worst = float((got - expected).abs().max())
        mistake = mistake or "differs"
        if hint:
            fail(
                _(
                    "{name} differs from the reference (max abs error {worst:.3g}) "
                    "— {hint}"
                ).format(name=name, worst=worst, hint=hint),
                mistake,
            )
        fail(
            _("{name} differs from the reference (max abs error {worst:.3g})").format(
                name=name, worst=worst
            ),
            mistake,
        )


# --- diagnosis ----------------------------------------------------------------------


def matches(got: Any, expected: Any, atol: float = 1e-8) -> bool:
    """True when `got` equals `expected` in shape and value: for diagnosis, when a
    wrong answer is compared with the outputs of known mistakes. `expected` is a
    tensor, a number (compared with rel_tol 1e-9) or a tuple/list of those."""
    if isinstance(expected, tuple | list):
        return (
            isinstance(got, tuple | list)
            and len(got) == len(expected)
            and all(matches(a, b, atol) for a, b in zip(got, expected, strict=True))
        )
    if isinstance(expected, numbers.Real):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = float(got)
        return (
            isinstance(got, numbers.Real)
            and not isinstance(got, bool)
            and math.isclose(float(got), float(expected), rel_tol=1e-9, abs_tol=atol)
        )
    return (
        isinstance(got, torch.Tensor)
        and tuple(got.shape) == tuple(expected.shape)
        and torch.allclose(got.detach().to(expected.dtype), expected, atol=atol)
    )


class Known(NamedTuple):
    """A known mistake: its name (the id within its exercise, e.g. "gate-order"),
    the message that names it, and the output it gives (or a callable of no
    arguments computing it, called only when needed; None when it cannot occur)."""

    mistake: str
    message: str
    output: Any


class Diagnosis(NamedTuple):
    """What `find_mistake` found: the mistake's name and its message."""

    mistake: str
    message: str


def find_mistake(
    got: Any, mistakes: Iterable[Known], correct: Any = None, atol: float = 1e-8
) -> Diagnosis | None:
    """The first known mistake whose output `got` matches, or None. A mistake whose
    output is None, or is the `correct` output on these inputs (it cannot be told
    apart from a right answer there), is skipped."""
    for mistake, message, output in mistakes:
        wrong = output() if callable(output) else output
        if wrong is None or correct is not None and matches(wrong, correct, atol):
            continue
        if matches(got, wrong, atol):
            return Diagnosis(mistake, message)
    return None


# --- in JupyterLab ------------------------------------------------------------------


def _in_a_cell(filename: str) -> bool:
    """ipykernel compiles cells as <tmp>/ipykernel_<pid>/<hash>.py, IPython's
    terminal as <ipython-input-…>."""
    return "ipykernel_" in filename or filename.startswith("<")


def _learner_frame(tb: Any) -> Any:
    """The innermost traceback entry in a notebook cell's code."""
    frame = None
    while tb is not None:
        if _in_a_cell(tb.tb_frame.f_code.co_filename):
            frame = tb
        tb = tb.tb_next
    return frame


def _is_test_cell(entry: Any) -> bool:
    """A top-level statement of a cell that calls a check."""
    code = entry.tb_frame.f_code
    source = "".join(linecache.getlines(code.co_filename))
    return code.co_name == "<module>" and "checks." in source


def notebook_message(error: BaseException, tb: Any) -> str | None:
    """What a notebook shows for `error` instead of a traceback, or None to show the
    traceback: a failed check's message, or "not answered yet" for an answer cell's
    stub (NotImplementedError) and for a test cell run before its answer cell."""
    if isinstance(error, CheckFailed):
        return str(error)
    entry = _learner_frame(tb)
    if isinstance(error, NotImplementedError) and entry is not None:
        where = entry.tb_frame.f_code.co_name
        if where == "<module>":  # the answer cell itself
            return _(
                "this cell is not answered yet: replace `raise NotImplementedError()` "
                "with your answer and run it again"
            )
        return _(
            "{where} is not answered yet: replace `raise NotImplementedError()` in its "
            "answer cell with your code and run that cell first"
        ).format(where=where)
    if isinstance(error, NameError) and entry is not None and _is_test_cell(entry):
        return _(
            "not answered yet: {name} is not defined — write your answer in the "
            "answer cell above, run it, then run this cell again"
        ).format(name=error.name)
    return None


def _show_in_notebook(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler (see `install_notebook_errors`)."""
    message = notebook_message(value, tb)
    if message is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    shown = value if isinstance(value, CheckFailed) else CheckFailed(message, "")
    stb = [f"\x1b[0;31mCheckFailed\x1b[0m: {message}"]
    shell._showtraceback(type(shown), shown, stb)
    return stb


def install_notebook_errors() -> None:
    """In an IPython kernel, render `CheckFailed`, NameError and NotImplementedError
    through `notebook_message` (IPython's `set_custom_exc`); elsewhere do nothing.
    nbgrader still sees an error output, named CheckFailed."""
    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        exceptions = (CheckFailed, NameError, NotImplementedError)
        shell.set_custom_exc(exceptions, _show_in_notebook)


install_notebook_errors()
