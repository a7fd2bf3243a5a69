"""`lstm-course`: regenerate releases, prove the masters, check and grade notebooks.

Every expected failure is a `CourseError`, caught once in `main` and printed as
one line; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from autograder import i18n, notebooks, settings
from autograder.errors import CourseError
from autograder.grading import course, gradebook
from autograder.i18n import N_, _
from autograder.table import points, render

UNSEALED = N_("grading kernels run without the bubblewrap sandbox, with your rights")


def cmd_release(args) -> int:
    from autograder.editions.release import release

    ids = course.select(args.ids, args.masters)
    stale = release(ids, check=args.check, masters=args.masters, target=args.target)
    if args.check:
        for path in stale:
            print(f"out of date: {path}")
        print("release is up to date" if not stale else "run `lstm-course release`")
        return 1 if stale else 0
    print(f"regenerated {len(stale)} file(s) for {len(ids)} assignment(s)")
    return 0


def cmd_solutions(args) -> int:
    from autograder.editions.solutions import solutions

    ids = course.select(args.ids, args.masters)
    if args.executed is None:  # beside the masters' edition: solutions_executed/
        args.executed = Path(args.masters).resolve().parent / "solutions_executed"
    proofs = solutions(ids, args.masters, args.executed, args.timeout)
    rows = [
        (
            p.assignment,
            points(*p.master),
            points(*p.release),
            "ok" if p.ok else "FAILED",
        )
        for p in proofs
    ]
    print(render(("assignment", "master", "release", "status"), rows))
    for proof in proofs:
        for problem in proof.problems:
            print(f"{proof.assignment}: {problem}")
    print(f"executed solutions in {args.executed}")
    return 0 if all(p.ok for p in proofs) else 1


def sealing(args, refuse: bool) -> bool:
    """Whether grading kernels run sealed in bubblewrap. Without bwrap, `refuse`
    (grading a class) stops with the fix; otherwise (self-study) it says so."""
    from autograder.sealed import sandbox

    if args.unsealed:
        warning = _("warning: {message}").format(message=_(UNSEALED))
        print(f"lstm-course: {warning}", file=sys.stderr)
        return False
    missing = sandbox.available()
    if missing and refuse:
        raise CourseError(f"{missing}; or grade unsealed with --unsealed")
    if missing:
        unsealed = _("{missing}; checking unsealed").format(missing=missing)
        print(f"lstm-course: {unsealed}", file=sys.stderr)
    return not missing


def edition_of(paths: list[Path]) -> str | None:
    """The edition every notebook in `paths` says it is (None: English or mixed)."""
    found = set()
    for path in paths:
        try:
            found.add(i18n.notebook_language(notebooks.read(path)))
        except CourseError:
            found.add(None)  # reported when it is graded
    return found.pop() if len(found) == 1 else None


def cmd_check(args) -> int:
    release = course.release_of(i18n.normal(args.lang) or i18n.SOURCE)
    paths = args.paths or sorted(release.glob("*/*.ipynb"))
    edition = edition_of(paths)
    if args.lang:  # the learner's choice reaches the grading kernels too
        os.environ[i18n.ENV] = i18n.normal(args.lang) or args.lang
    if args.masters == course.MASTERS and edition:
        args.masters = course.masters_of(edition)  # the same tests, in its words
    with i18n.use(args.lang or edition):
        return check_table(args, paths)


def check_table(args, paths: list[Path]) -> int:
    from autograder.grading.check import by_exercise, check

    if not paths:
        raise CourseError(_("no notebooks given and none under notebooks/"))
    reports = check(paths, args.masters, args.timeout, sealed=sealing(args, False))
    if len(reports) == 1 and not reports[0].assignment:
        raise CourseError(reports[0].problem)  # nothing could be graded
    if args.json:
        data = [r.as_json() for r in reports]
        print(json.dumps(data[0] if len(args.paths) == 1 else data, indent=2))
    elif len(reports) == 1:
        report = reports[0]
        rows = [(e, points(s, m), line) for e, s, m, line in by_exercise(report)]
        header = (_("exercise"), _("points"), _("feedback"))
        print(render(header, rows, wrap=True))
        total = points(report.score, report.max_score)
        print(
            _("total  {points}  ({assignment})").format(
                points=total, assignment=report.assignment
            )
        )
    else:
        rows = [
            (r.assignment or "?", points(r.score, r.max_score), r.problem or r.path)
            for r in reports
        ]
        print(render((_("assignment"), _("points"), _("notebook")), rows))
        total = points(sum(r.score for r in reports), sum(r.max_score for r in reports))
        print(_("total  {points}").format(points=total))
    for report in reports:
        if report.problem:
            print(f"lstm-course: {report.problem}", file=sys.stderr)
    return 1 if any(r.problem for r in reports) else 0


def cmd_translations(args) -> int:
    from autograder.editions import translations

    ids = course.select(args.ids)
    for lang in [args.lang] if args.lang else course.TRANSLATED:
        if args.update:
            for path in translations.update(lang, ids):
                print(f"updated {path}")
        drifts = translations.drifts(lang, ids)
        for line in (line for drift in drifts for line in drift.lines()):
            print(line)
        bad = sum(not drift.ok for drift in drifts)
        print(f"{lang}: {len(drifts) - bad} of {len(drifts)} catalogs up to date")
        if bad:
            return 1
    return 0


def cmd_grade(args) -> int:
    from autograder.grading import incidents
    from autograder.grading.grade import grade

    if args.jobs < 1:
        raise CourseError("--jobs must be at least 1")
    sealed = sealing(args, refuse=True)
    outcomes, csv_path = grade(
        args.submissions,
        args.jobs,
        args.db,
        args.workdir,
        args.masters,
        args.timeout,
        progress=not args.quiet,
        address=args.cluster,
        sealed=sealed,
    )
    rows = [
        (o.student, o.assignment, points(o.score, o.max_score), o.problem or "ok")
        for o in outcomes
    ]
    print(render(("student", "assignment", "points", "note"), rows))
    flagged = incidents.listing(outcomes)
    if flagged:
        print(f"\n{flagged}")
    problems = sum(bool(o.problem) for o in outcomes)
    looks = sum(bool(o.incidents) for o in outcomes)
    print(
        f"graded {len(outcomes)} submission(s), {problems} with problems, "
        f"{looks} to look at; grades: {csv_path}"
    )
    print(f"feedback pages: {Path(args.workdir) / 'feedback'}")
    return 0


def cmd_report(args) -> int:
    from autograder.report import build

    where = build.locate(args.workdir, args.db, args.masters)
    result = build.report(
        where,
        args.out or where.workdir / "report",
        args.lang,
        args.anonymous,
        args.ids or None,
    )
    with i18n.use(result.lang):
        rows = [
            (
                r["assignment"],
                r["students"],
                points(r["median_points"], r["max_points"]),
            )
            for r in result.tables["assignments"]
        ]
        print(render((_("assignment"), _("students"), _("median")), rows))
        for problem in result.tables["problems"]:
            line = " ".join(filter(None, (problem["student"], problem["assignment"])))
            print(
                f"lstm-course: {line}{': ' if line else ''}{problem['problem']}",
                file=sys.stderr,
            )
        print(_("report: {path}").format(path=result.html))
        print(
            _("tables: {folder} (CSV, and report.json)").format(
                folder=result.html.parent
            )
        )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="lstm-course", description=__doc__.splitlines()[0]
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks and logs")
    common.add_argument(
        "--masters", type=Path, default=course.MASTERS, help="folder of the masters"
    )
    common.add_argument(
        "--timeout",
        type=int,
        default=settings.DEFAULT_TIMEOUT,
        help="seconds a cell may run (default %(default)s)",
    )
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "release",
        parents=[common],
        help="regenerate notebooks/, and the Korean edition in ko/",
    )
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    p.add_argument(
        "--target", type=Path, default=course.RELEASE, help=argparse.SUPPRESS
    )
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("solutions", parents=[common], help="prove every master")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument(
        "--executed",
        type=Path,
        help="where the graded masters go (default: solutions_executed/ beside them)",
    )
    p.set_defaults(run=cmd_solutions)

    p = sub.add_parser("check", parents=[common], help="grade your own notebooks")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH.ipynb")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--unsealed", action="store_true", help=UNSEALED)
    p.add_argument(
        "--lang",
        choices=i18n.LANGUAGES,
        help="the language of the table and feedback (default: the notebook's "
        "edition, else the locale)",
    )
    p.set_defaults(run=cmd_check)

    p = sub.add_parser(
        "translations",
        help="what the translations lack (missing) or have too much (stale)",
    )
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--lang", choices=course.TRANSLATED)
    p.add_argument(
        "--update",
        action="store_true",
        help="first add new English to the catalogs (changed English: fuzzy, with "
        "the old translation; removed English: obsolete)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(run=cmd_translations)

    p = sub.add_parser("grade", parents=[common], help="grade a class's submissions")
    p.add_argument(
        "submissions", type=Path, help="folder or zip: <student>/<id>/*.ipynb"
    )
    p.add_argument("--jobs", type=int, default=1, help="grade N submissions at once")
    p.add_argument(
        "--db",
        default=gradebook.from_env(),
        help=f"SQLAlchemy URL of the gradebook (default: ${gradebook.ENV}, "
        "else sqlite in --workdir), e.g. postgresql://user:password@host/grades",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="grade on the workers of this Dask scheduler, e.g. tcp://host:8786",
    )
    p.add_argument(
        "--workdir", type=Path, default=course.WORK, help="gradebook, feedback"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--unsealed", action="store_true", help=UNSEALED)
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser(
        "report",
        help="what a graded class got wrong: one HTML page, CSV and JSON",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="assignments (default: all)")
    p.add_argument(
        "--workdir",
        type=Path,
        help="the graded course folder, holding autograded/ (default: .course/ "
        "here, this folder, or ~/lstm-course on the hub)",
    )
    p.add_argument(
        "--db",
        default=gradebook.from_env(),
        help=f"SQLAlchemy URL of the gradebook (default: ${gradebook.ENV}, else "
        "gradebook.db in --workdir)",
    )
    p.add_argument(
        "--masters",
        type=Path,
        help="folder of the masters (default: source/ in --workdir, or solutions/ "
        "beside it)",
    )
    p.add_argument(
        "--out", type=Path, help="where the report goes (default: report/ in --workdir)"
    )
    p.add_argument(
        "--lang",
        choices=i18n.LANGUAGES,
        help="the report's language (default: the notebooks' edition, else the locale)",
    )
    p.add_argument(
        "--anonymous",
        action="store_true",
        help="students as numbers, not names (to show the report in class)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(run=cmd_report)
    return top


def quiet_libraries() -> None:
    """nbgrader and SQLAlchemy talk a lot; the CLI reports outcomes itself."""
    logging.getLogger("traitlets").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.debug:
        quiet_libraries()
    try:
        return args.run(args)
    except CourseError as error:
        if args.debug:
            raise
        print(f"lstm-course: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstm-course: " + _("interrupted"), file=sys.stderr)
        return 130
