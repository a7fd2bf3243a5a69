"""What `screen` refuses and why, as tables: the modules an answer may use, the
names and objects that are escape hatches, and the learner's messages.

An escape hatch is a way to run code the in-kernel watch (`agent.Guard`) cannot
see or can be switched off by: another thread or process, compiled or private
operator paths, code from strings or files, Python's own machinery. An LSTM answer
needs none, so each is refused by name here. `ALLOWED` holds the modules the
course's notebooks import (tests/test_rule.py fails when a master imports one it
lacks, unless it is one of NOT_FOR_ANSWERS) and the everyday standard library.
"""

from __future__ import annotations

import functools
import importlib
import types
from typing import Any

from autograder.i18n import N_

# A name ending in "." allows the modules under it too; no private module ever.
ALLOWED = frozenset(
    {
        "torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
        "torch.nn.parameter", "torch.nn.utils", "torch.nn.utils.rnn",
        "torch.nn.utils.parametrize", "torch.nn.modules.", "torch.optim",
        "torch.optim.", "torch.linalg", "torch.special", "torch.fft", "torch.random",
        "torch.distributions", "torch.distributions.", "torch.autograd",
        "torch.autograd.", "torch.func", "torch.utils", "torch.utils.data",
        "torch.utils.data.", "torch.testing", "torch.return_types", "torch.cuda",
        "numpy", "numpy.linalg", "numpy.random", "numpy.fft",
        "matplotlib", "matplotlib.pyplot", "matplotlib.ticker", "matplotlib.patches",
        "matplotlib.colors", "matplotlib.cm", "matplotlib.lines",
        "matplotlib.gridspec", "sklearn.datasets",
        "math", "cmath", "random", "time", "itertools", "functools", "collections",
        "collections.abc", "dataclasses", "typing", "warnings", "copy", "enum",
        "abc", "numbers", "fractions", "decimal", "statistics", "heapq", "bisect",
        "re", "json", "pprint", "contextlib", "sys",
        "autograder.checks", "autograder.checks.", "autograder.i18n",
        "lstm_ref", "lstm_ref.",
    }
)  # fmt: skip
# Modules a master imports that an answer may not: tqdm (07, which watches no
# exercise) shows a bar from a thread of its own, calling the objects it shows.
NOT_FOR_ANSWERS = ("tqdm",)
# Allowed modules of which only some names may be used (sys's streams: see screen).
SYS_DATA = ("float_info", "maxsize", "version_info", "version", "byteorder")
NAMED = {
    "sys": lambda name: name in SYS_DATA,
    "autograder.checks.": lambda name: name.startswith("check_"),
    "autograder.i18n": lambda name: name == "edition",
    "sklearn.datasets": lambda name: name.startswith(("load_", "make_")),
}

# Why a construct is refused: each completes REFUSED's "an answer must compute
# what its exercise implements itself, and ...".
MODULES = N_(
    "it needs no module beyond those the course's notebooks use (torch, numpy, "
    "math, matplotlib…): others are ways to run code the grader cannot watch"
)
DYNAMIC = N_(
    "code run from a string, or looked up by a name built at run time, is a way "
    "to run code the grader cannot read"
)
MACHINERY = N_(
    "dunder and private attributes, frames and Python's own objects are ways to "
    "switch off the grader's watch"
)
COMPILED = N_(
    "TorchScript, torch.compile, torch.fx and torch's private or other "
    "implementations run code the grader cannot watch"
)
PARALLEL = N_("threads and processes run code the grader cannot watch")
LOADING = N_(
    "loading pickles, files or modules by name runs code the grader cannot read"
)
MAGIC = N_("IPython magics and shell commands run code the grader cannot watch")
PATCHING = N_(
    "changing the objects of torch, numpy or another library is no part of an "
    "answer and can hide what the answer calls"
)
MODULE_VALUE = N_(
    "a module is used through its names (torch.tanh), never as a value, which "
    "would carry it past this check"
)
CHECKS = N_("it calls the check helpers only as the test cells do (checks.check_…)")
UNREADABLE = N_(
    "code nested deeper than the grader reads is code the grader cannot watch"
)
GRADER = N_(
    "code that reaches into the grader's watch on what an answer calls can switch "
    "it off"
)

REFUSED = N_(
    "{where}: `{construct}` is refused: an answer must compute what its exercise "
    "implements itself, and {reason}. Until it is removed, every exercise whose "
    "answer must not call what it implements scores 0."
)
IN_ANSWER = N_("answer cell {cell}, line {line}")
IN_CELL = N_("code cell {cell}, line {line}")

# Attribute names that are hatches whatever they are read from.
FRAMES = frozenset(
    {
        "f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace",
        "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await",
        "ag_frame", "ag_code", "ag_await", "tb_frame", "tb_next", "co_code",
        "co_consts", "co_names", "ctypes",
    }
)  # fmt: skip
PROFILER = frozenset(
    {"setprofile", "settrace", "getprofile", "gettrace", "addaudithook", "_getframe"}
)
HATCHES = FRAMES | PROFILER | {"compile"}
SAFE_DUNDERS = frozenset(
    {"__init__", "__name__", "__qualname__", "__doc__", "__class__"}
)
NAMEDTUPLE = frozenset({"_asdict", "_replace", "_fields", "_make"})  # public API
OWN = ("self", "cls")  # whose private attributes are the learner's own
# Builtins and kernel names an answer never uses.
NAMES = {
    **dict.fromkeys(("exec", "eval", "compile", "globals", "locals", "vars"), DYNAMIC),
    **dict.fromkeys(("__import__", "__builtins__", "__loader__", "__spec__"), DYNAMIC),
    **dict.fromkeys(("breakpoint", "__build_class__"), MACHINERY),
    "open": LOADING,
    "get_ipython": MAGIC,
}
BY_NAME = ("getattr", "hasattr", "setattr", "delattr")
SHOWN = ("print", "help", "dir", "repr", "str")  # may take a module as an argument
# Objects of allowed modules that are hatches.
DENIED = {
    "torch.compile": COMPILED,
    "torch.load": LOADING,
    "torch.from_file": LOADING,
    "torch.utils.data.DataLoader": PARALLEL,  # its workers are processes
    "numpy.load": LOADING,
    "typing.get_type_hints": DYNAMIC,  # evaluates string annotations
    "matplotlib.rc_file": LOADING,
    **{  # a backend is a module imported by name
        f"{module}.{name}": LOADING
        for module in ("matplotlib", "matplotlib.pyplot")
        for name in ("use", "switch_backend", "rc", "rc_context", "rcParams")
    },
}
# Why a module the course does not use is refused, by the start of its name.
MODULE_REASONS = (
    (("autograder", "nbgrader", "ipykernel", "IPython", "jupyter", "zmq"), GRADER),
    (("torch.jit", "torch.fx", "torch.ops", "torch.library", "torch.compiler",
      "torch.export", "torch.ao", "torch.quantization", "torch.nn.quantized",
      "torch.nn.quantizable", "torch.nn.intrinsic", "torch.nn.qat", "torch.onnx",
      "torch.package", "torch.utils.cpp_extension", "torch.classes"), COMPILED),
    (("threading", "_thread", "multiprocessing", "concurrent", "subprocess",
      "asyncio", "os", "signal", "pty", "torch.multiprocessing",
      "torch.distributed", *NOT_FOR_ANSWERS), PARALLEL),
    (("pickle", "marshal", "shelve", "dill", "joblib", "importlib", "runpy",
      "torch.hub", "torch.serialization", "shutil", "pathlib", "io"), LOADING),
    (("sys", "gc", "inspect", "ctypes", "cffi", "builtins", "types", "code",
      "codeop", "dis", "traceback", "weakref", "numpy.ctypeslib", "numpy.lib"),
     MACHINERY),
)  # fmt: skip


def allowed(module: str) -> bool:
    if any(part.startswith("_") for part in module.split(".")):
        return False
    return module in ALLOWED or any(
        module.startswith(tree) for tree in ALLOWED if tree.endswith(".")
    )


def module_reason(module: str) -> str:
    for starts, reason in MODULE_REASONS:
        if any(module == s or module.startswith(s + ".") for s in starts):
            return reason
    return MODULES


def member_reason(module: str, name: str) -> str:
    """Why `module.name` is refused: by the module's own rules, as a denied object
    or as a module the course does not use; "" when it is not."""
    for start, rule in NAMED.items():
        if (module == start or module.startswith(start)) and not rule(name):
            return CHECKS if start.startswith("autograder.checks") else MACHINERY
    found = member_of(f"{module}.{name}")
    if isinstance(found, types.ModuleType) and not allowed(found.__name__):
        return module_reason(found.__name__)
    return _denied().get(id(found), "") if found is not None else ""


# ---- the grader's own copies of the allowed modules ---------------------------------


@functools.cache
def module(name: str) -> types.ModuleType | None:
    """An allowed module, imported here (None for any other)."""
    try:
        return importlib.import_module(name) if allowed(name) else None
    except Exception:  # noqa: BLE001 - missing here: nothing to read through it
        return None


def member(owner: Any, name: str) -> Any:
    """`owner.name` for a public name, None when absent (it fails in the kernel)."""
    if owner is None or name.startswith("_"):
        return None
    try:
        return getattr(owner, name)
    except Exception:  # noqa: BLE001
        return None


def member_of(dotted: str) -> Any:
    """What `dotted` names, read through allowed modules only (None otherwise)."""
    head, _dot, name = dotted.rpartition(".")
    return module(dotted) or member(module(head) if head else None, name)


@functools.cache
def _denied() -> dict[int, str]:
    """id -> reason of each DENIED object (all live as long as their modules)."""
    found = {}
    for dotted, reason in DENIED.items():
        head, _dot, name = dotted.rpartition(".")
        obj = member(module(head), name)
        if obj is not None:
            found[id(obj)] = reason
    return found
