"""Rules for the masters' figures that a reader of the code can check, in both editions:
a colorbar says what its colours measure, and figure text draws no arrow character
(the Korean font, Nanum Gothic, draws → so thin that "8 → 1" reads "8 ›1": write the
arrow as mathtext, $\\rightarrow$, or in words)."""

from __future__ import annotations

import ast
import re

import pytest

from autograder import notebooks
from autograder.grading import course

ARROWS = re.compile(r"[\u2190-\u21ff\u27f0-\u27ff\u2900-\u297f]")  # →, ⟶, ⤏, …
MATH = re.compile(r"\$[^$]*\$")  # mathtext: drawn with matplotlib's math font
MASTERS = [
    pytest.param(path, id=f"{lang}-{path.stem}")
    for lang in ("en", "ko")
    for path in sorted(course.masters_of(lang).glob("*/*.ipynb"))
]


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _printed(tree: ast.AST) -> set[int]:
    """The strings inside print(...): text for the console, not for a figure."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print"
        for inner in ast.walk(node)
    }


def arrows_drawn(source: str) -> list[str]:
    """String literals (no docstring, nothing printed) with an arrow outside $…$."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _printed(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and ARROWS.search(MATH.sub("", node.value))
    ]


def colorbars_without_label(source: str) -> list[str]:
    bare = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "colorbar":
            label = next((k.value for k in node.keywords if k.arg == "label"), None)
            if not (isinstance(label, ast.Constant) and str(label.value).strip()):
                bare.append(ast.unparse(node))
    return bare


def code_cells(path):
    for cell in notebooks.read(path).cells:
        if cell.cell_type == "code":
            yield cell.get("id"), cell.source


@pytest.mark.parametrize("path", MASTERS)
def test_no_arrow_character_in_figure_text(path):
    found = [
        (cell, text) for cell, src in code_cells(path) for text in arrows_drawn(src)
    ]
    assert not found, found


@pytest.mark.parametrize("path", MASTERS)
def test_a_colorbar_says_what_it_measures(path):
    bare = [
        (cell, call)
        for cell, src in code_cells(path)
        for call in colorbars_without_label(src)
    ]
    assert not bare, bare


def test_the_rules_catch_what_they_forbid():
    source = (
        'ax.set_title(f"{a} → {b}")\n'
        'print("a → b")\n'
        'ax.set_title("a $\\\\rightarrow$ b")\n'
        "fig.colorbar(image, ax=ax)\n"
        'fig.colorbar(image, ax=ax, label="gate value")\n'
    )
    assert arrows_drawn(source) == [" → "]
    assert colorbars_without_label(source) == ["fig.colorbar(image, ax=ax)"]
