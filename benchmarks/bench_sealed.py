"""What sealing costs, measured (not asserted): `python benchmarks/bench_sealed.py`.

1. `lstm-course grade --jobs 2` of the same 20 submissions, sealed and `--unsealed`;
2. `lstm-course check` of one notebook, sealed and `--unsealed`.
Target: sealed within 1.3x of unsealed for both. Runs alternate (sealed, unsealed,
sealed, ...) so a load change on a shared machine hits both alike; medians are
reported.

The submissions are those of bench_grading.py: a learner's complete answer of
ASSIGNMENT (default 02_lstm_cell, a fast notebook) and its catalogued mistakes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_grading import learner_notebooks, timed

from autograder.grading import course

WAYS = {"sealed": [], "unsealed": ["--unsealed"]}


def ratio(times: dict[str, list[float]]) -> str:
    sealed, unsealed = (statistics.median(times[w]) for w in WAYS)
    runs = ", ".join(f"{w} {' '.join(f'{t:.1f}' for t in times[w])}" for w in WAYS)
    return (
        f"sealed {sealed:.1f} s, unsealed {unsealed:.1f} s: "
        f"{sealed / unsealed:.2f}x (runs: {runs})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="02_lstm_cell")
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--grade-repeat", type=int, default=2)
    parser.add_argument("--check-repeat", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cli = [sys.executable, "-m", "autograder"]
    with tempfile.TemporaryDirectory(prefix="bench-sealed-") as scratch:
        scratch = Path(scratch)
        learner = learner_notebooks(
            course.MASTERS, args.assignment, scratch / "class", args.submissions
        )
        grade: dict[str, list[float]] = {w: [] for w in WAYS}
        for run in range(args.grade_repeat):
            for way, flags in WAYS.items():
                workdir = scratch / f"course-{way}-{run}"
                command = [*cli, "grade", str(scratch / "class"), "--jobs", "2"]
                command += ["--quiet", "--workdir", str(workdir), *flags]
                grade[way].append(timed(command, scratch))
        check: dict[str, list[float]] = {w: [] for w in WAYS}
        for _ in range(args.check_repeat):
            for way, flags in WAYS.items():
                command = [*cli, "check", str(learner), "--json", *flags]
                check[way].append(timed(command, scratch))
    print(f"{args.assignment}, {args.submissions} submissions, grade --jobs 2:")
    print(f"  {ratio(grade)}")
    print(f"{args.assignment}, check of one notebook:")
    print(f"  {ratio(check)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
