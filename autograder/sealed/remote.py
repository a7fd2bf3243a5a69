"""The grader's side of sealed grading: learner objects as proxies.

A test cell runs in the grading process. A name it takes from the learner's
notebook resolves to data (copied out of the learner's kernel) or to a
`RemoteObject`, a proxy for a function, class or object that stays in the kernel:
calling it sends the arguments there, runs the learner's code there
(`autograder.sealed.agent.serve`) and brings back the result, as data again. The
checks that judge it run here, where learner code cannot reach them.

With each call travel the grader's random state, default dtype and grad mode (so
seeded checks stay exact); tensors and modules passed as arguments are copied back
into the grader's originals when the learner's code changed them (in-place updates,
`.grad`, a module's parameters), and an argument the call returns comes back as
the grader's original object.
"""

from __future__ import annotations

import ast
import base64
import builtins
import importlib
import io
import pickle
import time
import types
from typing import Any

import torch
import zmq
from nbclient.exceptions import DeadKernelError
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from autograder.checks.core import CheckFailed
from autograder.i18n import _
from autograder.sealed import agent

REPLY_LIMIT = 256 * 2**20  # bytes of one reply: a bigger one is refused

# An exception the learner's code raised is raised here as the same builtin type
# (NotImplementedError means "not answered yet" to the checks), others by name.
_BUILTIN_ERRORS = {
    name: cls
    for name, cls in vars(builtins).items()
    if isinstance(cls, type) and issubclass(cls, Exception)
}


class LearnerError(Exception):
    """An exception raised by learner code whose type is not a builtin one."""


class NotDefined(NameError):
    """The test cell names something the learner's notebook does not define."""


class KernelTimeout(Exception):
    """The learner's kernel did not answer within the cell's time limit."""


class KernelGone(DeadKernelError):
    """The learner's kernel died while answering (nbclient's kind: the grader
    restarts it the same way)."""


class Forbidden(CheckFailed):
    """The learner's code used what its exercise asks to implement (`name`)."""

    def __init__(self, message: str, name: str = "") -> None:
        super().__init__(message)
        self.name = name


class HelperBroken(LearnerError):
    """The grader's helper in the learner's kernel did not answer as itself."""


def bounded_context() -> zmq.Context:
    """A ZMQ context whose sockets drop a peer that sends more than REPLY_LIMIT."""
    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, REPLY_LIMIT * 4 // 3 + 4096)
    return context


def learner_error(name: str, message: str) -> Exception:
    cls = _BUILTIN_ERRORS.get(name) or type(name, (LearnerError,), {})
    try:
        return cls(message)
    except TypeError:  # a builtin with a different signature (UnicodeError…)
        return type(name, (LearnerError,), {})(message)


class _Pickler(pickle.Pickler):
    """Writes requests: proxies as their numbers, tensors with their `.grad`."""

    def persistent_id(self, obj):
        if type(obj) is RemoteObject:
            return (agent.REF, _slot(obj, "_id"))
        return None

    def reducer_override(self, obj):
        """A tensor goes with its `.grad`, and a view as its own elements only (plain
        pickle would send its whole base once per view)."""
        if not isinstance(obj, torch.Tensor):
            return NotImplemented
        view = obj.untyped_storage().nbytes() > obj.numel() * obj.element_size()
        if obj.grad is None and not view:
            return NotImplemented
        data = obj.detach().clone() if view else obj.detach()
        parameter = isinstance(obj, nn.Parameter)
        return (agent.with_grad, (parameter, data, obj.requires_grad, obj.grad))


def _slot(obj: RemoteObject, name: str) -> Any:
    return object.__getattribute__(obj, name)


class Link:
    """The grader's line to one learner kernel, through its own messaging
    protocol: each request is a user expression that calls `agent.serve`."""

    def __init__(self, client, interrupt, alive, deadline: float = float("inf")):
        self.client = client  # a started BlockingKernelClient
        self.interrupt = interrupt  # () -> None: interrupt the kernel
        self.alive = alive  # () -> bool
        self.deadline = deadline  # time.monotonic() by which the cell must end
        self.proxies: dict[int, RemoteObject] = {}
        self.forbid: list[str] = []
        self.exercise = ""

    # ---- one round trip ----

    def request(self, op: str, **fields) -> Any:
        buffer = io.BytesIO()
        _Pickler(buffer).dump({"op": op, "forbid": self.forbid, **fields})
        payload = base64.b64encode(buffer.getvalue()).decode("ascii")
        agent = "__import__('autograder.sealed.agent').sealed.agent"
        expression = f"{agent}.serve({payload!r})"
        msg_id = self.client.execute(
            "", silent=True, store_history=False, user_expressions={"r": expression}
        )
        reply = self._wait(msg_id)
        result = reply["content"].get("user_expressions", {}).get("r", {})
        if result.get("status") != "ok":
            raise HelperBroken(
                _(
                    "the grading helper in your kernel failed ({name}: {message}); "
                    "did your code replace or delete it?"
                ).format(
                    name=result.get("ename", _("no reply")),
                    message=result.get("evalue", ""),
                )
            )
        return self._decode_reply(result["data"].get("text/plain", ""))

    def run(self, code: str) -> None:
        """Run plain code in the kernel (the imports of a test cell), silently."""
        if code.strip():
            self._wait(self.client.execute(code, silent=True, store_history=False))

    def _wait(self, msg_id: str) -> dict:
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.interrupt()
                self._drain(msg_id)
                raise KernelTimeout(
                    _(
                        "your code did not finish within the per-cell time limit "
                        "(an endless loop?)"
                    )
                )
            try:
                reply = self.client.get_shell_msg(timeout=min(left, 1.0))
            except Exception:  # queue.Empty: nothing yet
                if not self.alive():
                    raise KernelGone(_("the kernel died running your code")) from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def _drain(self, msg_id: str, grace: float = 10.0) -> None:
        """After an interrupt, wait for the interrupted request's reply."""
        end = time.monotonic() + grace
        while time.monotonic() < end:
            try:
                reply = self.client.get_shell_msg(timeout=1.0)
            except Exception:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return

    def _decode_reply(self, text: str) -> Any:
        if len(text) > REPLY_LIMIT * 4 // 3 + 8:
            raise LearnerError(
                _("your code returned more than {limit} MB of data").format(
                    limit=REPLY_LIMIT // 2**20
                )
            )
        raw = base64.b64decode(ast.literal_eval(text))
        return torch.load(io.BytesIO(raw), weights_only=True)

    # ---- values ----

    def decode(self, value: Any, originals: list[Any] = ()) -> Any:
        """A reply's value with its tags replaced (see `agent.to_data`)."""
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            tag = value[0]
            if tag == agent.REF and len(value) == 3:
                return self.proxy(value[1], value[2])
            if tag == agent.ARG and len(value) == 2 and value[1] < len(originals):
                return originals[value[1]]
            if tag == agent.ARRAY and len(value) == 2:
                return value[1].numpy()
            if tag == agent.PACKED and len(value) == 5:
                return PackedSequence(*(self.decode(v) for v in value[1:]))
        if isinstance(value, torch.Size):
            return value
        if isinstance(value, list | tuple | set | frozenset):
            items = [self.decode(v, originals) for v in value]
            return items if isinstance(value, list) else type(value)(items)
        if isinstance(value, dict):
            return {
                self.decode(k, originals): self.decode(v, originals)
                for k, v in value.items()
            }
        return value

    def proxy(self, number: int, info: dict) -> RemoteObject:
        if number not in self.proxies:
            self.proxies[number] = RemoteObject(self, number, info)
        return self.proxies[number]

    def ask(self, op: str, **fields) -> Any:
        """A request whose reply is one value, or the learner's exception."""
        reply = self.request(op, **fields)
        refuse(reply)
        if "raised" in reply:
            raise learner_error(*reply["raised"])
        return self.decode(reply.get("value"))

    def lookup(self, name: str) -> Any:
        reply = self.request("lookup", name=name)
        if reply.get("missing"):
            raise NotDefined(name)
        refuse(reply)
        if "raised" in reply:
            raise learner_error(*reply["raised"])
        value = self.decode(reply["value"])
        if type(value) is RemoteObject and _slot(value, "_info")["classes"][:1] == [
            "builtins.module"
        ]:
            raise TypeError(
                _("`{name}` is a module where the test expects your answer").format(
                    name=name
                )
            )
        return value

    def call(self, target: Any, args: tuple, kwargs: dict) -> Any:
        args, kwargs = sendable(args), sendable(kwargs)
        originals = agent.mutables((args, kwargs))
        reply = self.request(
            "call",
            target=target,
            args=args,
            kwargs=kwargs,
            context={
                "rng": torch.get_rng_state(),
                "dtype": torch.get_default_dtype(),
                "grad": torch.is_grad_enabled(),
            },
            forbid=self.forbid,
        )
        state = reply["state"]
        torch.set_rng_state(state["rng"])
        if state["dtype"] in (torch.float32, torch.float64):
            torch.set_default_dtype(state["dtype"])
        for original, change in zip(originals, reply["changes"], strict=False):
            copy_back(original, change)
        refuse(reply)
        if "raised" in reply:
            raise learner_error(*reply["raised"])
        return self.decode(reply.get("value"), originals)

    def forget(self) -> None:
        self.proxies.clear()
        self.request("forget")


def refuse(reply: dict) -> None:
    """Raise `Forbidden` when the learner's code, as the kernel ran it for this
    reply, used what its exercise asks to implement."""
    if "forbidden" in reply:
        raise Forbidden(
            _(
                "your code uses {name}, which this exercise asks you to "
                "implement yourself: write it with tensor operations"
            ).format(name=reply["forbidden"]),
            reply["forbidden"],
        )


def sendable(value: Any) -> Any:
    """Arguments as the learner's kernel can receive them: a one-shot iterator
    (`net.parameters()`) becomes a list sent as a fresh iterator."""
    if isinstance(value, types.GeneratorType):
        return agent.OneShot(sendable(list(value)))
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(sendable(v) for v in value)
    if isinstance(value, list):
        return [sendable(v) for v in value]
    if isinstance(value, dict):
        return {k: sendable(v) for k, v in value.items()}
    return value


def copy_back(original: Any, change: Any) -> None:
    """Apply what learner code did to an argument to the grader's original."""
    if change is None:
        return
    if isinstance(original, nn.Module):
        original.train(bool(change["training"]))
        for name, (value, requires_grad, grad) in change["params"].items():
            owner, _, leaf = name.rpartition(".")
            module = original.get_submodule(owner) if owner else original
            current = getattr(module, leaf, None)
            if isinstance(current, nn.Parameter) and current.shape == value.shape:
                current.data = value
                current.requires_grad_(bool(requires_grad))
            else:
                current = nn.Parameter(value, requires_grad=bool(requires_grad))
                setattr(module, leaf, current)
            current.grad = grad
        for name, value in change["buffers"].items():
            owner, _, leaf = name.rpartition(".")
            module = original.get_submodule(owner) if owner else original
            setattr(module, leaf, value)
    elif isinstance(original, torch.Tensor):
        value, requires_grad, grad = change
        original.data = value
        if original.is_leaf:
            original.requires_grad_(bool(requires_grad))
        original.grad = grad


class RemoteGlobals:
    """`fn.__globals__` of a learner function, as `core.using` uses it."""

    def __init__(self, fn: RemoteObject):
        self.fn = fn

    def _globals(self, **fields) -> dict:
        link = _slot(self.fn, "_link")
        return link.ask("globals", target=self.fn, **fields)

    def get(self, name: str, default: Any = None) -> Any:
        return self._globals(read=[name]).get(name, default)

    def update(self, names: dict) -> None:  # the checks' substitutes
        self._globals(install=dict(names))

    def __setitem__(self, name: str, value: Any) -> None:  # the learner's, put back
        self._globals(restore={name: value})

    def pop(self, name: str, default: Any = None) -> Any:
        value = self.get(name, default)
        self._globals(remove=[name])
        return value


_OWN = {"_link", "_id", "_info"}


class RemoteObject:
    """A learner's function, class or object that stays in the learner's kernel."""

    __slots__ = tuple(_OWN)

    def __init__(self, link: Link, number: int, info: dict):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_id", number)
        object.__setattr__(self, "_info", info)

    def __getattribute__(self, name: str) -> Any:
        if name in _OWN:
            return object.__getattribute__(self, name)
        info = object.__getattribute__(self, "_info")
        if name == "__class__":
            return type if info["is_class"] else stand_in(info["classes"])
        if name == "__bases__" and info["is_class"]:
            return (stand_in(info["classes"][1:]),)
        if name in ("__name__", "__qualname__"):
            return info["name"]
        if name == "__globals__":
            return RemoteGlobals(self)
        return _slot(self, "_link").ask("getattr", target=self, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(_("the grader does not change learner objects"))

    def __call__(self, *args, **kwargs):
        return _slot(self, "_link").call(self, args, kwargs)

    def run_beside(self, helper):
        """`helper(self, ...)` run in the learner's kernel (see `core.beside`)."""
        link = _slot(self, "_link")
        return lambda *args, **kwargs: link.call(helper, (self, *args), kwargs)

    def __iter__(self):
        return _slot(self, "_link").ask("iter", target=self)

    def __next__(self):
        return _slot(self, "_link").ask("next", target=self)

    def __len__(self) -> int:
        return _slot(self, "_link").ask("len", target=self)

    def __getitem__(self, key):
        return _slot(self, "_link").ask("getitem", target=self, key=sendable(key))

    def __bool__(self) -> bool:
        return bool(_slot(self, "_link").ask("bool", target=self))

    def __repr__(self) -> str:
        return _("<your {name}>").format(name=_slot(self, "_info")["name"])

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return hash(_slot(self, "_id"))


STAND_INS = ("builtins", "torch", "numpy")


def stand_in(classes: list[str]) -> type:
    """The first class of a learner object's ancestry that the grader has itself
    (torch's, numpy's, Python's; never the checks'): what `isinstance` sees."""
    for dotted in classes:
        module, _, qualname = dotted.rpartition(".")
        if any(module == top or module.startswith(top + ".") for top in STAND_INS):
            try:
                obj = importlib.import_module(module)
                for part in qualname.split("."):
                    obj = getattr(obj, part)
            except (ImportError, AttributeError):
                continue
            if isinstance(obj, type):
                return obj
    return object
