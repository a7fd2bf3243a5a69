"""`lstm-course report` on a synthetic class (tests/report_plan.py): every count is
what was planted, the page opens in Chromium with every figure drawn, and a
PostgreSQL gradebook gives the same report as sqlite.

The class is assembled from notebooks graded by real nbgrader (the shared batches
and two notebooks graded for it), its grades written into a gradebook through
nbgrader's API (tests/report_class.py); the report runs as the instructor runs
it, `lstm-course report`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from html import escape
from pathlib import Path

import pytest
import report_plan
from postgres import free_port
from report_class import copy_assignments, enrol, gradebook_of
from report_plan import ASSIGNMENTS, COPIER, EXTRA, KOREAN, REFUSER
from test_cli import one_line_error, run_cli

from autograder import i18n
from autograder.grading import course
from autograder.report import similar
from autograder.report.build import pseudonyms

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "report"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def planted() -> dict:
    return report_plan.plan()


@pytest.fixture(scope="module")
def graded_class(planted, tmp_path_factory) -> Path:
    """The class's course folder: its gradebook.db and autograded/."""
    workdir = tmp_path_factory.mktemp("class") / "course"
    workdir.mkdir()
    url = gradebook_of(workdir)
    copy_assignments(
        gradebook_of(report_plan.batches.course_batch().workdir), url, ASSIGNMENTS
    )
    enrol(url, workdir, report_plan.sources(planted))
    return workdir


def report(*args: str) -> dict:
    result = run_cli("report", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def english(graded_class, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("report-en")
    return report(
        "--workdir", str(graded_class), "--out", str(out), "--lang", "en"
    ), out


def status(planted_one, exercise: str, cells: dict) -> str:
    """The result an exercise must show, from what was planted (partial or zero:
    as the grader scored the lost cells)."""
    if exercise in planted_one.unanswered:
        return "not_answered"
    if exercise in planted_one.lost:
        scores = planted_one.source.scores()
        return "zero" if sum(scores[c][0] for c in cells) == 0 else "partial"
    return "full"


def test_every_exercise_counts_what_was_planted(planted, english):
    tables, _out = english
    expected = []
    for assignment in ASSIGNMENTS:
        hidden = report_plan.hidden_cells(assignment)
        for exercise, cells in report_plan.exercises(assignment).items():
            taken = [w[assignment] for w in planted.values() if assignment in w]
            counts = Counter(status(p, exercise, cells) for p in taken)
            lost_hidden = 0
            for p in taken:
                scores = p.source.scores()
                visible = [c for c in cells if c not in hidden]
                if visible and all(scores[c][0] >= scores[c][1] for c in visible):
                    lost_hidden += any(
                        scores[c][0] < scores[c][1] for c in cells if c in hidden
                    )
            expected.append(
                (
                    assignment,
                    exercise,
                    len(taken),
                    *(counts[s] for s in ("full", "partial", "zero", "not_answered")),
                    lost_hidden,
                    statistics.median(
                        sum(p.source.scores()[c][0] for c in cells) for p in taken
                    ),
                )
            )
    keys = ("students", "full", "partial", "zero", "not_answered", "hidden_only")
    found = [
        (r["assignment"], r["exercise"], *(r[k] for k in keys), r["median_points"])
        for r in tables["exercises"]
    ]
    assert sorted(found) == sorted(expected)


def test_assignment_medians_are_the_planted_scores(planted, english):
    tables, _out = english
    for row in tables["assignments"]:
        totals = [
            sum(s for s, _m in w[row["assignment"]].source.scores().values())
            for w in planted.values()
            if row["assignment"] in w
        ]
        assert (row["students"], row["median_points"]) == (
            len(totals),
            statistics.median(totals),
        )


def test_misconceptions_are_the_planted_mistakes_ranked(planted, english):
    """Each student who lost an exercise holds one mistake there: the id its
    catalogued mistake declares (or the refusal)."""
    tables, _out = english
    expected: dict[tuple[str, str, str], set[str]] = {}
    for student, work in planted.items():
        for assignment, p in work.items():
            held = [(m.exercise, m.mistake) for m in p.mistakes]
            held += [(exercise, "refused") for exercise in p.refused]
            for exercise, mistake in held:
                assert mistake, f"{assignment}/{exercise}: no mistake id declared"
                key = (assignment, exercise, mistake)
                expected.setdefault(key, set()).add(student)
    rows = tables["misconceptions"]
    found = {
        (r["assignment"], r["exercise"], r["mistake"] or r["kind"]): set(r["students"])
        for r in rows
    }
    assert found == expected
    for key in {(r["assignment"], r["exercise"]) for r in rows}:
        ranked = [r for r in rows if (r["assignment"], r["exercise"]) == key]
        assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
        counts = [r["students_count"] for r in ranked]
        assert counts == sorted(counts, reverse=True)
        for r in ranked:  # as the students saw it, without the id
            assert r["message"] and not r["message"].endswith(f"[{r['mistake']}]")


def test_each_student_lost_what_was_planted(planted, english):
    tables, _out = english
    rows = {r["student"]: r for r in tables["students"]}
    assert set(rows) == set(planted) and len(rows) >= 12
    for student, work in planted.items():
        row = rows[student]
        lost = sum(len(p.lost) for p in work.values())
        unanswered = sum(len(p.unanswered) for p in work.values())
        points = sum(s for p in work.values() for s, _m in p.source.scores().values())
        assert (row["exercises_lost"], row["not_answered"], row["points"]) == (
            lost,
            unanswered,
            points,
        ), student
        held = [m.mistake for p in work.values() for m in p.mistakes]
        held += [f"{e} (refused)" for p in work.values() for e in p.refused]
        assert sorted(row["mistakes"]) == sorted(held), student
    ranks = [r["lost_points"] for r in tables["students"]]
    assert ranks == sorted(ranks, reverse=True)  # who to help first


def test_the_refusal_is_listed_and_nothing_else(english):
    tables, _out = english
    found = {
        (r["student"], r["assignment"], r["exercise"], r["kind"])
        for r in tables["incidents"]
    }
    assert found == {(REFUSER, EXTRA, "lstm-cell", "refused")}
    lost = {
        (r["assignment"], r["exercise"], r["status"], r["mistake"])
        for r in tables["lost"]
        if r["student"] == REFUSER
    }
    assert lost == {
        (EXTRA, "lstm-cell", "zero", "lstm-cell (refused)"),
        (EXTRA, "gru-cell", "not-answered", ""),
    }


def test_the_copied_answer_is_found_among_shared_submissions(planted, english):
    tables, _out = english
    groups = tables["identical"]
    assert {
        "assignment": EXTRA,
        "exercise": "lstm-gates",
        "students": sorted([REFUSER, COPIER]),
        "solution": False,
    }.items() <= next(
        g for g in groups if g["students"] == sorted([REFUSER, COPIER])
    ).items()
    for g in groups:
        taken = [planted[s][g["assignment"]] for s in g["students"]]
        if g["solution"]:  # only students who kept the master's answer there
            assert all(g["exercise"] not in p.lost for p in taken), g
        elif g["students"] != sorted([REFUSER, COPIER]):  # one graded source
            assert len({p.round for p in taken}) == 1, g


def test_both_editions_are_in_the_class(planted, english):
    tables, _out = english
    editions = {(r["student"], r["edition"]) for r in tables["submissions"]}
    assert {e for s, e in editions if s in KOREAN} == {"ko"}
    assert {e for s, e in editions if s not in KOREAN} == {"en"}
    assert len(tables["submissions"]) == sum(len(w) for w in planted.values())


@pytest.fixture(scope="module")
def korean(graded_class, tmp_path_factory) -> tuple[dict, Path]:
    """The report in Korean, names hidden (to show it in class)."""
    out = tmp_path_factory.mktemp("report-ko")
    args = ("--workdir", str(graded_class), "--out", str(out), "--lang", "ko")
    return report(*args, "--anonymous"), out


def test_korean_anonymous_report_names_nobody(planted, korean):
    tables, out = korean
    page = (out / "report.html").read_text(encoding="utf-8")
    with i18n.use("ko"):
        title = i18n._("What the class got wrong")
        names = pseudonyms(list(planted))
    assert re.search(r"[가-힣]", title) and title in page and 'lang="ko"' in page
    for path in out.iterdir():
        assert "learner-" not in path.read_text(encoding="utf-8"), path.name
    assert {r["student"] for r in tables["students"]} == set(names.values())


def test_postgres_gradebook_gives_the_same_report(
    graded_class, planted, english, postgres, tmp_path
):
    url = postgres.create("report_class")
    copy_assignments(gradebook_of(graded_class), url, ASSIGNMENTS)
    enrol(url, graded_class, report_plan.sources(planted), copy=False)
    tables = report(
        "--workdir",
        str(graded_class),
        "--db",
        url,
        "--out",
        str(tmp_path),
        "--lang",
        "en",
    )
    assert tables == english[0]


def test_bad_input_is_one_line(graded_class, tmp_path):
    missing = run_cli("report", "--workdir", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert "no gradebook at" in one_line_error(missing.stderr)
    url = f"postgresql://grader:secret@127.0.0.1:{free_port()}/grades"
    unreachable = run_cli("report", "--workdir", str(tmp_path), "--db", url)
    assert unreachable.returncode == 2
    line = one_line_error(unreachable.stderr)
    assert "cannot reach the server" in line and "secret" not in line


def test_a_corrupt_graded_notebook_is_reported_and_the_rest_analysed(
    graded_class, english, tmp_path
):
    workdir = tmp_path / "course"
    shutil.copytree(graded_class, workdir)
    broken = workdir / "autograded" / REFUSER / EXTRA / f"{EXTRA}.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "report", "--workdir", str(workdir), "--out", str(out), "--lang", "en"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "corrupt JSON" in result.stderr and str(broken) in result.stderr
    tables = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [(p["student"], p["assignment"]) for p in tables["problems"]] == [
        (REFUSER, EXTRA)
    ]
    before = {(r["student"], r["assignment"]): r for r in english[0]["submissions"]}
    for row in tables["submissions"]:  # every score still counted
        key = (row["student"], row["assignment"])
        if key == (REFUSER, EXTRA):  # its notebook unread, its points counted
            assert "corrupt JSON" in row["problem"]
            kept = ("points", "max_points")
            was = before.pop(key)
            assert [row[k] for k in kept] == [was[k] for k in kept]
            continue
        assert row == before.pop(key)
    assert not before

    def without_rank(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "help_rank"} for r in rows]

    others = [r for r in tables["students"] if r["student"] != REFUSER]
    assert without_rank(others) == without_rank(
        [r for r in english[0]["students"] if r["student"] != REFUSER]
    )


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_page_opens_in_chromium_with_every_figure_drawn(request, lang):
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_FLAGS

    tables, out = request.getfixturevalue({"en": "english", "ko": "korean"}[lang])
    page_file = out / "report.html"
    html = page_file.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(
            "() => [...document.images].map(i => i.complete && i.naturalWidth > 0)"
        )
        page.screenshot(path=str(ARTIFACTS / f"report_{lang}.png"))
        top = page.evaluate(
            "id => document.getElementById(id).getBoundingClientRect().top", EXTRA
        )
        section = {"x": 0, "y": top - 8, "width": 1300, "height": 1500}
        page.screenshot(
            path=str(ARTIFACTS / f"report_{lang}_{EXTRA}.png"),
            full_page=True,
            clip=section,
        )
        browser.close()
    assert len(images) == 2 + len(ASSIGNMENTS) and all(images), images
    assert not errors, errors
    for row in tables["misconceptions"]:  # the messages as the students read them
        assert escape(row["message"]) in html, row


def test_on_the_hub_it_finds_the_course_folder_from_home(graded_class, tmp_path):
    """The instructor's terminal on the hub: `lstm-course report` in their home
    finds ~/lstm-course (gradebook, graded notebooks, the masters in source/)."""
    home = tmp_path / "home"
    hub = home / "lstm-course"
    shutil.copytree(graded_class, hub)
    shutil.copytree(course.MASTERS, hub / "source")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "report", "--lang", "en"],
        cwd=home,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(hub / "report" / "report.html") in done.stdout
    assert (hub / "report" / "students.csv").is_file()


def test_identical_code_is_the_same_shape_whatever_its_names_and_layout():
    one = report_plan.JON_GATES
    other = report_plan.KIM_GATES
    assert similar.shape(one) == similar.shape(other)
    assert similar.shape(one).is_code and similar.shape(one).nodes >= similar.MIN_NODES
    swapped = one.replace("torch.tanh(c)", "torch.tanh(d)")
    assert similar.shape(swapped) != similar.shape(one)
    assert similar.shape("predicted = (3, 5)") is not None
    assert not similar.shape("predicted = (3, 5)").is_code
    assert similar.shape("def broken(:") is None


def test_after_lstm_course_grade_its_workdir_is_the_class(tmp_path):
    """`lstm-course grade … --workdir W` leaves a class `report --workdir W` reads
    (here the two notebooks graded for this class), one assignment if asked."""
    out = tmp_path / "out"
    workdir = str(report_plan.extra_batch())
    tables = report(EXTRA, "--workdir", workdir, "--out", str(out), "--lang", "en")
    assert [r["assignment"] for r in tables["assignments"]] == [EXTRA]
    assert {r["student"] for r in tables["students"]} == {REFUSER, COPIER}
    assert {r["student"] for r in tables["incidents"]} == {REFUSER}
    missing = run_cli("report", "07_training", "--workdir", workdir)
    assert missing.returncode == 2
    assert "no graded submissions of 07_training" in one_line_error(missing.stderr)
