"""`lstm-course report`: a graded class's gradebook and notebooks in, the report's
page, CSV files and JSON out.

Where a graded class lives: a course folder (`--workdir`) holding nbgrader's
`autograded/<student>/<assignment>/` and, unless `--db` or `$LSTM_COURSE_DB` says
otherwise, its `gradebook.db`. That is `.course/` after plain `nbgrader autograde`
in this repository (and `ko/.course/` for the Korean edition), the `--workdir` of
`lstm-course grade`, and `~/lstm-course` on the hub, whose masters are in its
`source/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder import i18n
from autograder.errors import CourseError
from autograder.grading import course, gradebook
from autograder.i18n import _
from autograder.report import analysis, exercises, export, graded, page, scores


@dataclass
class Located:
    workdir: Path
    db_url: str
    masters: Path


HUB_COURSE = Path("~") / course.COURSE_ID  # the hub's instructor course folder


def default_workdir(cwd: Path | None = None) -> Path:
    """The graded course folder nearest to hand: `.course/` here (this repository,
    or `ko/`, after plain nbgrader), this folder itself if it holds a gradebook or
    graded notebooks (the `--workdir` of `lstm-course grade`, the hub's course
    folder), the hub's `~/lstm-course`, else this repository's `.course/`."""
    cwd = Path(cwd or Path.cwd())
    hub = HUB_COURSE.expanduser()
    for folder in (cwd / ".course", cwd, hub):
        if (folder / "gradebook.db").is_file() or (folder / "autograded").is_dir():
            return folder
    return course.WORK


def locate(
    workdir: Path | None = None,
    db_url: str | None = None,
    masters: Path | None = None,
) -> Located:
    workdir = Path(workdir or default_workdir()).expanduser().resolve()
    url = db_url or gradebook.from_env() or f"sqlite:///{workdir / 'gradebook.db'}"
    if masters is None:  # the hub keeps them in source/, this repository beside
        found = [workdir / "source", workdir.parent / course.MASTERS.name]
        masters = next((m for m in found if m.is_dir()), course.MASTERS)
    return Located(workdir, url, Path(masters))


@dataclass
class Result:
    tables: dict[str, list[dict]]
    lang: str
    html: Path
    json: Path
    csv: list[Path]


def collect(
    where: Located, read: scores.Scores
) -> tuple[list[analysis.Submission], list[str]]:
    """Every submission in the gradebook with its graded notebook, and the problems
    met (a master missing, a notebook unreadable): the rest is still analysed."""
    problems, structure = [], {}
    for (_student, assignment, notebook), cells in sorted(read.cells.items()):
        if (assignment, notebook) in structure:
            continue
        try:
            found = exercises.of_assignment(where.masters, assignment, notebook)
        except CourseError as error:
            problems.append(
                _("{problem}: its test cells are reported one by one").format(
                    problem=error
                )
            )
            found = exercises.cell_by_cell(list(cells))
        structure[(assignment, notebook)] = found
    keys = sorted(read.cells)
    found = graded.read_all([graded.path_of(where.workdir, *key) for key in keys])
    submissions = []
    for (student, assignment, notebook), notebook_read in zip(keys, found, strict=True):
        sub = analysis.Submission(
            student,
            assignment,
            read.cells[(student, assignment, notebook)],
            structure[(assignment, notebook)],
            read.stubs.get((assignment, notebook), {}),
        )
        if isinstance(notebook_read, str):
            sub.problem = notebook_read
        else:
            sub.graded = notebook_read
        submissions.append(sub)
    return submissions, problems


def edition(submissions: list[analysis.Submission]) -> str | None:
    """The class's edition, when all its graded notebooks are of one."""
    found = {s.graded.edition for s in submissions if s.graded}
    return found.pop() if len(found) == 1 else None


def pseudonyms(students: list[str]) -> dict[str, str]:
    return {
        student: _("student {number}").format(number=f"{n:02d}")
        for n, student in enumerate(sorted(students), 1)
    }


def report(
    where: Located,
    out: Path,
    lang: str | None = None,
    anonymous: bool = False,
    assignments: list[str] | None = None,
) -> Result:
    read = scores.read(where.db_url, assignments)
    submissions, problems = collect(where, read)
    lang = i18n.normal(lang) or edition(submissions) or i18n.current()
    with i18n.use(lang):
        students = list({s.student for s in submissions})
        names = pseudonyms(students) if anonymous else {}
        tables = analysis.analyse(submissions, show=lambda s: names.get(s, s))
        tables["problems"] = [
            {"student": "", "assignment": "", "problem": p} for p in problems
        ] + [
            {
                "student": names.get(s.student, s.student),
                "assignment": s.assignment,
                "problem": s.problem,
            }
            for s in submissions
            if s.problem
        ]
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv_paths = export.write_csv(tables, out)
        json_path = export.write_json(tables, out / "report.json")
        html = page.write(tables, out / "report.html", lang)
    return Result(tables, lang, html, json_path, csv_paths)
