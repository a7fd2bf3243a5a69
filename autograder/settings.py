"""Grading options shared by the repository's course and every temporary course.

`nbgrader_config.py` and `course.TempCourse` both call `apply`, so a learner's
notebook is graded the same way everywhere.
"""

from __future__ import annotations

import os
import sys

from traitlets.config import Config

DEFAULT_TIMEOUT = 60  # seconds per cell: stops an infinite loop, not a slow answer
GiB = 1 << 30
# Limits of a sealed grading kernel (autograder/sandbox.py, autograder/limits.py):
MEMORY_LIMIT = 4 * GiB  # address space per kernel process; beyond, MemoryError
FILE_LIMIT = 100 << 20  # bytes: largest file it may write; size of its /tmp
OUTPUT_LIMIT = 1_000_000  # bytes of output kept per cell; the rest is cut

UNSEALED_ENV = "LSTM_COURSE_UNSEALED"  # =1: plain `nbgrader autograde` unsealed

# A warning on stderr must not cost a correct answer its points (nbgrader #1904).
WARNING_PATTERN = r"\b\w*Warning\b"


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
    kernels run in bubblewrap (autograder/sandbox.py)."""
    # Imported here: nbgrader_config.py loads this module before nbgrader is needed.
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import GetGrades

    from autograder.execute import ResilientExecute
    from autograder.feedback import HideHiddenTests
    from autograder.restore import RestoreCells

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
