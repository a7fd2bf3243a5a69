"""The static half of "an answer must not call what it implements": the learner's
code, read by the grader before any of it runs, outside the learner's kernel.

The watch in the kernel (`agent.Guard`) sees each call an answer makes, but only
in the answer's own thread and only while Python's profiler runs: code that hands
the work to a thread or a process, compiles it (TorchScript, torch.compile), calls
torch's operators past Python, loads another implementation, or reaches the
watch's own objects goes unseen, each a few lines away in any kernel. An LSTM
answer needs none of that. So every code cell the learner wrote or changed is read
here (IPython syntax turned into Python first, as the kernel does), and what it
refuses (`hatches` has the tables) is:

- imports beyond the modules the course's notebooks use (`sys` for its streams and
  data only; not tqdm, whose bars run in a thread of their own), star and relative
  imports, the grader's own modules;
- code from strings or names built at run time: exec, eval, compile, __import__,
  globals, locals, vars, open, breakpoint, `type` with three arguments; getattr and
  its siblings with a name not written out (`f"weight_ih_l{k}"`, a written start
  or end, is fine);
- Python's own machinery: dunder attributes (but `__init__`, `__name__`…), private
  ones (but on `self` and `cls`), frames and code objects, the profiler,
  `__del__`, string annotations that hold any of it;
- a module as a value (passed, stored, returned: a module is used through its
  names), and changes to a module's objects (`torch.tanh = ...`);
- TorchScript, torch.compile, torch.fx, torch.ops, torch's private and other
  submodules (quantized LSTMs among them), loading pickles (torch.load,
  numpy.load), matplotlib's backend settings (a backend is a module imported by
  name), DataLoader (its workers are processes), IPython magics and `!` commands.

A cell the master has as it is (same grade id or cell id, same source) is the
course's code and is not read, nor is a function or class the master defines word
for word (docstrings aside: the editions translate them). A cell that does not
parse runs nothing. What this pass cannot see is in the README ("How grading is
sealed").
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from autograder import notebooks
from autograder.i18n import _
from autograder.sealed import hatches as h
from autograder.sealed.hatches import IN_ANSWER, IN_CELL, REFUSED


@dataclass(frozen=True)
class Refusal:
    """One refused construct: where (an answer's grade id or a code cell's number,
    and the line), what, and why (a message key of `hatches`)."""

    cell: str
    answer: bool
    line: int
    construct: str
    reason: str

    @property
    def tampering(self) -> bool:
        return self.reason == h.GRADER

    def where(self) -> str:
        if self.answer:
            return _(IN_ANSWER).format(cell=self.cell, line=self.line)
        return _(IN_CELL).format(cell=self.cell, line=self.line)

    def message(self) -> str:
        return _(REFUSED).format(
            where=self.where(), construct=self.construct, reason=_(self.reason)
        )


def refusals(nb: NotebookNode, master: NotebookNode) -> list[Refusal]:
    """Every refused construct in the learner's code, in the notebook's order."""
    cells = list(learner_cells(nb, master))
    theirs = [tree for *_, tree in learner_cells(master, NO_CELLS) if tree]
    masters = {shape(n) for tree in theirs for n in ast.walk(tree) if _defines(n)}
    modules = aliases(theirs + [tree for *_, tree in cells if tree is not None])
    found: list[Refusal] = []
    for label, answer, source, tree in cells:
        reader = Reader(modules, masters)
        try:
            if tree is None:  # parsed by the kernel, perhaps, but not here
                raise RecursionError
            reader.read(tree)
        except RecursionError:  # nested deeper than this reads: refused unread
            first = source.strip().splitlines()[0]
            reader.found = [(ast.Pass(lineno=1), first[:40] + "…", h.UNREADABLE)]
        for node, construct, reason in sorted(reader.found, key=_place):
            line = getattr(node, "lineno", 1)
            refusal = Refusal(label, answer, line, construct[:80], reason)
            if refusal not in found:
                found.append(refusal)
    return found


# ---- which code is the learner's ------------------------------------------------


def python(source: str) -> ast.Module | None:
    """A cell's code as the kernel runs it (magics become `get_ipython()` calls);
    None when it does not parse here, nested too deep (RecursionError: the kernel,
    whose stack is not as deep, may still run it); a SyntaxError (ValueError for a
    null byte) is raised, as the kernel would: such a cell runs nothing."""
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except RecursionError:
        return None


NO_CELLS = NotebookNode(cells=[])  # against which every cell is the learner's


def _key(cell: NotebookNode) -> str:
    return notebooks.nbgrader_meta(cell).get("grade_id") or cell.get("id") or ""


def learner_cells(
    nb: NotebookNode, master: NotebookNode
) -> Iterator[tuple[str, bool, str, ast.Module | None]]:
    """(label, is an answer, source, code or None) of each code cell not as the
    master has it that runs (parses)."""
    theirs = {_key(c): c.source for c in master.cells if c.cell_type == "code"}
    for number, cell in enumerate(nb.cells, 1):
        key = _key(cell)
        if cell.cell_type != "code" or theirs.get(key) == cell.source:
            continue
        try:
            tree = python(cell.source)
        except (SyntaxError, ValueError):
            continue  # runs nothing
        answer = notebooks.is_answer(cell)
        yield (key if answer else str(number)), answer, cell.source, tree


def _defines(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def shape(node: ast.AST) -> str:
    """A definition's code without its docstrings."""
    node = ast.parse(ast.unparse(node)).body[0]
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if isinstance(body, list) and body and _is_text(body[0]):
            inner.body = body[1:] or [ast.Pass()]
    return ast.dump(node)


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and _written(node.value) is not None


def _written(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _place(found: tuple) -> tuple[int, int]:
    node = found[0]
    return getattr(node, "lineno", 1), getattr(node, "col_offset", 0)


# ---- the modules names stand for -------------------------------------------------


def aliases(trees: list[ast.Module]) -> dict[str, str]:
    """Names bound to modules anywhere in the notebook: by `import` (also `from x
    import module`), or by assigning a module to a plain name."""
    found: dict[str, str] = {}
    for _round in range(2):  # an alias may be assigned from another
        for node in (n for tree in trees for n in ast.walk(tree)):
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    found[a.asname or top] = a.name if a.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    dotted = f"{node.module}.{a.name}"
                    if isinstance(h.member_of(dotted), types.ModuleType):
                        found[a.asname or a.name] = dotted
            elif isinstance(node, ast.Assign) and _one_name(node):
                reached = h.member_of(_dotted(node.value, found))
                if isinstance(reached, types.ModuleType):
                    found[node.targets[0].id] = reached.__name__
    return found


def _one_name(node: ast.Assign) -> bool:
    return len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)


def _chain(node: ast.AST) -> tuple[ast.AST, list[str]]:
    """`torch.nn.functional` -> (the node `torch`, ["nn", "functional"])."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return node, names[::-1]


def _dotted(node: ast.AST, modules: dict[str, str]) -> str:
    """`torch.nn.functional` for a module's name or an attribute chain on it."""
    root, names = _chain(node)
    if isinstance(root, ast.Name) and root.id in modules:
        return ".".join([modules[root.id], *names])
    return ""


def safe_built_name(node: ast.AST) -> bool:
    """An attribute name built at run time that cannot be a dunder, a private
    name or a hatch: it starts with a written letter, or ends with a written tail
    that no hatch ends with."""
    start, end = _ends(node)
    if start[:1].isalpha():
        return not any(x.startswith(start) or start.startswith(x) for x in h.HATCHES)
    hatch = any(x.endswith(end) for x in h.HATCHES)
    return len(end) > 1 and not end.endswith("_") and not hatch


def _ends(node: ast.AST) -> tuple[str, str]:
    """The written start and end of a string built at run time ("" if none)."""
    if _written(node) is not None:
        return node.value, node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _ends(node.left)[0], _ends(node.right)[1]
    if isinstance(node, ast.JoinedStr) and node.values:
        return _ends(node.values[0])[0], _ends(node.values[-1])[1]
    return "", ""


# ---- the reading ------------------------------------------------------------------


class Reader(ast.NodeVisitor):
    """Reads one cell; `found` holds (node, construct, reason) of each refusal."""

    def __init__(self, modules: dict[str, str], masters: set[str]):
        self.modules = modules  # name -> the module it stands for
        self.masters = masters  # the shapes of the master's definitions
        self.found: list[tuple[ast.AST, str, str]] = []
        self.parents: dict[ast.AST, ast.AST] = {}

    def read(self, tree: ast.AST) -> None:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.visit(tree)

    def refuse(self, node: ast.AST, construct: str, reason: str) -> None:
        self.found.append((node, construct, reason))

    # ---- imports ----

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if not h.allowed(a.name):
                self.refuse(node, f"import {a.name}", h.module_reason(a.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for a in node.names:
            construct = f"from {'.' * node.level}{module} import {a.name}"
            reached = h.member_of(f"{module}.{a.name}")
            if module == "__future__" and a.name != "barry_as_FLUFL":
                continue  # annotations…; FLUFL would change the syntax read here
            if node.level or a.name == "*":
                self.refuse(node, construct, h.MODULES)
            elif isinstance(reached, types.ModuleType) or not h.allowed(module):
                name = getattr(reached, "__name__", f"{module}.{a.name}")
                if not h.allowed(name):
                    self.refuse(node, construct, h.module_reason(name))
            else:
                self.name_rules(node, a.name, construct, owner=module)

    # ---- names and attributes ----

    def visit_Name(self, node: ast.Name) -> None:
        parent = self.parents.get(node)
        if node.id in h.NAMES:
            self.refuse(node, node.id, h.NAMES[node.id])
        elif node.id in h.BY_NAME and not (
            isinstance(parent, ast.Call) and parent.func is node
        ):
            self.refuse(node, node.id, h.DYNAMIC)
        elif node.id in self.modules and isinstance(node.ctx, ast.Load):
            if not isinstance(parent, ast.Attribute) and not self.held(node):
                self.refuse(node, node.id, h.MODULE_VALUE)

    def held(self, node: ast.AST) -> bool:
        """A module named where that is fine: shown (`print(torch)`), given another
        name (`F = torch.nn.functional`), read by a written name (`getattr(torch,
        "tanh")`)."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.Assign):
            return parent.value is node and _one_name(parent)
        if not isinstance(parent, ast.Call) or not isinstance(parent.func, ast.Name):
            return False
        if parent.func.id in h.SHOWN:
            return node in parent.args
        return (
            parent.func.id in ("getattr", "hasattr")
            and parent.args[:1] == [node]
            and len(parent.args) > 1
            and _written(parent.args[1]) is not None
        )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.name_rules(node, node.attr, ast.unparse(node), receiver=node.value)
        parent = self.parents.get(node)
        if not (isinstance(parent, ast.Attribute) and parent.value is node):
            root, names = _chain(node)
            if isinstance(root, ast.Name) and root.id in self.modules:
                self.chain(node, self.modules[root.id], names)
        self.generic_visit(node)

    def name_rules(
        self, node: ast.AST, name: str, construct: str, receiver=None, owner=""
    ) -> None:
        """An attribute's (or imported) name: the profiler, a dunder, a private
        name, a hatch; and, read from the module `owner`, that module's rules."""
        own = isinstance(receiver, ast.Name) and receiver.id in h.OWN
        if name in h.PROFILER:
            self.refuse(node, construct, h.GRADER)
        elif name.startswith("__") and name.endswith("__"):
            if name not in h.SAFE_DUNDERS:
                self.refuse(node, construct, h.MACHINERY)
        elif name.startswith("_") and not own and name not in h.NAMEDTUPLE:
            self.refuse(node, construct, h.MACHINERY)
        elif name in h.FRAMES:
            self.refuse(node, construct, h.MACHINERY)
        elif name == "compile" and not _dotted(receiver, self.modules):
            self.refuse(node, construct, h.COMPILED)  # nn.Module.compile; re's is fine
        elif owner and h.member_reason(owner, name):
            self.refuse(node, construct, h.member_reason(owner, name))

    def chain(self, node: ast.Attribute, module: str, names: list[str]) -> None:
        """`torch.nn.functional.relu`: each module on the way allowed, the object
        reached not a denied one, nothing stored into a module, no module left as a
        value."""
        construct = ast.unparse(node)
        if module == "sys":
            if not self.sys_use(node, names):
                self.refuse(node, construct, h.MACHINERY)
            return
        last: Any = h.module(module)
        for name in names:
            if name.startswith("_"):
                return  # refused as a private name
            if not isinstance(last, types.ModuleType):
                break
            reason = h.member_reason(last.__name__, name)
            if reason:
                self.refuse(node, construct, reason)
                return
            last = h.member(last, name)
        if self.stored(node):
            self.refuse(node, construct, h.PATCHING)
        elif isinstance(last, types.ModuleType) and not self.held(node):
            self.refuse(node, construct, h.MODULE_VALUE)

    def stored(self, node: ast.AST) -> bool:
        """Whether the chain (or an item of it) is assigned or deleted."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            if isinstance(node.ctx, ast.Store | ast.Del):
                return True
            parent = self.parents.get(node)
            if not (isinstance(parent, ast.Subscript) and parent.value is node):
                return False
            node = parent
        return False

    def sys_use(self, node: ast.AST, names: list[str]) -> bool:
        """sys for its data (sys.float_info…) and its streams as print's `file=`
        or written to: sys.stdout.write(...), sys.stderr.flush()."""
        if names[:1] and names[0] in h.SYS_DATA:
            return not self.stored(node)
        if names[:1] not in (["stdout"], ["stderr"]):
            return False
        parent = self.parents.get(node)
        if len(names) == 1:
            return isinstance(parent, ast.keyword) and parent.arg == "file"
        called = isinstance(parent, ast.Call) and parent.func is node
        return len(names) == 2 and names[1] in ("write", "flush") and called

    # ---- calls and definitions ----

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and _is_shell(func.value):
            self.refuse(node, magic(node), h.MAGIC)
            return
        for keyword in node.keywords:
            zero = isinstance(keyword.value, ast.Constant) and keyword.value.value == 0
            if keyword.arg == "num_workers" and not zero:
                self.refuse(node, ast.unparse(keyword), h.PARALLEL)
            elif keyword.arg == "allow_pickle":
                self.refuse(node, ast.unparse(keyword), h.LOADING)
        name = func.id if isinstance(func, ast.Name) else ""
        if name == "type" and len(node.args) == 3:
            self.refuse(node, ast.unparse(node), h.DYNAMIC)
        if name in h.BY_NAME and len(node.args) > 1:
            self.by_name(node, name, *node.args[:2])
        self.generic_visit(node)

    def by_name(self, node: ast.Call, how: str, receiver, name) -> None:
        """getattr(receiver, name) and its siblings: a written name is read as
        `receiver.name`; a built one must be a safe one, never read from a module."""
        construct = ast.unparse(node)
        owner = h.member_of(_dotted(receiver, self.modules))
        written = _written(name)
        if written is None:
            if owner is not None or not safe_built_name(name):
                self.refuse(node, construct, h.DYNAMIC)
            return
        self.name_rules(node, written, construct, receiver=receiver)
        if isinstance(owner, types.ModuleType):
            if how in ("setattr", "delattr"):
                self.refuse(node, construct, h.PATCHING)
            elif h.member_reason(owner.__name__, written):
                self.refuse(node, construct, h.member_reason(owner.__name__, written))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if shape(node) in self.masters:
            return  # the course's own code
        if node.name == "__del__":  # runs whenever, in whichever thread
            self.refuse(node, f"def {node.name}", h.MACHINERY)
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a]
        for annotation in [a.annotation for a in every] + [node.returns]:
            self.annotation(annotation)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if shape(node) not in self.masters:
            self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.annotation(node.annotation)
        self.generic_visit(node)

    def annotation(self, node: ast.AST | None) -> None:
        """A string annotation is code too (typing.get_type_hints evaluates it)."""
        text = _written(node) if node is not None else None
        if text is not None:
            try:
                self.read(ast.parse(text, mode="eval"))
            except SyntaxError:
                pass

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for name in node.kwd_attrs:  # `case C(attr=x)` reads C's attribute
            self.name_rules(node, name, f"{ast.unparse(node.cls)}({name}=…)")
        self.generic_visit(node)


def _is_shell(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "get_ipython"
    )


def magic(call: ast.Call) -> str:
    """How the learner wrote an IPython line: `!ls`, `%time …`, `%%bash`."""
    how = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    words = [str(w) for a in call.args[:2] if (w := _written(a))]
    text = re.sub(r"\s+", " ", " ".join(words))
    if how in ("system", "getoutput"):
        return f"!{text}"
    return ("%%" if how == "run_cell_magic" else "%") + text
