"""One grading worker: a private course in this process, grading one submission
at a time.

A worker is a process of `grade`'s local pool, or of a Dask worker
(`autograder.grading.cluster`); both call `start_worker` once, then `grade_one` for
each submission they are handed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading import course, incidents


@dataclass
class Submission:
    student: str
    assignment: str
    notebook: Path | None  # None when the folder holds no notebook
    problem: str = ""


@dataclass
class Outcome:
    student: str
    assignment: str
    problem: str = ""
    grades: list[course.GradedCell] = field(default_factory=list)
    graded_in: str = ""  # the worker course's root, holding autograded/ and feedback/
    incidents: list[incidents.Incident] = field(default_factory=list)  # to look at

    @property
    def score(self) -> float:
        return sum(g.score for g in self.grades)

    @property
    def max_score(self) -> float:
        return sum(g.max_score for g in self.grades)


_worker: course.TempCourse | None = None


def start_worker(
    masters: Path, timeout: int, base: Path, jobs: int = 1, sealed: bool = True
) -> None:
    global _worker
    # Kernels share the cores: one torch thread pool per job, not one per core each
    # (oversubscribed OpenMP threads spin and slow every kernel down).
    threads = max(1, (os.cpu_count() or 1) // jobs)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    root = base / f"worker-{os.getpid()}"
    _worker = course.TempCourse(masters, timeout, root=root, sealed=sealed)


def grade_one(item: Submission) -> Outcome:
    """Autograde one submission in this process's private course (+ its feedback)."""
    assert _worker is not None, "start_worker first"
    outcome = Outcome(item.student, item.assignment, item.problem)
    if item.notebook is not None:
        _worker.submit(item.student, item.assignment, item.notebook)
        failed = _worker.autograde(item.student, item.assignment)
        if not failed and _worker.autograded(item.student, item.assignment).is_file():
            failed = _worker.feedback(item.student, item.assignment)
        outcome.problem = "; ".join(p for p in (item.problem, failed) if p)
        outcome.grades = _worker.grades(item.student, item.assignment)
        graded = _worker.autograded(item.student, item.assignment)
        outcome.incidents = incidents.of_file(graded)
        outcome.graded_in = str(_worker.root)
    return outcome
