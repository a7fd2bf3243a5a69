"""The synthetic class of tests/test_report.py: who submitted what, and so what the
report must count.

Fourteen students, all seven assignments, both editions. Each takes, for each
assignment, a submission graded by real nbgrader in the shared batches
(tests/grading/batches.py): the master's answers ("filled"), the release, or a
round of catalogued mistakes (one mistake in every exercise). Two more notebooks
of 02_lstm_cell are graded for this class alone (`extra_batch`): "jon" answers
lstm_cell with torch's own cell (refused) and leaves gru_cell as released; he and
"kim" answer lstm_gates with the same code, written differently, that is not the
master's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from grading import batches, harness
from grading.harness import Mistake
from report_class import Source

from autograder import notebooks
from autograder.grading import course
from autograder.grading.feedback import is_hidden_test
from autograder.grading.grade import grade

ASSIGNMENTS = course.assignments()
EXTRA = "02_lstm_cell"
ENGLISH = [
    f"learner-{n}" for n in ("ada", "ben", "cho", "dev", "eun", "fay", "gus", "hal")
]
UNANSWERED, REFUSER, COPIER = "learner-ivy", "learner-jon", "learner-kim"
KOREAN = ["learner-minjun", "learner-seoyeon", "learner-woojin"]

JON_GATES = '''def lstm_gates(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Mine."""
    z = torch.matmul(x, weight_ih.t()) + torch.matmul(h, weight_hh.t())
    if bias_ih is not None:
        z = z + bias_ih + bias_hh
    a, b, c, d = torch.chunk(z, 4, dim=-1)
    return torch.sigmoid(a), torch.sigmoid(b), torch.tanh(c), torch.sigmoid(d)
'''
KIM_GATES = """def lstm_gates(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    # all four gates at once
    pre = torch.matmul(x,weight_ih.t())+torch.matmul(h,weight_hh.t())
    if bias_ih is not None:
        pre = pre + bias_ih + bias_hh   # both biases
    gi, gf, gg, go = torch.chunk(pre, 4, dim = -1)
    return (torch.sigmoid(gi), torch.sigmoid(gf),
            torch.tanh(gg), torch.sigmoid(go))
"""
JON_CELL = """def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    return torch.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
"""


@dataclass
class Planted:
    """One submission of the class, and what was planted in it."""

    source: Source
    round: str  # the graded submission it is: filled, release, mistakes-round-N…
    mistakes: list[Mistake] = field(default_factory=list)
    unanswered: set[str] = field(default_factory=set)  # exercises left as released
    refused: set[str] = field(default_factory=set)  # exercises calling torch's own

    @property
    def lost(self) -> set[str]:
        return {m.exercise for m in self.mistakes} | self.refused


def exercises(assignment: str) -> dict[str, list[str]]:
    """exercise -> its graded cells, from the master."""
    owner = notebooks.exercises(batches.course_batch().master(assignment))
    found: dict[str, list[str]] = {}
    for cell, exercise in owner.items():
        found.setdefault(exercise, []).append(cell)
    return found


def hidden_cells(assignment: str) -> set[str]:
    master = batches.course_batch().master(assignment)
    return {
        notebooks.nbgrader_meta(c)["grade_id"]
        for c in master.cells
        if is_hidden_test(c)
    }


def _written(folder: Path, student: str, edits: dict[str, str]) -> None:
    en = batches.course_batch()
    filled = en.submissions / "filled" / EXTRA / f"{EXTRA}.ipynb"
    nb = notebooks.read(filled)
    for exercise, source in edits.items():
        harness.answer_cell(nb, exercise).source = source
    harness.write(nb, folder, student, EXTRA)


@functools.cache
def extra_batch() -> Path:
    """The two notebooks of 02_lstm_cell graded for this class; the course folder."""
    root = batches.scratch("lstm-course-report-")
    release = batches.course_batch().submissions / "release" / EXTRA / f"{EXTRA}.ipynb"
    stub = harness.answer_cell(notebooks.read(release), "gru-cell").source
    folder = root / "submissions"
    _written(
        folder,
        REFUSER,
        {"lstm-gates": JON_GATES, "lstm-cell": JON_CELL, "gru-cell": stub},
    )
    _written(folder, COPIER, {"lstm-gates": KIM_GATES})
    grade(
        folder,
        jobs=batches.JOBS,
        workdir=root / "course",
        timeout=120,
        progress=False,
    )
    return root / "course"


def _from(batch: batches.Batch, student: str, assignment: str) -> Planted:
    planted = Planted(Source(batch.workdir, student, assignment), student)
    planted.mistakes = [
        m
        for m, s in batch.students.items()
        if s == student and m.assignment == assignment
    ]
    if student == "release":
        planted.unanswered = set(exercises(assignment))
    return planted


def plan() -> dict[str, dict[str, Planted]]:
    en, ko = batches.course_batch(), batches.korean_batch()
    rounds = ["filled", "mistakes-round-1", "mistakes-round-2", "mistakes-round-3"]
    taken: dict[str, dict[str, Planted]] = {}
    for i, student in enumerate(ENGLISH):
        taken[student] = {
            a: _from(en, rounds[(i + j) % len(rounds)], a)
            for j, a in enumerate(ASSIGNMENTS)
        }
    taken[UNANSWERED] = {a: _from(en, "release", a) for a in ASSIGNMENTS}
    extra = extra_batch()
    for student in (REFUSER, COPIER):
        taken[student] = {a: _from(en, "filled", a) for a in ASSIGNMENTS}
        taken[student][EXTRA] = Planted(Source(extra, student, EXTRA), student)
    taken[REFUSER][EXTRA].refused = {"lstm-cell"}
    taken[REFUSER][EXTRA].unanswered = {"gru-cell"}
    minjun, seoyeon, woojin = KOREAN
    taken[minjun] = {a: _from(ko, "mistakes-round-1", a) for a in ASSIGNMENTS}
    taken[seoyeon] = {
        a: _from(ko, "mistakes-round-1" if j % 2 == 0 else "filled", a)
        for j, a in enumerate(ASSIGNMENTS)
    }
    taken[woojin] = {
        a: _from(ko, "release" if j == 0 else "filled", a)
        for j, a in enumerate(ASSIGNMENTS[:-1])  # no notebook of the last one
    }
    return taken


def sources(taken: dict[str, dict[str, Planted]]) -> dict[str, dict[str, Source]]:
    return {s: {a: p.source for a, p in work.items()} for s, work in taken.items()}
