"""Where the course lives, and private nbgrader courses built on the fly.

A `TempCourse` is a real nbgrader course in a temporary folder, with its own
gradebook: `check` grades one learner's notebook in one, and each `grade --jobs`
worker grades its share of the students in its own (sqlite is not safe to share
between processes, nbgrader #174). nbgrader generates an assignment into such a
course once per master: later courses start from a copy (`GENERATED`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbgrader.api
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograder import i18n, settings
from autograder.errors import CourseError
from autograder.grading import gradebook, options


def alembic_head() -> str:
    """The revision nbgrader stamps on every new gradebook. nbgrader finds it by
    running `alembic heads` in a subprocess (seconds per gradebook, and every check
    and every worker makes one); this reads the same answer in-process."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


nbgrader.api.get_alembic_version = functools.cache(alembic_head)

PACKAGE = Path(__file__).resolve().parents[1]  # autograder/
ROOT = PACKAGE.parent
MASTERS = ROOT / "solutions"
RELEASE = ROOT / "notebooks"
WORK = ROOT / ".course"
# Generated assignments (gradebook and release) kept for the next private course, in
# this user's cache folder, by `generation`: the KEPT most recently used.
GENERATED = settings.CACHE / "generated"
KEPT = 32
COURSE_ID = "lstm-course"
TRANSLATED = tuple(lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE)


def masters_of(lang: str) -> Path:
    """The masters of an edition: English in solutions/, the Korean edition's
    (generated from them, autograder/editions/translations.py) in ko/solutions/."""
    return MASTERS if lang == i18n.SOURCE else ROOT / lang / MASTERS.name


def release_of(lang: str) -> Path:
    """The learners' notebooks of an edition: notebooks/, ko/notebooks/."""
    return RELEASE if lang == i18n.SOURCE else ROOT / lang / RELEASE.name


def configure(c: Config, root: str, course_id: str = COURSE_ID) -> None:
    """An edition's folder as an nbgrader course (nbgrader_config.py, ko/...):

    solutions/<id>/<id>.ipynb   source (masters, with solutions and hidden tests)
    notebooks/<id>/<id>.ipynb   release (generated; what learners get)
    .course/                    submitted, autograded, feedback, exchange,
                                gradebook (git-ignored)
    """
    work = Path(root) / ".course"
    (work / "exchange").mkdir(parents=True, exist_ok=True)  # sqlite, the exchange
    c.CourseDirectory.course_id = course_id
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = MASTERS.name
    c.CourseDirectory.release_directory = RELEASE.name
    for step in ("submitted", "autograded", "feedback", "solution"):
        setattr(c.CourseDirectory, f"{step}_directory", f".course/{step}")
    # A shared gradebook (postgresql://user:password@host/grades): $LSTM_COURSE_DB.
    c.CourseDirectory.db_url = (
        gradebook.from_env() or f"sqlite:///{work / 'gradebook.db'}"
    )
    c.Exchange.root = str(work / "exchange")
    # Grading kernels run sealed in bubblewrap; LSTM_COURSE_UNSEALED=1 opts out.
    options.apply(c, sealed=options.sealed_by_env())


def digest(*folders: Path) -> str:
    """A digest of every file below `folders`: names and bytes."""
    found = hashlib.sha256()
    for root in folders:
        for path in sorted(Path(root).rglob("*")):
            skipped = {"__pycache__", ".ipynb_checkpoints"} & set(path.parts)
            if path.is_file() and not skipped:
                found.update(str(path.relative_to(root)).encode() + b"\0")
                found.update(path.read_bytes())
    return found.hexdigest()


def generation(masters: Path, assignment: str) -> Path:
    """Where an assignment generated from this master, by this nbgrader and this
    autograder (its options, its code), is kept."""
    key = digest(Path(masters) / assignment, PACKAGE) + nbgrader.__version__
    return GENERATED / hashlib.sha256(key.encode()).hexdigest()[:32]


def assignments(masters: Path = MASTERS) -> list[str]:
    """Ids of every assignment with a master `<masters>/<id>/<id>.ipynb`."""
    if not masters.is_dir():
        return []
    return sorted(
        p.name for p in masters.iterdir() if (p / f"{p.name}.ipynb").is_file()
    )


def select(ids: list[str] | None, masters: Path = MASTERS) -> list[str]:
    """The requested assignment ids (all when none), each checked to exist."""
    known = assignments(masters)
    for id_ in ids or []:
        if id_ not in known:
            raise CourseError(
                f"no assignment {id_!r} in {masters} (known: {', '.join(known)})"
            )
    return list(ids) if ids else known


@dataclass
class GradedCell:
    grade_id: str
    score: float
    max_score: float
    auto_score: float | None = None
    needs_manual_grade: bool = False


def config(
    root: Path, masters: Path, db_url: str, timeout: int, sealed: bool = True
) -> Config:
    """The nbgrader config of a course at `root` whose source is `masters`;
    `sealed`: grading kernels run in bubblewrap (autograder/sealed/sandbox.py)."""
    c = Config()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = str(masters)
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.db_url = db_url
    c.Exchange.root = str(root / "exchange")
    c.NbGraderAPI.log_level = logging.WARNING
    return options.apply(c, timeout, sealed)


class TempCourse:
    """A private nbgrader course in a temporary folder; a context manager."""

    def __init__(
        self,
        masters: Path = MASTERS,
        timeout: int = settings.DEFAULT_TIMEOUT,
        root: Path | None = None,
        db_url: str | None = None,
        sealed: bool = True,
    ):
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="lstm-course-")).resolve()
        (self.root / "exchange").mkdir(parents=True, exist_ok=True)
        self.masters = Path(masters).resolve()
        self._db = self.root / "gradebook.db"
        self._own_db = db_url is None and not self._db.exists()  # a new sqlite file
        self.db_url = db_url or f"sqlite:///{self._db}"
        cfg = config(self.root, self.masters, self.db_url, timeout, sealed)
        self.api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
        self._generated: set[str] = set()

    def __enter__(self) -> TempCourse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def path(self, step: str, student: str, assignment: str) -> Path:
        return self.root / step / student / assignment

    def release(self, assignment: str) -> Path:
        """Generate the assignment once: gradebook entries, checksums, hidden tests.
        The first one of a course whose gradebook is its own new file is a copy of
        an earlier generation where this user's cache holds one (`generation`)."""
        released = self.root / "release" / assignment
        if assignment in self._generated:
            return released / f"{assignment}.ipynb"
        kept = generation(self.masters, assignment)
        first = self._own_db and not self._generated
        if not (first and reuse(kept, self._db, released)):
            run(self.api.generate_assignment(assignment), f"generate {assignment}")
            if first:
                keep(kept, self._db, released)
        self._generated.add(assignment)
        return released / f"{assignment}.ipynb"

    def submit(self, student: str, assignment: str, notebook: Path) -> Path:
        """Copy a learner's notebook in as `student`'s submission (only read)."""
        self.release(assignment)
        folder = self.path("submitted", student, assignment)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        target = folder / f"{assignment}.ipynb"
        shutil.copyfile(notebook, target)
        return target

    def autograde(self, student: str, assignment: str) -> str:
        """Run nbgrader's autograde; return "" or one line saying why it failed."""
        result = self.api.autograde(assignment, student)
        return "" if result["success"] else failure_line(result)

    def autograded(self, student: str, assignment: str) -> Path:
        return self.path("autograded", student, assignment) / f"{assignment}.ipynb"

    def feedback(self, student: str, assignment: str) -> str:
        """Generate the feedback page; return "" or one line saying why it failed."""
        result = self.api.generate_feedback(assignment, student)
        return "" if result["success"] else failure_line(result)

    def grades(self, student: str, assignment: str) -> list[GradedCell]:
        """The gradebook's scores of every graded cell, in the notebook's order."""
        with Gradebook(self.db_url, COURSE_ID) as gb:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
            order = {
                cell.name: i for i, cell in enumerate(notebook.notebook.source_cells)
            }
            cells = [
                GradedCell(
                    g.name, g.score, g.max_score, g.auto_score, g.needs_manual_grade
                )
                for g in notebook.grades
            ]
        return sorted(cells, key=lambda cell: order.get(cell.grade_id, 0))


def reuse(kept: Path, db: Path, released: Path) -> bool:
    """Copy a kept generation into a new course; False where there is none (or it
    went meanwhile), and the course is as it was."""
    try:
        shutil.copyfile(kept / "gradebook.db", db)
        shutil.copytree(kept / "release", released)
        os.utime(kept)
    except OSError:
        db.unlink(missing_ok=True)
        shutil.rmtree(released, ignore_errors=True)
        return False
    return True


def keep(kept: Path, db: Path, released: Path) -> None:
    """Put a generation in the cache, whole or not at all, and let go of all but
    the KEPT most recently used; a cache that cannot be written only means
    generating again next time."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=kept.parent, prefix=".partial-"))
    except OSError:
        return
    try:
        shutil.copyfile(db, partial / "gradebook.db")
        shutil.copytree(released, partial / "release")
        partial.rename(kept)
    except OSError:  # no room, or another course kept it first
        shutil.rmtree(partial, ignore_errors=True)
    prune(kept.parent)


def prune(cache: Path) -> None:
    """Let go of all but the KEPT most recently used generations in `cache`."""

    def used(generation: Path) -> float:
        try:
            return generation.stat().st_mtime
        except OSError:  # gone meanwhile
            return 0.0

    found = [p for p in cache.iterdir() if not p.name.startswith(".")]
    for old in sorted(found, key=used)[:-KEPT]:
        shutil.rmtree(old, ignore_errors=True)


def run(result: dict, what: str) -> None:
    """Raise a one-line `CourseError` when an nbgrader API call failed."""
    if not result["success"]:
        raise CourseError(f"{what} failed: {failure_line(result)}")


def failure_line(result: dict) -> str:
    """The most telling line of a failed nbgrader call's log: the course's own
    error where one stopped it, else nbgrader's first specific one."""
    log = (result.get("log") or "") + "\n" + (result.get("error") or "")
    ours = [
        line.split(f"{CourseError.__name__}: ", 1)[1].strip()
        for line in log.splitlines()
        if f"{CourseError.__name__}: " in line
    ]
    errors = [
        line.removeprefix("[ERROR] ").strip()
        for line in log.splitlines()
        if line.startswith("[ERROR]") and "Traceback" not in line
    ]
    generic = ("There was an error", "Please see the")
    telling = [e for e in errors if not e.startswith(generic)]
    fallback = "nbgrader failed (run with --debug for the log)"
    return (ours or telling or errors or [fallback])[0]
