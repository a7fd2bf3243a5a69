"""Grading every attack once, the way each is meant to be graded.

- `grade`: one class, attackers and honest students together, in one
  `grade --jobs 2` run; the honest students once more in a class of their own
  (their grades "alone", the baseline of every attack);
- `check`: the check attacks in one `check` call;
- plain `nbgrader autograde` in a copy of the repository.

Everything runs inside one scratch folder (the attacks' `scope`), with jupyter's
runtime dir and the temporary folder moved inside it, so that an attack that does
get through can damage nothing outside. Memoised: the tests only read.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import signal
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from adversarial.attacks import (
    ATTACKS,
    BLANK,
    CELL,
    FILLED,
    SLIGHTLY_WRONG,
    WRONG,
    Attack,
    Context,
)
from grading import batches, harness
from nbformat import NotebookNode
from nbgrader.api import Gradebook

from autograder import notebooks
from autograder.grading import course, feedback
from autograder.grading.check import check
from autograder.grading.grade import grade

TIMEOUT = 30  # seconds per cell: the endless loop costs it once
HONEST = {f"honest-{kind}": kind for kind in (FILLED, WRONG, BLANK)}


def answers(assignment: str, kind: str) -> NotebookNode:
    """The release with honest answers: the master's, slightly wrong ones, or none."""
    release = notebooks.read(course.RELEASE / assignment / f"{assignment}.ipynb")
    if kind == BLANK:
        return release
    master = notebooks.read(course.MASTERS / assignment / f"{assignment}.ipynb")
    filled = harness.fill(release, master)
    return harness.apply_all(filled, SLIGHTLY_WRONG) if kind == WRONG else filled


def submission(attack: Attack, ctx: Context) -> NotebookNode:
    return attack.build(answers(attack.assignment, attack.answers), ctx)


@dataclass
class Graded:
    """One student's result: per graded cell, score and the feedback line."""

    scores: dict[str, float]
    max_scores: dict[str, float]
    lines: dict[str, str] = field(default_factory=dict)
    autograded: Path | None = None


def from_cells(cells: list, autograded: Path) -> Graded:
    lines = {}
    if autograded.is_file():
        for cell in notebooks.read(autograded).cells:
            grade_id = notebooks.nbgrader_meta(cell).get("grade_id")
            lines.setdefault(grade_id, feedback.cell_feedback(cell))
    return Graded(
        {c.grade_id: c.score for c in cells},
        {c.grade_id: c.max_score for c in cells},
        lines,
        autograded,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gradebook_rows(db_url: str, students: list[str]) -> dict[tuple, tuple]:
    """(student, assignment, cell) -> (auto_score, manual_score) of those students."""
    rows = {}
    with Gradebook(db_url, course.COURSE_ID) as gb:
        for student in students:
            for sub in gb.find_student(student).submissions:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        key = (student, sub.name, g.name)
                        rows[key] = (g.auto_score, g.manual_score)
    return rows


@contextlib.contextmanager
def confined(scope: Path) -> Iterator[None]:
    """Kernels' connection files and every temporary folder inside `scope`."""
    saved = {k: os.environ.get(k) for k in ("JUPYTER_RUNTIME_DIR", "TMPDIR")}
    for key, name in (("JUPYTER_RUNTIME_DIR", "runtime"), ("TMPDIR", "tmp")):
        (scope / name).mkdir(exist_ok=True)
        os.environ[key] = str(scope / name)
    tempfile.tempdir = None
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        tempfile.tempdir = None


def survivors(marker: str) -> list[str]:
    """Processes whose command line holds `marker`; each is killed (they are this
    run's own) and reported."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if proc.name.isdigit() and marker in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()}")
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGKILL)
    return found


@dataclass
class Class:
    """A class graded by `grade`: its students' results and what is checked around
    them (files, gradebook rows, processes left behind)."""

    scope: Path
    graded: dict[str, Graded]
    rows: dict[tuple, tuple]  # the honest students' gradebook rows
    digests_before: dict[str, str]
    digests_after: dict[str, str]
    survivors: list[str]


def grade_class(
    name: str, attacks: list[Attack], honest: dict[str, str], marker: str
) -> Class:
    scope = batches.scratch(f"lstm-course-{name}-")
    folder, workdir = scope / "submissions", scope / "course"
    ctx = Context(str(scope), marker)
    for attack in attacks:
        nb = submission(attack, ctx)
        harness.write(nb, folder, attack.student, attack.assignment)
    paths = {
        student: harness.write(answers(CELL, kind), folder, student, CELL)
        for student, kind in honest.items()
    }
    before = {student: digest(path) for student, path in paths.items()}
    with confined(scope):
        outcomes, _ = grade(
            folder, jobs=batches.JOBS, workdir=workdir, timeout=TIMEOUT, progress=False
        )
    left = survivors(marker)
    graded = {
        o.student: from_cells(
            o.grades,
            workdir / "autograded" / o.student / o.assignment / f"{o.assignment}.ipynb",
        )
        for o in outcomes
    }
    db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    return Class(
        scope,
        graded,
        gradebook_rows(db_url, list(honest)),
        before,
        {student: digest(path) for student, path in paths.items()},
        left,
    )


def check_attacks(attacks: list[Attack], marker: str) -> dict[str, Graded]:
    scope = batches.scratch("lstm-course-check-")
    ctx = Context(str(scope), marker)
    paths = [
        harness.write(submission(a, ctx), scope, a.student, a.assignment)
        for a in attacks
    ]
    with confined(scope):
        reports = check(paths, timeout=TIMEOUT)
    return {
        a.student: Graded(
            {c.grade_id: c.score for c in r.cells},
            {c.grade_id: c.max_score for c in r.cells},
            {c.grade_id: c.feedback for c in r.cells},
        )
        for a, r in zip(attacks, reports, strict=True)
    }


@dataclass
class Plain:
    """Plain `nbgrader autograde` in a copy of the repository."""

    graded: dict[str, Graded]
    digest_before: str
    digest_after: str


def plain_nbgrader(attacks: list[Attack]) -> Plain:
    from test_readme import bash, copy_repository

    scope = batches.scratch("lstm-course-plain-")
    repo = copy_repository(scope / "course")
    ctx = Context(str(repo), "")
    submitted = repo / ".course" / "submitted"
    for attack in attacks:
        harness.write(submission(attack, ctx), submitted, attack.student, CELL)
    honest = harness.write(
        answers(CELL, WRONG), submitted, "honest-slightly-wrong", CELL
    )
    before = digest(honest)
    bash(f"nbgrader generate_assignment {CELL} --force", repo)
    bash(f"nbgrader autograde {CELL}", repo)
    reader = course.TempCourse(
        repo / "solutions",
        root=scope / "reader",
        db_url=f"sqlite:///{repo / '.course' / 'gradebook.db'}",
    )
    graded = {
        student: from_cells(
            reader.grades(student, CELL),
            repo / ".course" / "autograded" / student / CELL / f"{CELL}.ipynb",
        )
        for student in [a.student for a in attacks] + ["honest-slightly-wrong"]
    }
    return Plain(graded, before, digest(honest))


@dataclass
class Results:
    classes: list[Class]  # one, or (to prove attacks unsealed) several
    alone: Class
    checked: dict[str, Graded]
    plain: Plain

    def result(self, attack: Attack) -> Graded:
        if attack.via == "check":
            return self.checked[attack.student]
        if attack.via == "nbgrader":
            return self.plain.graded[attack.student]
        return next(c for c in self.classes if attack.student in c.graded).graded[
            attack.student
        ]

    def baseline(self, attack: Attack) -> dict[str, float]:
        """The same answers graded without the attack: the honest student graded
        alone (02), or, for the other notebooks' filled answers, full marks (what
        tests/test_grading.py proves the master's answers earn)."""
        if attack.assignment == CELL:
            return self.alone.graded[f"honest-{attack.answers}"].scores
        assert attack.answers == FILLED
        return dict(self.result(attack).max_scores)

    def mismatches(self, attack: Attack) -> list[str]:
        """How the attack's outcome differs from its expected one (none: stopped)."""
        got = self.result(attack)
        exercise = owner(attack.assignment)
        expected = {
            cell: 0.0 if exercise[cell] in attack.zeroed else score
            for cell, score in self.baseline(attack).items()
        }
        found = [
            f"{cell}: {got.scores.get(cell)} instead of {score} "
            f"({got.lines.get(cell, '')[:160]})"
            for cell, score in expected.items()
            if got.scores.get(cell) != score
        ]
        if set(got.scores) != set(expected):
            found.append(f"graded cells {sorted(got.scores)}, not {sorted(expected)}")
        for zeroed in attack.zeroed:
            lines = [got.lines.get(c, "") for c, e in exercise.items() if e == zeroed]
            if not any(attack.feedback in line for line in lines):
                found.append(f"{zeroed}: no line says {attack.feedback!r}: {lines}")
        return found


# Attacks that reach classmates when they get through: graded in a class of their
# own when proving attacks unsealed, so that they spoil no other attack's proof.
SPREADERS = ("overwrite-notebooks", "hijack-kernels")


@functools.cache
def results(isolate_spreaders: bool = False) -> Results:
    marker = f"lstm-adversarial-{uuid.uuid4().hex[:12]}"
    ways = {
        w: [a for a in ATTACKS if a.via == w] for w in ("grade", "check", "nbgrader")
    }
    groups = [ways["grade"]]
    if isolate_spreaders:
        groups = [
            [a for a in ways["grade"] if (a.name in SPREADERS) == spreads]
            for spreads in (False, True)
        ]
    return Results(
        [grade_class(f"class{i}", g, HONEST, marker) for i, g in enumerate(groups)],
        grade_class("alone", [], HONEST, marker),
        check_attacks(ways["check"], marker),
        plain_nbgrader(ways["nbgrader"]),
    )


def owner(assignment: str) -> dict[str, str]:
    """grade_id -> the exercise it grades."""
    master = notebooks.read(course.MASTERS / assignment / f"{assignment}.ipynb")
    return notebooks.exercises(master)


# ---- what a class with attackers must leave as it is ----------------------------


def honest_grades_changed(results: Results) -> list[str]:
    """Honest students earn what they earn graded alone (in grade and nbgrader)."""
    alone = results.alone.graded
    found = [
        f"{student}: {klass.graded[student].scores} alone {alone[student].scores}"
        for klass in results.classes
        for student in HONEST
        if klass.graded[student].scores != alone[student].scores
    ]
    plain = results.plain.graded["honest-slightly-wrong"].scores
    if plain != alone[f"honest-{WRONG}"].scores:
        found.append(f"plain nbgrader: {plain}")
    return found


def honest_files_changed(results: Results) -> list[str]:
    found = [
        f"{student}'s submission was modified"
        for klass in results.classes
        for student, before in klass.digests_before.items()
        if klass.digests_after[student] != before
    ]
    if results.plain.digest_after != results.plain.digest_before:
        found.append("plain nbgrader: the honest submission was modified")
    return found


def honest_rows_changed(results: Results) -> list[str]:
    """The honest students' gradebook rows, as in a gradebook no attacker reached."""
    return [
        f"{key}: {row} instead of {results.alone.rows.get(key)}"
        for klass in results.classes
        for key, row in klass.rows.items()
        if row != results.alone.rows.get(key)
    ]


def processes_left(results: Results) -> list[str]:
    return [p for klass in results.classes for p in klass.survivors]


def autograded(results: Results, name: str) -> Path | None:
    """The attack's autograded notebook, None when grading left none."""
    path = results.result(next(a for a in ATTACKS if a.name == name)).autograded
    return path if path is not None and path.is_file() else None


def memory_limit_unnamed(results: Results) -> list[str]:
    """The 6 GiB allocation fails in its own cell, with a message naming the limit."""
    path = autograded(results, "memory-hog")
    if path is None:
        return ["no autograded notebook"]
    cell = harness.answer_cell(notebooks.read(path), "gru-cell")
    errors = [o.evalue for o in cell.outputs if o.output_type == "error"]
    return [] if any("memory limit" in e for e in errors) else [f"errors: {errors}"]


def output_unbounded(results: Results) -> list[str]:
    """300 MB of print leave a notebook of a few MB at most."""
    path = autograded(results, "output-flood")
    if path is None:
        return ["no autograded notebook: grading did not survive the flood"]
    size = path.stat().st_size / 2**20
    return [] if size < 10 else [f"the autograded notebook holds {size:.0f} MB"]


CLASS_CHECKS = {
    "honest-grades-as-alone": honest_grades_changed,
    "honest-files-untouched": honest_files_changed,
    "honest-gradebook-rows-untouched": honest_rows_changed,
    "no-process-outlives-grading": processes_left,
    "memory-limit-named": memory_limit_unnamed,
    "output-bounded": output_unbounded,
}
