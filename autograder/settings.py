"""Grading options shared by the repository's course and every temporary course.

`nbgrader_config.py` and `course.TempCourse` both call `apply`, so a learner's
notebook is graded the same way everywhere.
"""

from __future__ import annotations

from traitlets.config import Config

DEFAULT_TIMEOUT = 60  # seconds per cell: stops an infinite loop, not a slow answer

# A warning on stderr must not cost a correct answer its points (nbgrader #1904).
WARNING_PATTERN = r"\b\w*Warning\b"


def swap(cls: type, trait: str, name: str, replacement: type) -> list[type]:
    """`cls`'s default list of steps `trait`, with the step called `name` replaced."""
    steps = cls.class_traits()[trait].default()
    return [replacement if step.__name__ == name else step for step in steps]


def apply(c: Config, timeout: int = DEFAULT_TIMEOUT) -> Config:
    """Set the grading options on an nbgrader config and return it."""
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
