"""nbgrader configured to grade the course's way, from `autograder.settings`.

`nbgrader_config.py`, `ko/nbgrader_config.py`, the classroom's instructor config and
`course.TempCourse` all call `apply`, so a learner's notebook is graded the same
way everywhere.
"""

from __future__ import annotations

import os
import sys

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from autograder.grading.execute import ResilientExecute
from autograder.grading.feedback import HideHiddenTests
from autograder.grading.restore import RestoreCells
from autograder.settings import DEFAULT_TIMEOUT, UNSEALED_ENV, WARNING_PATTERN


def swap(cls: type, trait: str, name: str, replacement: type) -> list[type]:
    """`cls`'s default list of steps `trait`, with the step called `name` replaced."""
    steps = cls.class_traits()[trait].default()
    return [replacement if step.__name__ == name else step for step in steps]


_warned = False  # nbgrader reads its config several times; warn once


def sealed_by_env() -> bool:
    """Whether nbgrader_config.py seals grading kernels: yes, unless
    $LSTM_COURSE_UNSEALED=1 opts out (which warns on stderr)."""
    global _warned
    if os.environ.get(UNSEALED_ENV) != "1":
        return True
    if not _warned:
        print(
            f"[lstm-course] WARNING: {UNSEALED_ENV}=1: grading kernels run without "
            "the bubblewrap sandbox, with your rights",
            file=sys.stderr,
        )
        _warned = True
    return False


def apply(c: Config, timeout: int = DEFAULT_TIMEOUT, sealed: bool = True) -> Config:
    """Set the grading options on an nbgrader config and return it; `sealed`
    kernels run in bubblewrap (autograder/sealed/sandbox.py)."""
    c.ClearSolutions.code_stub = {
        "python": "# YOUR CODE HERE\nraise NotImplementedError()"
    }
    c.Execute.timeout = timeout
    c.ResilientExecute.sealed = sealed  # autograding only: Validate stays unsealed
    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = WARNING_PATTERN
    # Deleted test cells come back from the gradebook, without nbgrader's crashes.
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.sanitize_preprocessors = swap(
        Autograde, "sanitize_preprocessors", "OverwriteCells", RestoreCells
    )
    # A kernel that dies costs the cell that killed it, not the whole submission.
    c.Autograde.autograde_preprocessors = swap(
        Autograde, "autograde_preprocessors", "Execute", ResilientExecute
    )
    # Feedback never shows hidden tests' source or the helpers' tracebacks.
    c.GenerateFeedback.preprocessors = [
        GetGrades,
        HideHiddenTests,
        CSSHTMLHeaderPreprocessor,
    ]
    return c
