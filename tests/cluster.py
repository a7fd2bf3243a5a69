"""A real Dask cluster on loopback for the tests, and the class it grades.

The scheduler and each worker are `dask` command-line processes, as an
instructor starts them (one thread per worker process), each in its own session
so a test can kill one worker, with its nanny and its kernels, mid-class.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from distributed import Client
from grading import batches, harness
from grading.batches import FIXTURE, OTHER
from nbgrader.api import Gradebook
from postgres import free_port

from autograder.grading import course

MISTAKES = harness.catalog(batches.FIXTURE_CATALOGS / f"{FIXTURE}.toml", FIXTURE)
# 12 submissions of the fixture course: correct ones, every catalogued mistake,
# a notebook that is not JSON and one whose kernel dies.
CLASS = [
    *((s, a) for a in (FIXTURE, OTHER) for s in ("master", "release", "filled")),
    *((m.student, FIXTURE) for m in MISTAKES),
    ("corrupt-json", FIXTURE),
    ("kernel-dies", FIXTURE),
    ("warns", FIXTURE),
]


def copy_class(batch: batches.Batch, folder: Path, members=CLASS) -> Path:
    """The class's submissions, copied from the locally graded fixture batch."""
    for student, assignment in members:
        source = batch.submissions / student / assignment
        shutil.copytree(source, folder / student / assignment)
    return folder


def environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` via PATH
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}


class Cluster:
    """`dask scheduler` and `workers` × `dask worker --nthreads 1`, on 127.0.0.1."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self.start(
            "scheduler", "--host", "127.0.0.1", "--port", port, name="scheduler"
        )
        self.workers = [
            self.start(
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--local-directory",
                str(folder / f"w{n}"),
                name=f"w{n}",
            )
            for n in range(workers)
        ]
        self.client = Client(self.address, timeout=60, set_as_default=False)
        self.client.wait_for_workers(workers, timeout=120)

    def start(self, role: str, *args: str, name: str) -> subprocess.Popen:
        extra = ["--name", name] if role == "worker" else []
        log = (self.folder / f"{name}.log").open("w")
        return subprocess.Popen(
            [sys.executable, "-m", "dask", role, *args, *extra, "--no-dashboard"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment(),
            cwd=self.folder,
            start_new_session=True,
        )

    def kill(self, worker: subprocess.Popen) -> None:
        """SIGKILL a worker: its nanny, the worker process and its kernels."""
        root = psutil.Process(worker.pid)
        for process in [root, *root.children(recursive=True)]:
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        worker.wait(timeout=30)

    def stop(self) -> None:
        self.client.close()
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(process)


def kernels_of(worker: subprocess.Popen) -> set[int]:
    """The kernel processes a worker runs now (one per submission it grades)."""
    try:
        children = psutil.Process(worker.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return set()
    found = set()
    for child in children:
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:
            pass
    return found


def wait_for_kernels(
    worker: subprocess.Popen, count: int, grading: subprocess.Popen
) -> None:
    """Block until `worker` has started its `count`-th kernel of this `grading`."""
    seen: set[int] = set()
    while len(seen) < count:
        if grading.poll() is not None:
            raise AssertionError(f"grading ended first; the worker ran {len(seen)}")
        seen |= kernels_of(worker)
        time.sleep(0.05)


class KernelWatch:
    """Records, in the background, which workers start kernels (who grades)."""

    def __init__(self, workers: list[subprocess.Popen]) -> None:
        self.seen = {w.pid: set() for w in workers}
        self.workers, self.running = workers, True
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self) -> None:
        while self.running:
            for worker in self.workers:
                self.seen[worker.pid] |= kernels_of(worker)
            time.sleep(0.05)

    def stop(self) -> dict[int, set[int]]:
        self.running = False
        self.thread.join()
        return self.seen


# ---- the gradebook the class ends in ----------------------------------------------


def scores_in(url: str, members) -> dict[tuple[str, str], dict[str, float]]:
    scores = {}
    with Gradebook(url, course.COURSE_ID) as gb:
        for s, a in members:
            grades = gb.find_submission_notebook(a, a, s).grades
            scores[(s, a)] = {g.name: g.score for g in grades}
    return scores


def local_scores(batch: batches.Batch, members) -> dict:
    return {
        (s, a): {g.grade_id: g.score for g in batch.outcome(s, a).grades}
        for s, a in members
    }


def csv_rows(path: Path, members=None) -> dict[tuple[str, str], dict[str, str]]:
    """A grades CSV's rows by (student, assignment): all, or those of `members`."""
    with path.open(newline="") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    return rows if members is None else {key: rows[key] for key in members}


def submissions_in(server, database: str) -> dict[tuple[str, str], int]:
    """How many times the gradebook holds each (student, assignment)."""
    rows = server.query(
        database,
        "SELECT s.student_id, a.name, count(*) FROM submitted_assignment s "
        "JOIN assignment a ON a.id = s.assignment_id GROUP BY s.student_id, a.name",
    )
    return {(student, assignment): n for student, assignment, n in rows}
