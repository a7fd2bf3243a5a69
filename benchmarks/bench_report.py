"""The report's speed, measured (not asserted): run `python benchmarks/bench_report.py`.

`lstm-course report` of a class of STUDENTS (default 200) x every assignment (7)
from an existing gradebook (target: <= 15 s on 2 cores). The class is built, not
graded: a few submissions of each assignment are graded once (the master's
answers, the release, the first round of catalogued mistakes, as the Korean
batch of the tests does), then each student takes one of them per assignment,
copied as in tests/report_class.py. `--graded DIR` takes them from a course
folder graded already (its autograded/ and gradebook.db) instead.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from grading import batches  # noqa: E402
from report_class import Source, copy_assignments, enrol, gradebook_of  # noqa: E402

from autograder.grading import course  # noqa: E402

TARGET = 15.0  # seconds


def graded(folder: Path | None) -> Path:
    """A graded course folder: `folder`, else a few submissions graded now."""
    if folder is not None:
        return folder.resolve()
    batch = batches.run(
        course.MASTERS,
        course.assignments(),
        batches.CATALOGS,
        timeout=120,
        packed=True,
        rounds=1,
    )
    return batch.workdir


def sources(folder: Path) -> dict[str, list[Source]]:
    """Each assignment's graded submissions."""
    found: dict[str, list[Source]] = {}
    for work in sorted((folder / "autograded").glob("*/*")):
        found.setdefault(work.name, []).append(
            Source(folder, work.parent.name, work.name)
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--graded", type=Path, help="a graded course folder")
    parser.add_argument(
        "--keep", type=Path, help="build the class in this folder and keep it"
    )
    args = parser.parse_args()

    folder = graded(args.graded)
    taken = sources(folder)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        workdir = args.keep or Path(scratch) / "course"
        url = f"sqlite:///{workdir / 'gradebook.db'}"
        workdir.mkdir(parents=True)
        copy_assignments(gradebook_of(folder), url, sorted(taken))
        plan = {
            f"student-{n:03d}": {
                assignment: options[(n + i) % len(options)]
                for i, (assignment, options) in enumerate(sorted(taken.items()))
            }
            for n in range(args.students)
        }
        start = time.perf_counter()
        enrol(url, workdir, plan)
        built = time.perf_counter() - start

        command = [
            sys.executable,
            "-m",
            "autograder",
            "report",
            "--workdir",
            str(workdir),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(
            getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime")
        )
        if done.returncode != 0:
            raise SystemExit(f"report failed:\n{done.stderr[-2000:]}")
    submissions = sum(len(p) for p in plan.values())
    print(
        f"class: {args.students} students x {len(taken)} assignments = "
        f"{submissions} graded notebooks (built in {built:.0f} s)"
    )
    print(
        f"lstm-course report: {elapsed:.1f} s (target <= {TARGET:g} s on 2 cores; "
        f"{cpu:.1f} s of CPU; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
