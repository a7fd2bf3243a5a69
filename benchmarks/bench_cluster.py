"""Grading on Dask, measured (not asserted): run `python benchmarks/bench_cluster.py`.

1. The same submissions (default 20) graded by `lstm-course grade --jobs 2` and by
   `lstm-course grade --cluster` on a local Dask cluster of 2 workers, in one run:
   the engine's overhead as a ratio (target: cluster <= 1.1x local).
2. Time per submission with 1 and 2 workers: how grading scales with workers.

The submissions are a learner's complete answer and its catalogued mistakes of
ASSIGNMENT (default: the first master in solutions/), as in bench_grading.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench_grading import learner_notebooks, timed  # noqa: E402
from cluster import Cluster  # noqa: E402
from grading import batches  # noqa: E402

from autograder import course  # noqa: E402


def on_cluster(workers: int, scratch: Path, command: list[str]) -> float:
    """Seconds `command --cluster ADDRESS` takes on a fresh cluster of `workers`."""
    folder = scratch / f"dask-{workers}"
    folder.mkdir()
    running = Cluster(folder, workers)
    try:
        return timed([*command, "--cluster", running.address], scratch)
    finally:
        running.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default=None)
    parser.add_argument("--submissions", type=int, default=20)
    args = parser.parse_args()

    masters = course.MASTERS if course.assignments() else batches.FIXTURE_MASTERS
    assignment = args.assignment or course.assignments(masters)[0]
    n = args.submissions
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        scratch = Path(scratch)
        learner_notebooks(masters, assignment, scratch / "class", n)

        def grade(name: str) -> list[str]:
            workdir = scratch / f"course-{name}"
            return [
                sys.executable,
                "-m",
                "autograder",
                "grade",
                str(scratch / "class"),
                "--quiet",
                "--workdir",
                str(workdir),
                "--masters",
                str(masters),
            ]

        print(f"assignment: {assignment}  submissions: {n}  cores: {os.cpu_count()}")
        local = timed([*grade("local"), "--jobs", "2"], scratch)
        report("grade --jobs 2 (local):         ", local, n)
        two = on_cluster(2, scratch, grade("dask2"))
        report("grade --cluster, 2 Dask workers:", two, n)
        print(
            f"  cluster / local:                {two / local:6.2f}x  (target <= 1.1x)"
        )
        one = on_cluster(1, scratch, grade("dask1"))
        report("grade --cluster, 1 Dask worker: ", one, n)
        print(f"  speed-up 1 -> 2 workers:        {one / two:6.2f}x  (ideal 2x)")
    return 0


def report(what: str, seconds: float, n: int) -> None:
    """One figure as soon as it is measured, with the machine's load beside it."""
    load = os.getloadavg()[0]
    print(
        f"{what}  {seconds:6.1f} s  {seconds / n:5.2f} s/submission  (load {load:.1f})",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
