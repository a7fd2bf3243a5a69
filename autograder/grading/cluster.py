"""Grading on the workers of a Dask distributed cluster (`grade --cluster ADDRESS`).

Each submission is one Dask task. The worker grades it exactly as a local job
does (`worker.start_worker`, then `worker.grade_one`, in a private course of its
own, one submission at a time per worker process) and sends back the outcome
with the graded notebook and the feedback page, since it may be another machine.
The main process alone writes to the gradebook, once per submission: a worker
that dies loses only the tasks it held, which the scheduler runs again on
another worker, and each task's result reaches the main process exactly once.

Workers import this module, and find the masters at the same place in their own
copy of the course: install the course at the same commit on every machine
(checked: a worker whose masters or autograder differ refuses to grade).
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.errors import CourseError
from autograder.grading import course, worker

CONNECT_TIMEOUT = 10  # seconds to reach the scheduler, then to see a worker
STEPS = ("autograded", "feedback")  # what a worker sends back, beside the scores


@dataclass(frozen=True)
class Job:
    """What every task of one grading run shares."""

    run: str  # one private course per run on each worker process
    masters: str  # relative to the course's root when inside it
    fingerprint: str  # of the masters and the autograder: the same commit
    timeout: int
    sealed: bool  # grading kernels in bubblewrap, as `grade_one` does locally


async def _probe(address: str) -> None:
    from distributed.comm import connect

    comm = await connect(address, timeout=CONNECT_TIMEOUT)
    await comm.close()


def connect(address: str):
    """A client of the scheduler at `address`, with at least one worker."""
    from distributed import Client

    try:  # first on its own: a Client that failed to connect lingers, then hangs
        asyncio.run(_probe(address))
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CourseError(
            f"cluster {address}: cannot reach the Dask scheduler ({reason}); start "
            "one (`dask scheduler`) and give its address, e.g. tcp://host:8786"
        ) from None
    client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        client.close()
        raise CourseError(
            f"cluster {address}: the scheduler has no workers; start "
            f"`dask worker {address} --nthreads 1` on each grading machine"
        ) from None
    return client


@functools.cache
def fingerprint(masters: Path) -> str:
    """A digest of the masters and the autograder package (what grading reads)."""
    return course.digest(masters, course.PACKAGE)


def job(masters: Path, timeout: int, sealed: bool = True) -> Job:
    masters = Path(masters).resolve()
    inside = masters.is_relative_to(course.ROOT)
    where = masters.relative_to(course.ROOT) if inside else masters
    return Job(uuid.uuid4().hex, str(where), fingerprint(masters), timeout, sealed)


# ---- on a worker ------------------------------------------------------------------

_lock = threading.Lock()  # a worker process grades one submission at a time
_run = ""  # the grading run whose private course `worker._worker` is


def _course(job: Job) -> None:
    """Make `worker._worker` this run's private course (the last run's is removed)."""
    global _run
    if _run == job.run:
        return
    masters = course.ROOT / job.masters  # an absolute path stays as it is
    if not masters.is_dir() or fingerprint(masters) != job.fingerprint:
        raise CourseError(
            f"Dask worker on {os.uname().nodename}: its course ({masters}) differs "
            "from the one being graded; install the same commit on every machine "
            "and restart the workers"
        )
    if worker._worker is not None:
        shutil.rmtree(worker._worker.root.parent, ignore_errors=True)
    base = Path(tempfile.mkdtemp(prefix="lstm-course-dask-"))
    worker.start_worker(masters, job.timeout, base, sealed=job.sealed)
    _run = job.run


def grade_task(
    job: Job, item: worker.Submission, notebook: bytes | None
) -> tuple[worker.Outcome, dict[str, bytes]]:
    """Grade one submission on this worker: its outcome and its graded files."""
    with _lock:
        _course(job)
        if notebook is not None:
            inbox = worker._worker.root / "inbox" / item.student / item.assignment
            inbox.mkdir(parents=True, exist_ok=True)
            item = replace(item, notebook=inbox / item.notebook.name)
            item.notebook.write_bytes(notebook)
        outcome = worker.grade_one(item)
        return outcome, graded_files(outcome)


def graded_files(outcome: worker.Outcome) -> dict[str, bytes]:
    if not outcome.graded_in:
        return {}
    root = Path(outcome.graded_in)
    return {
        str(path.relative_to(root)): path.read_bytes()
        for step in STEPS
        for path in (root / step / outcome.student / outcome.assignment).rglob("*")
        if path.is_file()
    }


# ---- in the main process -----------------------------------------------------------


def run_all(client, job: Job, items: list, base: Path, bar) -> list[worker.Outcome]:
    """Grade `items` on the cluster; the outcomes in the order of `items`, each
    with `graded_in` pointing at its files, unpacked under `base`."""
    from distributed import KilledWorker, as_completed

    futures = {
        client.submit(
            grade_task,
            job,
            item,
            item.notebook.read_bytes() if item.notebook else None,
            key=f"grade-{item.student}-{item.assignment}-{job.run}",
            pure=False,
        ): i
        for i, item in enumerate(items)
    }
    done: dict[int, worker.Outcome] = {}
    for future in as_completed(futures, loop=client.loop):
        i = futures[future]
        try:
            outcome, files = future.result()
        except KilledWorker:  # every worker that tried it died: it kills them
            item = items[i]
            outcome, files = worker.Outcome(item.student, item.assignment), {}
            outcome.problem = (
                "not graded: every Dask worker that graded it died; "
                "see why with `lstm-course check` on it alone"
            )
        outcome.graded_in = str(unpack(files, base / f"returned-{i}")) if files else ""
        done[i] = outcome
        bar.update()
    return [done[i] for i in range(len(items))]


def unpack(files: dict[str, bytes], into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    for name, data in files.items():
        path = into / name
        if into.resolve() not in path.resolve().parents:
            raise CourseError(f"a worker sent an unsafe path: {name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return into
