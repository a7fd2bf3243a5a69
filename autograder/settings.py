"""The course's settings: plain values, read by every part of the course.

A leaf: it imports nothing of the course. `autograder.grading.options` turns them
into nbgrader's configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TIMEOUT = 60  # seconds per cell: stops an infinite loop, not a slow answer
GiB = 1 << 30
# Limits of a sealed grading kernel: its whole sandbox (autograder/sealed/).
MEMORY_LIMIT = 4 * GiB  # all its processes together; also each one's address space
PROCESS_LIMIT = 256  # processes and threads, all together
DISK_LIMIT = 1 * GiB  # bytes it may write in all: its folder, /tmp and /dev/shm
CPU_LIMIT = 1  # cores' worth of CPU time: one per grading job
FILE_LIMIT = 100 << 20  # bytes: largest file it may write
OUTPUT_LIMIT = 1_000_000  # bytes of output kept per cell; the rest is cut

# What the course makes once and keeps, per user (a graded kernel gets a copy of
# its fonts): generated assignments, font copies.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lstm-course"

UNSEALED_ENV = "LSTM_COURSE_UNSEALED"  # =1: plain `nbgrader autograde` unsealed

# A warning on stderr must not cost a correct answer its points (nbgrader #1904).
WARNING_PATTERN = r"\b\w*Warning\b"
