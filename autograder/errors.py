"""The one exception the CLI expects: bad input or a step that cannot go on."""


class CourseError(Exception):
    """An expected failure, reported to the user as one line (no traceback)."""
