"""The course's settings: plain values, read by every part of the course.

A leaf: it imports nothing of the course. `autograder.grading.options` turns them
into nbgrader's configuration.
"""

from __future__ import annotations

DEFAULT_TIMEOUT = 60  # seconds per cell: stops an infinite loop, not a slow answer
GiB = 1 << 30
# Limits of a sealed grading kernel (autograder/sealed/):
MEMORY_LIMIT = 4 * GiB  # address space per kernel process; beyond, MemoryError
FILE_LIMIT = 100 << 20  # bytes: largest file it may write; size of its /tmp
OUTPUT_LIMIT = 1_000_000  # bytes of output kept per cell; the rest is cut

UNSEALED_ENV = "LSTM_COURSE_UNSEALED"  # =1: plain `nbgrader autograde` unsealed

# A warning on stderr must not cost a correct answer its points (nbgrader #1904).
WARNING_PATTERN = r"\b\w*Warning\b"
