"""lstm_ref's functions read like the notebooks: a function that has the name of a
notebook function has its arguments too, so a learner can compare after solving."""

import ast
import inspect
import json
import pathlib

import pytest

import lstm_ref

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = [lstm_ref.functional, lstm_ref.backward, lstm_ref.shapes]
# Every exercise that lstm_ref mirrors, by the name the notebook gives it.
MIRRORED = {
    "rnn_cell", "lstm_gates", "lstm_cell", "gru_cell", "lstm_layer", "lstm_step",
    "lstm_num_parameters", "sigmoid_backward", "tanh_backward", "gates_backward",
    "lstm_cell_forward", "lstm_cell_backward", "lstm_sequence_forward",
    "lstm_sequence_backward",
}  # fmt: skip


def notebook_functions():
    """(notebook, name, [(argument, default source or None)]) for every top-level
    def in every code cell of the masters: answer, given and test cells."""
    found = []
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            lines = "".join(cell["source"]).splitlines()
            source = "\n".join(line for line in lines if line[:1] not in "%!")
            for node in ast.parse(source).body:
                if isinstance(node, ast.FunctionDef):
                    found.append((path.stem, node.name, arguments(node.args)))
    return found


def arguments(args):
    defaults = [None] * (len(args.args) - len(args.defaults)) + args.defaults
    return [
        (a.arg, None if d is None else ast.unparse(d))
        for a, d in zip(args.args, defaults, strict=True)
    ]


def public_functions():
    return {
        name: getattr(module, name)
        for module in MODULES
        for name in getattr(module, "__all__", dir(module))
        if inspect.isfunction(getattr(module, name))
        and getattr(module, name).__module__ == module.__name__
        and not name.startswith("_")
    }


def signature(function):
    return [
        (p.name, None if p.default is p.empty else repr(p.default))
        for p in inspect.signature(function).parameters.values()
    ]


NOTEBOOK_FUNCTIONS = notebook_functions()


def test_every_mirrored_exercise_has_its_lstm_ref_function():
    shared = {name for _, name, _ in NOTEBOOK_FUNCTIONS} & set(public_functions())
    assert shared == MIRRORED


@pytest.mark.parametrize(
    "notebook, name, args",
    [f for f in NOTEBOOK_FUNCTIONS if f[1] in public_functions()],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_same_name_same_arguments(notebook, name, args):
    """The same arguments in the same order; a default the notebook gives, lstm_ref
    gives too (lstm_ref may add one, such as None for an absent bias)."""
    ref = signature(public_functions()[name])
    assert [a for a, _ in ref] == [a for a, _ in args], f"{notebook}: {name}"
    for (arg, default), (_, ref_default) in zip(args, ref, strict=True):
        if default is not None:
            assert ref_default == default, f"{notebook}: {name}({arg}=...)"
