"""Batch grading of a class's submissions, in parallel and sound.

nbgrader autogrades one submission at a time and its sqlite gradebook must not be
shared between processes (nbgrader #174). So each of the N workers grades the
submissions it is handed in its own private course (own gradebook, own kernels),
generates the feedback page there, and sends back the scores. The main process
then writes every score into the one main gradebook through nbgrader's
`Gradebook` API, copies the graded notebooks and feedback pages beside it, and
exports the grades CSV from it.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin
from tqdm import tqdm

from autograder import notebooks, settings
from autograder.errors import CourseError
from autograder.grading import cluster, course, gradebook, incidents, worker


def unpack(source: Path, into: Path, known: set[str]) -> Path:
    """The submissions folder: `source` itself, or a zip extracted into `into`."""
    if source.is_dir():
        return source
    if not source.is_file():
        raise CourseError(f"{source}: no such folder or zip")
    if not zipfile.is_zipfile(source):
        raise CourseError(f"{source}: neither a folder nor a zip of submissions")
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            if name.startswith("/") or ".." in Path(name).parts:
                raise CourseError(f"{source}: unsafe path in zip: {name}")
        into.mkdir(parents=True, exist_ok=True)
        archive.extractall(into)
    entries = [p for p in into.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    # A zip of the folder itself holds one top folder of students.
    if len(entries) == 1 and entries[0].is_dir() and not find(into, known):
        return entries[0]
    return into


def find(folder: Path, known: set[str]) -> list[worker.Submission]:
    """Every `<student>/<assignment>/` under `folder` whose assignment is known."""
    found = []
    for student in sorted(p for p in folder.iterdir() if p.is_dir()):
        for work in sorted(p for p in student.iterdir() if p.is_dir()):
            if work.name in known:
                found.append(pick(student.name, work))
    return found


def pick(student: str, work: Path) -> worker.Submission:
    """The notebook to grade in one submission folder (renamed ones too)."""
    candidates = sorted(work.glob("*.ipynb"))
    exact = work / f"{work.name}.ipynb"
    if exact in candidates:
        return worker.Submission(student, work.name, exact)
    if len(candidates) == 1:
        return worker.Submission(student, work.name, candidates[0])
    problem = (
        "no notebook submitted"
        if not candidates
        else (f"{len(candidates)} notebooks and none named {exact.name}")
    )
    return worker.Submission(student, work.name, None, problem)


def screen(item: worker.Submission, masters: dict) -> worker.Submission:
    """Read the notebook first, so a broken or foreign one gets a clear line."""
    if item.notebook is None:
        return item
    try:
        nb = notebooks.read(item.notebook)
        actual = notebooks.recognise(item.notebook, nb, masters)
    except CourseError as error:
        item.problem, item.notebook = str(error), None
        return item
    if actual != item.assignment:
        item.problem = (
            f"{item.notebook.name} is a notebook of {actual}, not {item.assignment}"
        )
    return item


def run_all(
    items: list[worker.Submission],
    jobs: int,
    masters: Path,
    timeout: int,
    base: Path,
    progress: bool,
    client=None,  # a Dask client: grade on its cluster's workers instead
    sealed: bool = True,  # grading kernels in bubblewrap (autograder/sealed/sandbox.py)
) -> list[worker.Outcome]:
    bar = tqdm(total=len(items), desc="grading", unit="notebook", disable=not progress)
    outcomes = []
    if client is not None:
        job = cluster.job(masters, timeout, sealed)
        outcomes = cluster.run_all(client, job, items, base, bar)
    elif jobs <= 1:
        worker.start_worker(masters, timeout, base, sealed=sealed)
        for item in items:
            outcomes.append(worker.grade_one(item))
            bar.update()
    else:
        spawn = multiprocessing.get_context("spawn")  # no forked kernels or sockets
        with ProcessPoolExecutor(
            jobs, spawn, worker.start_worker, (masters, timeout, base, jobs, sealed)
        ) as pool:
            futures = {
                pool.submit(worker.grade_one, item): i for i, item in enumerate(items)
            }
            done = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update()
        outcomes = [done[i] for i in range(len(items))]
    bar.close()
    return outcomes


# ---- the main course ------------------------------------------------------------


def merge(main: course.TempCourse, outcome: worker.Outcome) -> None:
    """Record one outcome in the main gradebook and copy its graded files."""
    with Gradebook(main.db_url, course.COURSE_ID) as gb:
        gb.update_or_create_student(outcome.student)
        gb.update_or_create_submission(outcome.assignment, outcome.student)
        for cell in outcome.grades:
            try:
                key = (cell.grade_id, outcome.assignment, outcome.assignment)
                grade = gb.find_grade(*key, outcome.student)
            except MissingEntry:  # the master changed while grading
                outcome.problem = f"{cell.grade_id} is not in the main gradebook"
                continue
            grade.auto_score = cell.auto_score
            grade.needs_manual_grade = cell.needs_manual_grade
        gb.db.commit()
    for step in ("autograded", "feedback"):
        target = main.path(step, outcome.student, outcome.assignment)
        shutil.rmtree(target, ignore_errors=True)
        source = Path(outcome.graded_in) / step / outcome.student / outcome.assignment
        if outcome.graded_in and source.is_dir():
            shutil.copytree(source, target)


def export(main: course.TempCourse, csv_path: Path) -> None:
    """nbgrader's grades CSV, with each submission's incidents as a last column."""
    with Gradebook(main.db_url, course.COURSE_ID) as gb:
        CsvExportPlugin(to=str(csv_path)).export(gb)
    incidents.add_column(csv_path, main.root / "autograded")


def grade(
    source: Path,
    jobs: int = 1,
    db_url: str | None = None,
    workdir: Path = course.WORK,
    masters: Path = course.MASTERS,
    timeout: int = settings.DEFAULT_TIMEOUT,
    progress: bool = True,
    address: str | None = None,
    sealed: bool = True,
) -> tuple[list[worker.Outcome], Path]:
    """Grade every submission under `source`; return the outcomes and the CSV path.
    `address`: a Dask scheduler whose workers grade instead of local jobs."""
    known = {
        a: notebooks.read(masters / a / f"{a}.ipynb")
        for a in course.assignments(masters)
    }
    with tempfile.TemporaryDirectory(prefix="lstm-grade-") as scratch:
        folder = unpack(Path(source), Path(scratch) / "unzipped", set(known))
        items = [screen(item, known) for item in find(folder, set(known))]
        if not items:
            raise CourseError(
                f"{source}: no submissions found (expected "
                "<student>/<assignment>/*.ipynb "
                f"with an assignment among {', '.join(known) or 'none'})"
            )
        main = course.TempCourse(masters, timeout, root=workdir, db_url=db_url)
        gradebook.check(main.db_url)  # before any grading: one line if unusable
        client = cluster.connect(address) if address else None
        try:
            # Several runs may share a PostgreSQL gradebook: they write in turns.
            with gradebook.exclusive(main.db_url, course.COURSE_ID):
                for assignment in sorted({item.assignment for item in items}):
                    main.release(assignment)
            base = Path(scratch) / "workers"
            outcomes = run_all(
                items, jobs, masters, timeout, base, progress, client, sealed
            )
        finally:
            if client is not None:
                client.close()
        with gradebook.exclusive(main.db_url, course.COURSE_ID):
            for outcome in outcomes:
                merge(main, outcome)
                if not outcome.grades:  # nothing graded: the zeros from the gradebook
                    outcome.grades = main.grades(outcome.student, outcome.assignment)
    csv_path = Path(workdir) / "grades.csv"
    export(main, csv_path)
    return outcomes, csv_path
