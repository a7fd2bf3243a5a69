"""Grading speed, measured (not asserted): run `python benchmarks/bench_grading.py`.

1. `lstm-course check` of one notebook against plain `jupyter nbconvert --execute`
   of the same notebook: a first run of each (the page cache dropped, as after a
   reboot, and empty user caches, as after `make install`; needs root, else not
   measured; target: check <= 1.5x nbconvert), then later runs (target: <= 1.2x).
2. `lstm-course grade --jobs 2` against `--jobs 1` on 20 submissions
   (target: >= 1.7x faster on 2 cores).

The notebook is a learner's complete answer (a release filled with the master's
solutions) of ASSIGNMENT (default: the first master in solutions/, else the test
fixture); the 20 submissions are that notebook and its catalogued mistakes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from grading import batches, harness  # noqa: E402

from autograder import notebooks  # noqa: E402
from autograder.grading import course  # noqa: E402


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return elapsed


def first_run(command: list[str], cwd: Path, caches: Path) -> float | None:
    """`command` as a first run: nothing of it in the page cache, and empty user
    caches (matplotlib's font list among them). None where the page cache cannot
    be dropped (not root)."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return None
    caches.mkdir(parents=True)
    env = os.environ | {
        "XDG_CACHE_HOME": str(caches),
        "MPLCONFIGDIR": str(caches / "matplotlib"),
    }
    return timed(command, cwd, env)


def learner_notebooks(masters: Path, assignment: str, folder: Path, count: int) -> Path:
    """Write `count` submissions (filled, then mistakes); return the filled one."""
    mistakes_dir = (
        batches.CATALOGS if masters == course.MASTERS else batches.FIXTURE_CATALOGS
    )
    master = notebooks.read(masters / assignment / f"{assignment}.ipynb")
    with course.TempCourse(masters) as temp:
        release = notebooks.read(temp.release(assignment))
    filled = harness.fill(release, master)
    variants = [filled] + [
        harness.apply(filled, m)
        for m in harness.catalog(mistakes_dir / f"{assignment}.toml", assignment)
    ]
    for i in range(count):
        harness.write(
            variants[i % len(variants)], folder, f"student{i:02d}", assignment
        )
    return folder / "student00" / assignment / f"{assignment}.ipynb"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default=None)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each single check"
    )
    parser.add_argument("--submissions", type=int, default=20)
    args = parser.parse_args()

    masters = course.MASTERS if course.assignments() else batches.FIXTURE_MASTERS
    assignment = args.assignment or course.assignments(masters)[0]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cli = [sys.executable, "-m", "autograder"]
    common = ["--masters", str(masters)]
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        scratch = Path(scratch)
        learner = learner_notebooks(
            masters, assignment, scratch / "class", args.submissions
        )
        # nbconvert runs the notebook where it lies, with the master's helper files
        beside = scratch / "nbconvert"
        shutil.copytree(
            masters / assignment, beside, ignore=shutil.ignore_patterns("*.ipynb")
        )
        shutil.copyfile(learner, beside / learner.name)

        check_command = [*cli, "check", str(learner), "--json", *common]
        nbconvert = ["jupyter", "nbconvert", "--to", "notebook", "--execute"]
        nbconvert += [learner.name, "--output", "executed.ipynb"]
        first = {
            "check": first_run(check_command, scratch, scratch / "cold-check"),
            "nbconvert": first_run(nbconvert, beside, scratch / "cold-nbconvert"),
        }
        check, plain = [], []
        for _ in range(args.repeat):  # alternating: a load change hits both alike
            check.append(timed(check_command, scratch))
            plain.append(timed(nbconvert, beside))
        grade = {}
        for jobs in (1, 2):
            workdir = scratch / f"course-jobs{jobs}"
            grade[jobs] = timed(
                [
                    *cli,
                    "grade",
                    str(scratch / "class"),
                    "--jobs",
                    str(jobs),
                    "--quiet",
                    "--workdir",
                    str(workdir),
                    *common,
                ],
                scratch,
            )

    c, p = statistics.median(check), statistics.median(plain)
    print(f"assignment: {assignment} ({masters})  cores: {os.cpu_count()}")
    if None in first.values():
        print("first run: not measured (dropping the page cache needs root)")
    else:
        fc, fp = first["check"], first["nbconvert"]
        print(f"first check, one notebook:    {fc:6.1f} s")
        print(f"first nbconvert --execute:    {fp:6.1f} s")
        print(f"  check / nbconvert:          {fc / fp:6.2f}x  (target <= 1.5x)")
    print(f"check, one notebook:          {c:6.1f} s  (median of {args.repeat})")
    print(f"nbconvert --execute, same:    {p:6.1f} s  (median of {args.repeat})")
    print(f"  check / nbconvert:          {c / p:6.2f}x  (target <= 1.2x)")
    print(f"grade {args.submissions} submissions, --jobs 1: {grade[1]:6.1f} s")
    print(f"grade {args.submissions} submissions, --jobs 2: {grade[2]:6.1f} s")
    print(
        f"  speed-up:                   {grade[1] / grade[2]:6.2f}x  (target >= 1.7x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
