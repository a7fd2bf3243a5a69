"""Answers that are the same code in several students' notebooks: a review list.

An answer cell is reduced to the shape of its code: comments, docstrings, layout
and quotes go (`ast`), and every name the cell binds itself (its functions, their
arguments, its variables) is renamed by order of first use, so `gates = x @ w.T`
and `pre = x @ w.T` are the same answer (the function the exercise asks for is
bound by the cell, so renamed too); names it takes from elsewhere (`torch`, what
earlier cells define) stay. Only answers that are code (a function, a class or a
loop, of some size) are compared: two students who predict the same number, or the
same wrong shape, share a thought, not a text. An answer that is the course's own
solution is listed apart.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field

MIN_NODES = 30  # smaller answers are too short to tell anything apart
CODE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While)
SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def solution_of(master_source: str) -> str:
    """A master's answer cell as a learner who wrote the solution would have it."""
    return SOLUTION_MARK.sub("", master_source)


def _parse(source: str) -> ast.Module | None:
    lines = [line for line in source.splitlines() if line.lstrip()[:1] not in "%!"]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


DEFINES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
SKIPPED = {"ctx", "type_comment", "returns", "annotation", "type_params"}


@dataclass(frozen=True)
class Shape:
    digest: str  # the same for the same code, whatever its names and layout
    nodes: int  # how much code it is
    is_code: bool  # a function, class or loop (not a value)


# A cheap first look: an answer without one of these is no code to compare.
LOOKS_LIKE_CODE = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class|for|while)\b", re.M)


def shape(source: str) -> Shape | None:
    """The shape of an answer's code, or None when it does not parse. One walk
    over its syntax tree, in order: each node's type and fields written out,
    docstrings and annotations left out, and the names the cell binds renamed
    by order of first appearance."""
    tree = _parse(source)
    if tree is None:
        return None
    out: list[str] = []
    names: list[int] = []  # where in `out` a name stands
    bound: set[str] = set()
    nodes, is_code = 0, False
    stack: list = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.AST):
            nodes += 1
            kind = type(item)
            out.append(kind.__name__)
            is_code = is_code or isinstance(item, CODE)
            name = None
            if kind is ast.Name:
                name = item.id
                if not isinstance(item.ctx, ast.Load):
                    bound.add(name)
            elif kind is ast.arg:
                name = item.arg
                bound.add(name)
            elif isinstance(item, DEFINES) or (kind is ast.ExceptHandler and item.name):
                name = item.name
                bound.add(name)
            if name is not None:
                names.append(len(out))
                out.append(name)
            children = []
            for field_name in item._fields:
                if field_name in SKIPPED or (
                    name is not None and field_name in ("id", "arg", "name")
                ):
                    continue
                value = getattr(item, field_name, None)
                if field_name == "body" and isinstance(value, list):
                    value = [s for s in value if not _is_docstring(s)]
                children.append(value)
            stack.extend(reversed(children))
        elif isinstance(item, list):
            out.append(f"[{len(item)}")
            stack.extend(reversed(item))
        else:
            out.append(repr(item))
    renamed: dict[str, str] = {}
    for at in names:
        if out[at] in bound:
            out[at] = renamed.setdefault(out[at], f"_{len(renamed)}")
    digest = hashlib.sha1("\x00".join(out).encode()).hexdigest()
    return Shape(digest, nodes, is_code)


@dataclass
class Group:
    assignment: str
    exercise: str  # the answer cell's grade_id
    students: list[str]
    nodes: int
    solution: bool  # the course's own solution


@dataclass
class Answers:
    """The answers to one answer cell across a class, as shapes."""

    assignment: str
    exercise: str
    stub: Shape | None  # the release's, unchanged by a learner who did not answer
    solution: Shape | None  # the master's
    by_student: dict[str, Shape | None] = field(default_factory=dict)


def groups(answers: Answers) -> list[Group]:
    """Students whose answers to this cell are the same code (two or more)."""
    found: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for student, found_shape in answers.by_student.items():
        if (
            found_shape is None
            or not found_shape.is_code
            or found_shape.nodes < MIN_NODES
            or found_shape == answers.stub
        ):
            continue
        found.setdefault(found_shape.digest, []).append(student)
        sizes[found_shape.digest] = found_shape.nodes
    solution = answers.solution.digest if answers.solution else None
    return [
        Group(
            answers.assignment,
            answers.exercise,
            sorted(students),
            sizes[digest],
            digest == solution,
        )
        for digest, students in found.items()
        if len(students) > 1
    ]
