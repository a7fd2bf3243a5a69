"""The learner's side of sealed grading: it runs inside the learner's kernel.

When a notebook is autograded, its test cells run in the grading process
(`autograder.sealed.remote`), not here. Every name a test cell takes from the
notebook is looked up by `serve`, which the grader calls through the kernel's own
protocol.
What goes back is data only (tensors, numbers, strings and containers of them,
read on the other side with `torch.load(weights_only=True)`); functions, classes
and other objects stay here and are named by a number, so the grader calls them
here and only their results cross.

Nothing in this module is trusted: the learner's code can replace it. It can then
only make its own answers return other values, which the grader still judges.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import pickle
import sys
import threading
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

# Tags of the values that do not cross as themselves.
REF, ARG, ARRAY, PACKED = (
    "__lstm_ref__",
    "__lstm_arg__",
    "__lstm_ndarray__",
    "__lstm_packed__",
)
SCALARS = (type(None), bool, int, float, complex, str, bytes)
DEPTH = 32  # deeper containers cross as references

_objects: dict[int, Any] = {}  # every object the grader holds a reference to


# ---- what crosses: the same traversal on both sides ------------------------------


def mutables(tree: Any) -> list[Any]:
    """The tensors and modules inside `tree`, depth first and without repeats: a
    call's arguments, listed alike by the grader before it sends them and here
    after they arrive, so each one's changes can be copied back to the original."""
    found: dict[int, Any] = {}

    def walk(value: Any) -> None:
        if id(value) in found:
            return
        if isinstance(value, torch.Tensor | nn.Module):
            found[id(value)] = value
        elif isinstance(value, list | tuple):
            for index in range(len(value)):  # not iter(): a OneShot stays unread
                walk(value[index])
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(tree)
    return list(found.values())


def class_names(cls: type) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__]


def describe(value: Any) -> dict:
    """What the grader may know of an object it cannot hold."""
    cls = value if isinstance(value, type) else type(value)
    name = getattr(value, "__name__", None)
    return {
        "name": name if isinstance(name, str) else type(value).__name__,
        "is_class": isinstance(value, type),
        "classes": class_names(cls),
    }


def to_data(value: Any, args: dict[int, int], depth: int = 0) -> Any:
    """`value` as data the grader can read safely; see the module docstring."""
    if id(value) in args:
        return (ARG, args[id(value)])
    if type(value) in SCALARS or isinstance(value, torch.dtype | torch.device):
        return value
    if isinstance(value, torch.Tensor):
        data = value.detach()
        if data.untyped_storage().nbytes() > data.numel() * data.element_size():
            data = data.clone()  # a view: send its own elements, not its base's
        if isinstance(value, nn.Parameter):
            return nn.Parameter(data, requires_grad=value.requires_grad)
        return data.requires_grad_(value.requires_grad)
    if depth < DEPTH:
        if isinstance(value, PackedSequence):
            return (PACKED, *(to_data(v, args, depth + 1) for v in value))
        if isinstance(value, torch.Size):
            return value
        if isinstance(value, tuple | list | set | frozenset):
            items = [to_data(v, args, depth + 1) for v in value]
            for kind in (list, tuple, frozenset, set):  # named tuples become tuples
                if isinstance(value, kind):
                    return kind(items)
        if isinstance(value, dict):
            return {
                to_data(k, args, depth + 1): to_data(v, args, depth + 1)
                for k, v in value.items()
            }
        numpy = sys.modules.get("numpy")
        if numpy is not None and isinstance(value, numpy.generic):
            return value.item()
        if numpy is not None and isinstance(value, numpy.ndarray):
            if value.dtype.kind in "biuf":
                return (ARRAY, torch.from_numpy(value.copy()))
    _objects[id(value)] = value
    return (REF, id(value), describe(value))


def encode(value: Any) -> str:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class OneShot(list):
    """A generator the grader passes (`net.parameters()`), sent as its items: it
    iterates once, as the generator would; `mutables` still sees its items."""

    def __iter__(self):
        if "_iterator" not in self.__dict__:
            self._iterator = super().__iter__()
        return self._iterator

    def __reduce__(self):
        return (OneShot, (list(list.__iter__(self)),))


def with_grad(parameter: bool, data, requires_grad: bool, grad):
    """A tensor of the grader's with its `.grad` (pickle leaves `.grad` out)."""
    tensor = nn.Parameter(data, requires_grad) if parameter else data
    tensor.requires_grad_(requires_grad)
    tensor.grad = grad
    return tensor


class _Loader(pickle.Unpickler):
    """Reads the grader's requests: references become the objects they name."""

    def persistent_load(self, pid):
        kind, number = pid
        if kind != REF:
            raise pickle.UnpicklingError(f"unknown reference {kind!r}")
        return _objects[number]


# ---- the calls ---------------------------------------------------------------


# Calls that would switch the watch off or reach into it, when learner code makes
# them while it is watched: they count as using what the exercise forbids.
TAMPERING = (
    "sys.setprofile",
    "sys.settrace",
    "sys.getprofile",
    "sys.gettrace",
    "sys._getframe",
    "threading.setprofile",
    "threading.settrace",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "inspect.currentframe",
    "inspect.stack",
)
_OPERATOR_CALLS = {torch._ops.OpOverloadPacket.__call__.__code__}
_OPERATOR_CALLS.add(torch._ops.OpOverload.__call__.__code__)
# What torch calls the same fused operator under other names: `aten::lstm_cell`
# (torch.ops' builtins), `quantized_lstm_cell`, `_thnn_fused_lstm_cell`.
_PREFIXES = ("aten::", "_thnn_fused_", "quantized_", "_")


def operator_name(fn: Any) -> str:
    """A builtin's name as the operator it runs: lstm_cell for torch.lstm_cell,
    torch._VF.lstm_cell, torch.ops.aten.lstm_cell.default._op and
    torch.quantized_lstm_cell alike ("" for anything else)."""
    if type(fn) is not types.BuiltinFunctionType:
        return ""
    name = str(getattr(fn, "__name__", "")).partition(".")[0]
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    return name


# torch's fused recurrent operators. In a graded kernel they are Python stand-ins
# from its start (`arm`, run as its first line: ARM in grading/execute.py): a
# builtin called by C code (map, functools.partial, itertools.starmap) makes no
# event the profiler sees, a Python function always does.
FUSED = ("lstm_cell", "lstm", "gru_cell", "gru", "rnn_tanh_cell", "rnn_relu_cell")
FUSED += ("rnn_tanh", "rnn_relu", *(f"quantized_{name}" for name in FUSED))


def _stand_in(original: Any) -> Any:
    @functools.wraps(original)
    def stand_in(*args, **kwargs):
        return original(*args, **kwargs)

    return stand_in


_STAND_IN = _stand_in(len).__code__


def arm() -> None:
    """Put a Python stand-in in place of each of torch's fused operators."""
    for name in FUSED:
        original = getattr(torch, name, None)
        if type(original) is types.BuiltinFunctionType:
            setattr(torch, name, _stand_in(original))


@functools.cache
def aten_builtins(operator: str) -> tuple[int, ...]:
    """The ids of the builtins behind torch.ops.aten.<operator> and its quantized
    and fused variants, each overload's too (theirs have no name to read)."""
    found = []
    for variant in (operator, *(p + operator for p in _PREFIXES[1:3])):
        try:
            packet = getattr(torch.ops.aten, variant)
        except (AttributeError, RuntimeError):
            continue
        found.append(id(packet._op))
        found += [id(getattr(packet, overload)._op) for overload in packet.overloads()]
    return tuple(found)


@functools.cache
def _grader_places() -> tuple[str, ...]:
    import lstm_ref

    packages = (sys.modules[__package__], lstm_ref)
    folders = {str(Path(m.__file__).parent) for m in packages}
    return (sys.prefix, sys.base_prefix, sys.exec_prefix, "<frozen", *folders)


def grader_code(code: types.CodeType) -> bool:
    """Code of Python itself, the installed packages or the course, not learner's."""
    return code.co_filename.startswith(_grader_places())


class Guard:
    """Notes a call, while learner code runs, of anything the exercise asks the
    learner to implement (`forbid`: dotted names of functions, classes and
    packages; a fused operator also by its name, however reached: torch.ops.aten,
    torch._VF, quantized), except inside the functions the checks themselves put
    in place (`allow`); and learner code that switches the watch off or reaches
    into it (`TAMPERING`). It watches Python and C calls through `sys.setprofile`,
    in the answer's thread and those it starts; what it cannot see (other threads
    and processes, compiled code, the watch's own objects) the grader refuses
    before the code runs (`autograder.sealed.screen`)."""

    def __init__(self, forbid: list[str], allow: list[Any]):
        self.functions: dict[int, str] = {}
        self.codes: dict[types.CodeType, str] = {}
        self.folders: list[tuple[str, str]] = []
        self.classes: list[tuple[type, str]] = []
        self.operators: dict[str, str] = {}  # "aten::lstm_cell" -> "torch.lstm_cell"
        self.builtins: dict[str, str] = {}  # "lstm_cell" -> "torch.lstm_cell"
        for name in forbid:
            self._add(name, resolve(name))
        self.tampering: dict[Any, str] = {}
        if forbid:
            for name in TAMPERING:
                obj = resolve(name)
                self.tampering[getattr(obj, "__code__", id(obj))] = name
        unwrapped = (getattr(f, "func", f) for f in allow)  # functools.partial too
        self.allowed = {f.__code__ for f in unwrapped if hasattr(f, "__code__")}
        self.inside: list[types.FrameType] = []
        self.found = ""

    def _add(self, name: str, obj: Any) -> None:
        if getattr(obj, "__code__", None) is _STAND_IN:
            obj = obj.__wrapped__  # see `arm`: the operator stands behind it
        if isinstance(obj, types.ModuleType):  # a package's folder, or its file
            where = getattr(obj, "__path__", [getattr(obj, "__file__", None)])[0]
            if where:
                self.folders.append((where, name))
        elif isinstance(obj, type):
            self.classes.append((obj, name))
            for member in vars(obj).values():
                self._add(name, getattr(member, "__func__", member))
        elif hasattr(obj, "__code__"):
            self.codes[obj.__code__] = name
        elif callable(obj):
            self.functions[id(obj)] = name
            self.operators[f"aten::{getattr(obj, '__name__', '')}"] = name
            if operator_name(obj):
                self.builtins[operator_name(obj)] = name
                self.functions.update(dict.fromkeys(aten_builtins(obj.__name__), name))

    def target(self, fn: Any) -> None:
        """A class called directly must not be built on what it should implement."""
        if isinstance(fn, type):
            for cls, name in self.classes:
                if issubclass(fn, cls) and fn is not cls:
                    self.found = f"{fn.__name__} is a subclass of {name}"

    def __call__(self, frame, event: str, arg: Any) -> None:
        if self.found:
            return
        if self.inside:
            if event == "return" and frame is self.inside[-1]:
                self.inside.pop()
            return
        if event == "call":
            code = frame.f_code
            if code in self.allowed:
                self.inside.append(frame)
            elif code is _STAND_IN:
                original = frame.f_locals.get("original")
                self.found = self.functions.get(id(original), "") or self.builtins.get(
                    operator_name(original), ""
                )
            elif code in self.codes:
                self.found = self.codes[code]
            elif code in _OPERATOR_CALLS:
                op = frame.f_locals.get("self")
                qualified = getattr(op, "_qualified_op_name", getattr(op, "_name", ""))
                self.found = self.operators.get(qualified, "")
            elif code in self.tampering and not grader_code(frame.f_back.f_code):
                self.found = self.tampering[code]
            else:
                for folder, name in self.folders:
                    if code.co_filename.startswith(folder):
                        self.found = name
        elif event == "c_call":
            if id(arg) in self.functions:
                self.found = self.functions[id(arg)]
            elif self.builtins and operator_name(arg) in self.builtins:
                self.found = self.builtins[operator_name(arg)]
            elif id(arg) in self.tampering and not grader_code(frame.f_code):
                self.found = self.tampering[id(arg)]

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        if not (self.functions or self.codes or self.folders or self.classes):
            yield
            return
        threading.setprofile(self)
        sys.setprofile(self)
        try:
            yield
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]


def resolve(dotted: str) -> Any:
    """The object a dotted name like `torch.nn.LSTM` names (None if absent)."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part, None)
        return obj
    return None


def substitutes() -> list[Any]:
    """The functions the checks put in place (`core.using`) are the grader's own."""
    return [fn for saved in _installed.values() for fn in saved.values()]


_installed: dict[int, dict[str, Any]] = {}  # id(globals) -> name -> substitute


@contextlib.contextmanager
def state(context: dict) -> Iterator[dict]:
    """Run with the grader's random state, default dtype and grad mode; hand back
    the state the call left (what it would have been had the test run here)."""
    torch.set_rng_state(context["rng"])
    torch.set_default_dtype(context["dtype"])
    after: dict = {}
    quiet = io.StringIO()
    with (
        torch.set_grad_enabled(context["grad"]),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(quiet),  # printing costs no points: nobody reads it
        contextlib.redirect_stderr(quiet),
    ):
        warnings.simplefilter("ignore")
        try:
            yield after
        finally:
            after["rng"] = torch.get_rng_state()
            after["dtype"] = torch.get_default_dtype()


def changes(before: list[Any], snapshots: list[Any]) -> list[Any]:
    """What each argument tensor or module became during the call (None: unchanged)."""
    result = []
    for value, snapshot in zip(before, snapshots, strict=True):
        if isinstance(value, nn.Module):
            result.append(
                {
                    "training": value.training,
                    "params": {
                        n: (p.detach().clone(), p.requires_grad, p.grad)
                        for n, p in value.named_parameters(remove_duplicate=False)
                    },
                    "buffers": {
                        n: b.detach().clone() for n, b in value.named_buffers()
                    },
                }
            )
        elif same_tensor(value, snapshot):
            result.append(None)
        else:
            grad = None if value.grad is None else value.grad.detach().clone()
            result.append((value.detach().clone(), value.requires_grad, grad))
    return result


def snapshot(value: Any) -> Any:
    if isinstance(value, nn.Module):
        return None
    grad = None if value.grad is None else value.grad.detach().clone()
    return (value.detach().clone(), value.requires_grad, grad)


def same_tensor(value: torch.Tensor, snap: tuple) -> bool:
    data, requires_grad, grad = snap
    return (
        value.shape == data.shape
        and torch.equal(value.detach(), data)
        and value.requires_grad == requires_grad
        and (value.grad is None) == (grad is None)
        and (grad is None or torch.equal(value.grad, grad))
    )


def call(request: dict) -> dict:
    """Call the learner's function, then read its result and what it did to its
    arguments, all of it watched: reading runs learner code too (a tuple's
    `__iter__`, an object's `__getattr__`)."""
    fn, args, kwargs = request["target"], request["args"], request["kwargs"]
    guard = Guard(request["forbid"], substitutes())
    guard.target(fn)
    sent = mutables((args, kwargs))
    snapshots = [snapshot(v) for v in sent]
    positions = {id(v): i for i, v in enumerate(sent)}
    reply: dict = {}
    with state(request["context"]) as after, guard.watching():
        try:
            reply["value"] = to_data(fn(*args, **kwargs), positions)
        except BaseException as error:  # noqa: BLE001 - the learner's error is data
            reply = {"raised": (type(error).__name__, str(error)[:2000])}
        reply["changes"] = changes(sent, snapshots)
    if guard.found:
        reply = {"forbidden": guard.found, "changes": reply["changes"]}
    return reply | {"state": after}


def current_state(_: dict) -> dict:
    return {
        "rng": torch.get_rng_state(),
        "dtype": torch.get_default_dtype(),
        "grad": torch.is_grad_enabled(),
    }


def set_state(request: dict) -> None:
    torch.set_rng_state(request["rng"])
    torch.set_default_dtype(request["dtype"])


def globals_of(request: dict) -> dict:
    """Read, install, restore or remove names in `target.__globals__`, as
    `core.using` does: "install" puts the checks' substitutes in place (their
    frames are the grader's own, see `Guard`), "restore" puts the learner's
    values back. Returns the values of the names in "read"."""
    scope = request["target"].__globals__
    installed = _installed.setdefault(id(scope), {})
    for name, value in request.get("install", {}).items():
        scope[name] = installed[name] = value
    for name, value in request.get("restore", {}).items():
        scope[name] = value
        installed.pop(name, None)
    for name in request.get("remove", []):
        scope.pop(name, None)
        installed.pop(name, None)
    return {name: scope[name] for name in request.get("read", []) if name in scope}


OPERATIONS = {
    "lookup": lambda r: _namespace()[r["name"]],
    "getattr": lambda r: getattr(r["target"], r["name"]),
    "iter": lambda r: iter(r["target"]),
    "next": lambda r: next(r["target"]),
    "len": lambda r: len(r["target"]),
    "getitem": lambda r: r["target"][r["key"]],
    "bool": lambda r: bool(r["target"]),
    "globals": globals_of,
    "state": current_state,
    "set_state": set_state,
    "forget": lambda r: _objects.clear(),
}


def _namespace() -> dict:
    from IPython import get_ipython

    return get_ipython().user_ns


def serve(request: str) -> str:
    """One request of the grader, answered as base64 text (see the module doc).
    What it runs of the learner's code is watched as a call is."""
    message = _Loader(io.BytesIO(base64.b64decode(request))).load()
    op = message["op"]
    if op == "call":
        return encode(call(message))
    guard = Guard(message.get("forbid", []), substitutes())
    with guard.watching():
        reply = answer(op, message)
    return encode({"forbidden": guard.found} if guard.found else reply)


def answer(op: str, message: dict) -> dict:
    try:
        return {"value": to_data(OPERATIONS[op](message), {})}
    except KeyError as error:
        if op == "lookup" and error.args == (message.get("name"),):
            return {"missing": True}
        return {"raised": (type(error).__name__, str(error))}
    except BaseException as error:  # noqa: BLE001
        return {"raised": (type(error).__name__, str(error))}
