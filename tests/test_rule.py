"""The rule "an answer must not call what it implements", decided where the
student cannot reach: the grader reads the learner's code before it runs
(autograder/sealed/screen.py, its tables in hatches.py) and the in-kernel watch
can no longer be switched off or routed around.

Fast, on the static pass alone: every master's answers (both editions), every
catalogued mistake, the answers rewritten in the tests and the honest noisy ones
pass it untouched; every construct of a table is refused with its reason; every
evasion of tests/adversarial/evasions.py is refused naming its construct; the
modules the masters import are allowed.

Real, in one class graded by `grade --jobs 2` (real nbgrader, sealed kernels):
each evasion earns exactly 02's points but its watched exercises', whose lines
carry the refusal; a call of the fused operator made by C code (map,
functools.partial) costs its exercise; answers rewritten in ordinary ways earn
everything; the
instructor's list and the CSV column name every submission that hit a bound, was
refused or tampered with the grader.
"""

from __future__ import annotations

import ast
import csv
import functools
from pathlib import Path

import nbformat
import pytest
from adversarial import classroom, payloads
from adversarial.attacks import CALLED, CELL, NOISY, RANDOM, Context, call
from adversarial.evasions import EVASIONS, REFUSED, UNSEEN
from grading import batches, harness
from nbformat.v4 import new_code_cell
from test_checks_lstm_cell import (
    GRU_MISTAKES,
    GRU_SOURCE,
    WHOLE_CELL_MISTAKES,
    cell_source,
)

from autograder import i18n, notebooks
from autograder.grading import course, feedback, incidents
from autograder.grading.grade import grade
from autograder.sealed import hatches, screen

EDITIONS = [(lang, a) for lang in i18n.LANGUAGES for a in course.assignments()]


def master(assignment: str, lang: str = i18n.SOURCE) -> nbformat.NotebookNode:
    folder = course.masters_of(lang) / assignment
    return notebooks.read(folder / f"{assignment}.ipynb")


@functools.cache
def filled(assignment: str, lang: str = i18n.SOURCE) -> nbformat.NotebookNode:
    release = course.release_of(lang) / assignment / f"{assignment}.ipynb"
    return harness.fill(notebooks.read(release), master(assignment, lang))


def refused(nb, assignment: str = CELL) -> list[tuple[str, str]]:
    return [(r.construct, r.reason) for r in screen.refusals(nb, master(assignment))]


def answering(exercise: str, source: str, assignment: str = CELL):
    nb = nbformat.from_dict(filled(assignment))
    harness.answer_cell(nb, exercise).source = source
    return nb


# ---- honest code passes -------------------------------------------------------------


@pytest.mark.parametrize("lang, assignment", EDITIONS)
def test_the_masters_answers_and_releases_are_not_refused(lang, assignment):
    release = course.release_of(lang) / assignment / f"{assignment}.ipynb"
    for nb in (filled(assignment, lang), notebooks.read(release)):
        assert screen.refusals(nb, master(assignment, lang)) == []


@pytest.mark.parametrize("assignment", course.assignments())
def test_no_catalogued_mistake_is_refused(assignment):
    catalog = harness.catalog(batches.CATALOGS / f"{assignment}.toml", assignment)
    assert catalog
    for mistake in catalog:
        nb = harness.apply(filled(assignment), mistake)
        assert refused(nb, assignment) == [], mistake.name


def test_the_rewritten_answers_of_the_tests_are_not_refused():
    """The whole cells tests/test_checks_lstm_cell.py diagnoses, the honest noisy
    and random answers of the adversarial suite, and REWRITES below."""
    cells = [cell_source(**changes) for changes, _ in WHOLE_CELL_MISTAKES]
    cells += [GRU_SOURCE.replace(old, new) for old, new, _ in GRU_MISTAKES]
    for source in [cell_source(), GRU_SOURCE, *cells]:
        assert refused(answering("lstm-cell", source)) == [], source
    ctx = Context("/nowhere", "")
    for honest in (NOISY, RANDOM, rewritten):
        assert refused(honest(filled(CELL), ctx)) == []


def test_every_module_a_master_imports_is_allowed():
    """The allow-list is the masters' imports and more: a master importing a module
    it lacks fails here (add the module to hatches.ALLOWED, or to NOT_FOR_ANSWERS
    with the reason)."""
    for lang, assignment in EDITIONS:
        for cell in master(assignment, lang).cells:
            tree = screen.python(cell.source) if cell.cell_type == "code" else None
            for node in ast.walk(tree) if tree else ():
                names = []
                if isinstance(node, ast.Import):
                    names = [[a.name] for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    module = node.module
                    names = [[module, f"{module}.{a.name}"] for a in node.names]
                for either in names:
                    top = either[0].split(".")[0]
                    assert top in hatches.NOT_FOR_ANSWERS or any(
                        hatches.allowed(name) for name in either
                    ), (assignment, either)


ORDINARY = {
    "einsum and a comprehension": "y = [torch.einsum('ij,j->i', w, v) for w, v in []]",
    "torch.nn.functional, aliased": "import torch.nn.functional as F\n"
    "G = torch.nn.functional\ny = F.relu(G.sigmoid(torch.ones(2)))",
    "a class of one's own": "class Cell(torch.nn.Module):\n"
    "    def __init__(self):\n        super().__init__()\n        self._w = 1\n"
    "    def __repr__(self):\n"
    "        return type(self).__name__ + self.__class__.__name__",
    "getattr with written names": "def f(m, k, name):\n"
    "    a = getattr(m, 'weight_ih_l0')\n    b = getattr(m, f'weight_hh_l{k}')\n"
    "    setattr(m, name + '_l0', a)\n    return hasattr(m, 'bias_' + name), a, b",
    "printing to stderr, warnings": "import sys\nimport warnings\n\n"
    "print('x', file=sys.stderr)\nsys.stdout.write('y')\nsys.stderr.flush()\n"
    "warnings.warn('careful')\nprint(sys.float_info.epsilon)",
    "randomness and time": "import random\nimport time\n\nrandom.seed(1)\n"
    "torch.manual_seed(random.randint(0, 9))\ntime.sleep(0)",
    "typing and dataclasses": "from dataclasses import dataclass\n"
    "from typing import Optional\n\n\n@dataclass\nclass P:\n"
    "    w: Optional[torch.Tensor] = None\n\n\ndef f(x: 'torch.Tensor') -> 'P':\n"
    "    return P(x)",
    "a dataset and a future import": "from __future__ import annotations\n\n"
    "from torch.utils.data import TensorDataset\n"
    "data = TensorDataset(torch.ones(2))",
    "the reference, by its name": "y = ref.lstm_cell",  # the watch judges its calls
    "the checks, as the test cells call them": "checks.check_lstm_cell(lstm_cell)",
    "a module shown": "print(torch)\nhelp(torch.nn)",
    "a figure": "fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()",
    "a regular expression": "import re\n\nPATTERN = re.compile(r'weight_(ih|hh)')",
}


@pytest.mark.parametrize("source", ORDINARY.values(), ids=ORDINARY)
def test_ordinary_code_is_not_refused(source):
    assert refused(answering("lstm-cell", source)) == []


# ---- what is refused, and why -----------------------------------------------------

REFUSALS = [
    ("import threading", "import threading", hatches.PARALLEL),
    ("from concurrent.futures import ThreadPoolExecutor", "from concurrent.futures "
     "import ThreadPoolExecutor", hatches.PARALLEL),
    ("import os\nos.fork()", "import os", hatches.PARALLEL),
    ("t = torch.multiprocessing", "torch.multiprocessing", hatches.PARALLEL),
    ("from torch.utils.data import DataLoader\nDataLoader([1], num_workers=2)",
     "num_workers=2", hatches.PARALLEL),
    ("from torch.utils.data import DataLoader", "from torch.utils.data import "
     "DataLoader", hatches.PARALLEL),
    ("from tqdm.auto import tqdm", "from tqdm.auto import tqdm", hatches.PARALLEL),
    ("from __future__ import barry_as_FLUFL", "from __future__ import "
     "barry_as_FLUFL", hatches.MODULES),
    ("y = torch.threading", "torch.threading", hatches.PARALLEL),
    ("f = torch.compile(torch.tanh)", "torch.compile", hatches.COMPILED),
    ("m = torch.nn.Linear(1, 1)\nm.compile()", "m.compile", hatches.COMPILED),
    ("from torch import jit", "from torch import jit", hatches.COMPILED),
    ("g = torch.fx.symbolic_trace", "torch.fx.symbolic_trace", hatches.COMPILED),
    ("y = torch.ops.aten.lstm_cell", "torch.ops.aten.lstm_cell", hatches.COMPILED),
    ("import torch.nn.quantized", "import torch.nn.quantized", hatches.COMPILED),
    ("y = torch._VF.lstm_cell", "torch._VF", hatches.MACHINERY),
    ("y = torch._C._VariableFunctions", "torch._C", hatches.MACHINERY),
    ("x = getattr(torch, 'lstm' + '_cell')", "getattr(torch, 'lstm' + '_cell')",
     hatches.DYNAMIC),
    ("def f(m, n):\n    return getattr(m, n)", "getattr(m, n)", hatches.DYNAMIC),
    ("g = getattr", "getattr", hatches.DYNAMIC),
    ("eval('1')", "eval", hatches.DYNAMIC),
    ("__import__('os')", "__import__", hatches.DYNAMIC),
    ("globals()['x'] = 1", "globals", hatches.DYNAMIC),
    ("X = type('X', (), {})", "type('X', (), {})", hatches.DYNAMIC),
    ("def f(x: \"__import__('os')\"):\n    pass", "__import__", hatches.DYNAMIC),
    ("import importlib", "import importlib", hatches.LOADING),
    ("import pickle", "import pickle", hatches.LOADING),
    ("w = torch.load('w.pt')", "torch.load", hatches.LOADING),
    ("import numpy as np\nnp.load('a.npy')", "np.load", hatches.LOADING),
    ("open('x.py', 'w')", "open", hatches.LOADING),
    ("plt.switch_backend('module://mine')", "plt.switch_backend", hatches.LOADING),
    ("import sys\nsys.modules['x']", "sys.modules", hatches.MACHINERY),
    ("import sys\nout = sys.stdout", "sys.stdout", hatches.MACHINERY),
    ("y = torch.sys.modules", "torch.sys.modules", hatches.MACHINERY),
    ("import gc", "import gc", hatches.MACHINERY),
    ("import ctypes", "import ctypes", hatches.MACHINERY),
    ("import inspect", "import inspect", hatches.MACHINERY),
    ("x = ().__class__.__mro__", "().__class__.__mro__", hatches.MACHINERY),
    ("y = lstm_cell.__globals__", "lstm_cell.__globals__", hatches.MACHINERY),
    ("y = torch.ones(1)._cdata", "torch.ones(1)._cdata", hatches.MACHINERY),
    ("g = (i for i in [1])\nf = g.gi_frame", "g.gi_frame", hatches.MACHINERY),
    ("class A:\n    def __del__(self):\n        pass", "def __del__",
     hatches.MACHINERY),
    ("match 1:\n    case object(f_back=b):\n        pass", "object(f_back=…)",
     hatches.MACHINERY),
    ("import sys\nsys.setprofile(None)", "sys.setprofile", hatches.GRADER),
    ("y = lstm_cell.setprofile", "lstm_cell.setprofile", hatches.GRADER),
    ("import autograder.sealed.agent", "import autograder.sealed.agent",
     hatches.GRADER),
    ("from autograder.sealed import agent", "from autograder.sealed import agent",
     hatches.GRADER),
    ("import IPython", "import IPython", hatches.GRADER),
    ("torch.tanh = torch.sigmoid", "torch.tanh", hatches.PATCHING),
    ("setattr(torch, 'tanh', None)", "setattr(torch, 'tanh', None)",
     hatches.PATCHING),
    ("def f(m=torch):\n    return m", "torch", hatches.MODULE_VALUE),
    ("y = checks.reference_gates", "checks.reference_gates", hatches.CHECKS),
    ("!ls", "!ls", hatches.MAGIC),
    ("%time y = 1", "%time y = 1", hatches.MAGIC),
    ("def f():\n    y = !ls\n    return y", "!ls", hatches.MAGIC),
    ("%%bash\nls", "%%bash", hatches.MAGIC),
    ("get_ipython()", "get_ipython", hatches.MAGIC),
    ("from torch import *", "from torch import *", hatches.MODULES),
    ("import requests", "import requests", hatches.MODULES),
]  # fmt: skip


@pytest.mark.parametrize("source, construct, reason", REFUSALS, ids=lambda v: v)
def test_each_escape_hatch_is_refused_with_its_reason(source, construct, reason):
    found = refused(answering("lstm-cell", source))
    assert (construct, reason) in found, found


@pytest.mark.parametrize(
    "name, source, construct, reason", EVASIONS, ids=[e[0] for e in EVASIONS]
)
def test_each_evasion_is_refused_first_for_its_construct(
    name, source, construct, reason
):
    (first, *_) = screen.refusals(answering("lstm-cell", source), master(CELL))
    assert (first.cell, first.answer) == ("lstm-cell", True)
    assert (first.construct, first.reason) == (construct, reason)


def test_code_nested_too_deep_to_read_is_refused():
    """The kernel parses an attribute chain 500 deep; reading it here would pass
    Python's recursion limit: refused, not read past (nor a crash of grading)."""
    deep = "y = x" + ".a" * 500 + "\nimport threading"
    compile(deep, "<cell>", "exec")
    (first,) = screen.refusals(answering("lstm-cell", deep), master(CELL))
    assert (first.line, first.reason) == (1, hatches.UNREADABLE)
    assert first.construct.startswith("y = x.a.a")


def test_code_the_master_has_as_it_is_is_not_read():
    """A given definition the master has word for word (04's MyLSTM.weights reads
    attributes by names it builds) passes in its answer cell; the same line in
    the learner's own function does not."""
    nb = filled("04_nn_lstm_parameters")
    assert (
        "getattr(self, name + suffix, None)"
        in harness.answer_cell(nb, "my-lstm").source
    )
    assert refused(nb, "04_nn_lstm_parameters") == []
    own = "def weights(self, names, suffix):\n"
    own += "    return [getattr(self, name + suffix, None) for name in names]"
    nb.cells.append(new_code_cell(own))
    found = screen.refusals(nb, master("04_nn_lstm_parameters"))
    assert [(r.cell, r.answer, r.line) for r in found] == [
        (str(len(nb.cells)), False, 2)
    ]


def test_the_message_says_where_what_and_why_in_the_learners_language():
    (first, *_) = screen.refusals(answering("lstm-cell", EVASIONS[0][1]), master(CELL))
    assert first.message() == (
        "answer cell lstm-cell, line 1: `import threading` is refused: an answer "
        "must compute what its exercise implements itself, and threads and "
        "processes run code the grader cannot watch. Until it is removed, every "
        "exercise whose answer must not call what it implements scores 0."
    )
    with i18n.use("ko"):
        korean = first.message()
    assert korean.startswith("답안 셀 lstm-cell의 1번째 줄: `import threading`은")
    assert "스레드와 프로세스" in korean


# ---- the class, graded ------------------------------------------------------------

# 02's answers rewritten in ordinary ways (helpers, classes of one's own, einsum,
# torch.nn.functional, loops, attribute names built from written ones, printing,
# warnings, randomness): every exercise keeps its points.
REWRITES = {
    "lstm-gates": """import torch.nn.functional as F


def _affine(v, weight):
    return torch.einsum("...j,kj->...k", v, weight)


def lstm_gates(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    pre = _affine(x, weight_ih) + _affine(h, weight_hh)
    if bias_ih is not None:
        pre = pre + (bias_ih + bias_hh)
    size = weight_hh.shape[1]
    activations = [torch.sigmoid, torch.sigmoid, torch.tanh, F.sigmoid]
    return tuple(
        act(pre[..., k * size:(k + 1) * size]) for k, act in enumerate(activations)
    )""",
    "lstm-cell": '''import random
import sys
import warnings


class Step:
    """One LSTM step, a small class of my own."""

    def __init__(self, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
        self._weights = (weight_ih, weight_hh)
        self._bias = None if bias_ih is None else bias_ih + bias_hh

    def __call__(self, x, h, c):
        pre = F.linear(x, self._weights[0]) + F.linear(h, self._weights[1])
        if self._bias is not None:
            pre = pre + self._bias
        i, f, g, o = pre.chunk(4, dim=-1)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_next), c_next


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    if random.random() < 0:
        print("never")
    print(f"lstm_cell: x {tuple(x.shape)}", file=sys.stderr)
    warnings.warn("lstm_cell: a warning of my own")
    h, c = state
    return Step(weight_ih, weight_hh, bias_ih, bias_hh)(x, h, c)''',
    "num-parameters": """import math


def num_parameters(input_size, hidden_size, num_chunks=4, bias=True):
    rows = num_chunks * hidden_size
    shapes = [(rows, input_size), (rows, hidden_size)]
    if bias:
        shapes += [(rows,)] * 2
    return sum(math.prod(shape) for shape in shapes)""",
    "gru-cell": '''class Parts:
    """The six pre-activations, by name."""


def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    size, parts = weight_hh.shape[1], Parts()
    for k, name in enumerate(["r", "z", "n"]):
        rows = slice(k * size, (k + 1) * size)
        x_part = x @ weight_ih[rows].T
        h_part = h @ weight_hh[rows].T
        if bias_ih is not None:
            x_part, h_part = x_part + bias_ih[rows], h_part + bias_hh[rows]
        setattr(parts, f"x_{name}", x_part)
        setattr(parts, f"h_{name}", h_part)
    r = torch.sigmoid(parts.x_r + parts.h_r)
    z = torch.sigmoid(getattr(parts, "x_z") + getattr(parts, f"h_{'z'}"))
    n = torch.tanh(parts.x_n + r * parts.h_n)
    return torch.lerp(n, h, z)''',
}


def rewritten(nb, ctx=None):
    nb = nbformat.from_dict(nb)
    for exercise, source in REWRITES.items():
        harness.answer_cell(nb, exercise).source = source
    # `reset -f` alone on a line would be IPython's %reset (automagic) and wipe
    # lstm_gates before its tests; the grading kernel runs it as Python (an error)
    at = nb.cells.index(harness.answer_cell(nb, "lstm-gates")) + 1
    nb.cells.insert(at, new_code_cell("reset -f"))
    return nb


def memory_hog(nb):
    nb = nbformat.from_dict(nb)
    cell = harness.answer_cell(nb, "gru-cell")
    cell.source = f"{call(payloads.hog_memory, 6)}\n{cell.source}"
    return nb


@pytest.fixture(scope="module")
def graded() -> dict:
    """Every evasion, the rewrites and a memory hog of 02, graded together."""
    scope = batches.scratch("lstm-course-rule-")
    folder, workdir = scope / "submissions", scope / "course"
    students = {
        name: answering("lstm-cell", source) for name, source, *_ in EVASIONS + UNSEEN
    }
    students["rewrites"] = rewritten(filled(CELL))
    students["memory-hog"] = memory_hog(filled(CELL))
    for student, nb in students.items():
        harness.write(nb, folder, student, CELL)
    with classroom.confined(scope):
        outcomes, csv_path = grade(
            folder, jobs=batches.JOBS, workdir=workdir, timeout=60, progress=False
        )
    return {
        "outcomes": {o.student: o for o in outcomes},
        "csv": csv_path,
        "autograded": {
            o.student: workdir / "autograded" / o.student / CELL / f"{CELL}.ipynb"
            for o in outcomes
        },
    }


def lines(path: Path) -> dict[str, str]:
    return {
        notebooks.nbgrader_meta(c)["grade_id"]: feedback.cell_feedback(c)
        for c in notebooks.read(path).cells
        if notebooks.nbgrader_meta(c).get("grade")
    }


@pytest.mark.parametrize(
    "name, source, construct, reason", EVASIONS, ids=[e[0] for e in EVASIONS]
)
def test_each_evasion_earns_exactly_the_points_of_its_unwatched_exercises(
    graded, name, source, construct, reason
):
    outcome = graded["outcomes"][name]
    owner = notebooks.exercises(master(CELL))
    got = {g.grade_id: g.score for g in outcome.grades}
    expected = {
        g.grade_id: 0.0 if owner[g.grade_id] in CALLED else g.max_score
        for g in outcome.grades
    }
    assert got == expected and not outcome.problem, (got, outcome.problem)
    said = lines(graded["autograded"][name])
    for cell, score in expected.items():
        if score == 0:
            assert REFUSED in said[cell] and f"`{construct}`" in said[cell], said
            assert reason in said[cell]


@pytest.mark.parametrize("name, source, forbidden", UNSEEN, ids=[e[0] for e in UNSEEN])
def test_a_call_of_the_operator_made_by_c_code_costs_its_exercise(
    graded, name, source, forbidden
):
    """Not refused (map and functools.partial are ordinary), but seen: the fused
    operators are Python stand-ins in the grading kernel (agent.arm)."""
    assert refused(answering("lstm-cell", source)) == []
    outcome = graded["outcomes"][name]
    owner = notebooks.exercises(master(CELL))
    got = {g.grade_id: g.score for g in outcome.grades}
    expected = {
        g.grade_id: 0.0 if owner[g.grade_id] == "lstm-cell" else g.max_score
        for g in outcome.grades
    }
    assert got == expected, got
    said = lines(graded["autograded"][name])
    for cell, score in expected.items():
        if score == 0:
            assert f"your code uses {forbidden}" in said[cell], said[cell]
    assert outcome.incidents[0].kind == "refused"
    assert outcome.incidents[0].reason == f"calls {forbidden}"


def test_answers_rewritten_in_ordinary_ways_earn_everything(graded):
    outcome = graded["outcomes"]["rewrites"]
    said = lines(graded["autograded"]["rewrites"])
    assert outcome.score == outcome.max_score > 0, said
    assert outcome.incidents == []


def test_the_instructor_is_told_of_every_bound_refusal_and_tampering(graded):
    outcomes = graded["outcomes"]
    for name, source, construct, reason in EVASIONS:
        (refusal, *_) = screen.refusals(answering("lstm-cell", source), master(CELL))
        (first, *_) = outcomes[name].incidents
        assert first == incidents.Incident(
            f"lstm-cell, line {refusal.line}",
            "tampered" if reason == hatches.GRADER else "refused",
            f"`{construct}`: {reason}",
        )
    hog = outcomes["memory-hog"].incidents
    assert incidents.Incident("gru-cell", "bound", "MEMORY_LIMIT") in hog, hog
    listed = incidents.listing(list(outcomes.values()))
    for student in [*(e[0] for e in EVASIONS + UNSEEN), "memory-hog"]:
        assert student in listed
    assert "rewrites" not in listed


def test_the_grades_csv_keeps_nbgraders_columns_and_adds_the_incidents(graded):
    with open(graded["csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        f.seek(0)
        header = next(csv.reader(f))
    assert header == [
        "assignment", "duedate", "timestamp", "student_id", "last_name",
        "first_name", "email", "raw_score", "late_submission_penalty", "score",
        "max_score", incidents.COLUMN,
    ]  # fmt: skip
    by_student = {row["student_id"]: row for row in rows}
    outcomes = graded["outcomes"]
    for student, outcome in outcomes.items():
        row = by_student[student]
        assert float(row["raw_score"]) == outcome.score
        assert row[incidents.COLUMN] == incidents.summary(outcome.incidents)
    assert (
        "refused in lstm-cell, line 1: `import threading`"
        in (by_student["thread-worker"][incidents.COLUMN])
    )
    assert "bound in gru-cell: MEMORY_LIMIT" in by_student["memory-hog"]["incidents"]
    assert by_student["rewrites"][incidents.COLUMN] == ""
