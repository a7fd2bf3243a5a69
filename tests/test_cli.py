"""The `lstm-course` CLI: check, grade, release, and one clear line for bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from grading import batches, harness
from grading.batches import FIXTURE, FIXTURE_MASTERS, FIXTURE_TIMEOUT, OTHER
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.grading import course

FIXTURE_ARGS = ["--masters", str(FIXTURE_MASTERS), "--timeout", str(FIXTURE_TIMEOUT)]
MISTAKE = harness.catalog(batches.FIXTURE_CATALOGS / f"{FIXTURE}.toml", FIXTURE)[0]


@pytest.fixture(scope="module")
def batch() -> batches.Batch:
    return batches.fixture_batch()


def submitted(batch, student: str, assignment: str = FIXTURE) -> Path:
    return batch.submissions / student / assignment / f"{assignment}.ipynb"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_check_json_matches_plain_nbgrader_autograde(batch, tmp_path):
    """The score `check --json` reports is the score plain `nbgrader autograde`
    (its own command line, a fresh course, default settings) records."""
    learner = tmp_path / "learner" / "my notebook.ipynb"
    learner.parent.mkdir()
    shutil.copyfile(submitted(batch, MISTAKE.student), learner)
    before = sha256(learner), learner.stat().st_mtime_ns

    result = run_cli("check", str(learner), "--json", *FIXTURE_ARGS)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (sha256(learner), learner.stat().st_mtime_ns) == before

    root = tmp_path / "plain"
    flags = [
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.source_directory={FIXTURE_MASTERS}",
        "--CourseDirectory.course_id=plain",
    ]
    student = root / "submitted" / "learner" / FIXTURE
    student.mkdir(parents=True)
    shutil.copyfile(learner, student / f"{FIXTURE}.ipynb")
    for step in (["generate_assignment", FIXTURE], ["autograde", FIXTURE]):
        done = subprocess.run(
            ["nbgrader", *step, *flags], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr[-2000:]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "plain") as gb:
        grades = gb.find_submission_notebook(FIXTURE, FIXTURE, "learner").grades
        rows = [(g.name, g.score) for g in grades]
    assert {c["grade_id"]: c["score"] for c in report["cells"]} == dict(rows)
    assert report["score"] == sum(score for _, score in rows) < report["max_score"]
    assert report["assignment"] == FIXTURE


def test_check_prints_a_table_per_exercise(batch, capsys):
    code = main(["check", str(submitted(batch, MISTAKE.student)), *FIXTURE_ARGS])
    out = capsys.readouterr().out
    assert code == 0
    assert "scale     0/3     scale(x, k) added k instead of multiplying by it" in out
    assert "squash    3/3     ✓ squash matches" in out
    assert "total  3/6  (00_fixture)" in out


def test_check_several_notebooks_prints_progress(batch, capsys, monkeypatch, tmp_path):
    for assignment in (FIXTURE, OTHER):
        target = tmp_path / assignment / f"{assignment}.ipynb"
        target.parent.mkdir()
        shutil.copyfile(submitted(batch, "filled", assignment), target)
    monkeypatch.setattr(course, "RELEASE", tmp_path)
    code = main(["check", *FIXTURE_ARGS])  # no paths: every notebook under RELEASE
    out = capsys.readouterr().out
    assert code == 0
    assert "00_fixture  6/6" in out and "00_other    2/2" in out
    assert "total  8/8" in out


def test_check_names_the_assignment_a_misnamed_notebook_holds(batch, capsys, tmp_path):
    misnamed = tmp_path / f"{FIXTURE}.ipynb"
    shutil.copyfile(submitted(batch, "filled", OTHER), misnamed)
    code = main(["check", str(misnamed), "--json", *FIXTURE_ARGS])
    captured = capsys.readouterr()
    assert json.loads(captured.out)["assignment"] == OTHER
    assert f"holds the exercises of {OTHER}" in one_line_error(captured.err)
    assert code == 1


def test_check_kernel_death_still_grades_the_rest(batch, capsys):
    code = main(
        ["check", str(submitted(batch, "kernel-dies")), "--json", *FIXTURE_ARGS]
    )
    report = json.loads(capsys.readouterr().out)
    scores = {c["grade_id"]: c["score"] for c in report["cells"]}
    assert code == 0
    assert scores == {
        "test-scale": 1,
        "test-scale-hidden": 2,
        "test-squash": 0,
        "test-squash-hidden": 0,
    }


def test_check_whose_master_imports_fail_says_so_and_leaves_no_kernel(
    batch, capsys, tmp_path
):
    """The grader imports the master's modules while the learner's kernel boots:
    when one is missing, check says which, and that kernel is gone."""
    masters = tmp_path / "masters"
    shutil.copytree(FIXTURE_MASTERS / FIXTURE, masters / FIXTURE)
    master_path = masters / FIXTURE / f"{FIXTURE}.ipynb"
    master = nbformat.read(master_path, as_version=4)
    master.cells.insert(1, nbformat.v4.new_code_cell("import fixture_helpers_gone"))
    nbformat.write(master, master_path)
    args = ["--masters", str(masters), "--timeout", str(FIXTURE_TIMEOUT)]
    code = main(["check", str(submitted(batch, "filled")), "--json", *args])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "the master's imports fail in the grader" in report["problem"]
    assert "fixture_helpers_gone" in report["problem"]
    assert report["score"] == 0
    children = subprocess.run(
        ["pgrep", "-a", "-P", str(os.getpid())], capture_output=True, text=True
    ).stdout.splitlines()
    kernels = [line for line in children if "bwrap" in line or "kernel" in line]
    assert kernels == [], f"kernels left behind: {kernels}"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: None, "no such notebook"),
        (lambda p: p.write_text('{"cells": [', encoding="utf-8"), "not a readable"),
        (lambda p: nbformat.write(nbformat.v4.new_notebook(), p), "not a notebook of"),
    ],
    ids=["missing", "corrupt-json", "foreign"],
)
def test_check_bad_input_is_one_line(tmp_path, capsys, make, says):
    path = tmp_path / "work.ipynb"
    make(path)
    code = main(["check", str(path), *FIXTURE_ARGS])
    assert code == 2
    assert says in one_line_error(capsys.readouterr().err)


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="no such notebook"):
        main(["check", str(tmp_path / "nope.ipynb"), "--debug", *FIXTURE_ARGS])


def test_grade_a_zip_in_parallel(batch, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for student in ("filled", MISTAKE.student, "corrupt-json"):
            path = submitted(batch, student)
            z.write(path, f"class/{student}/{FIXTURE}/{FIXTURE}.ipynb")
    workdir = tmp_path / "course"
    result = run_cli(
        "grade", str(archive), "--jobs", "2", "--workdir", str(workdir), *FIXTURE_ARGS
    )
    assert result.returncode == 0, result.stderr
    assert "graded 3 submission(s), 1 with problems" in result.stdout
    assert "filled" in result.stdout and "6/6" in result.stdout
    assert "grading" in result.stderr  # the progress bar
    assert (workdir / "grades.csv").is_file() and (workdir / "gradebook.db").is_file()
    for student in ("filled", MISTAKE.student):
        page = workdir / "feedback" / student / FIXTURE / f"{FIXTURE}.html"
        assert page.is_file()


def test_grade_bad_input_is_one_line(tmp_path):
    result = run_cli("grade", str(tmp_path / "missing"), *FIXTURE_ARGS)
    assert result.returncode == 2
    assert "no such folder or zip" in one_line_error(result.stderr)


def test_release_regenerates_and_check_finds_drift(tmp_path, capsys):
    target = tmp_path / "notebooks"
    args = ["release", "--target", str(target), *FIXTURE_ARGS]
    assert main(args) == 0
    released = target / FIXTURE / f"{FIXTURE}.ipynb"
    assert "NotImplementedError" in released.read_text()
    assert main([*args, "--check"]) == 0

    released.write_text(released.read_text().replace("YOUR CODE HERE", "edited"))
    before = sha256(released)
    capsys.readouterr()
    assert main([*args, "--check"]) == 1
    assert f"out of date: {released}" in capsys.readouterr().out
    assert sha256(released) == before


def test_committed_release_is_in_sync_with_the_masters():
    result = run_cli("release", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_m_autograder_and_console_script_agree():
    for command in ([sys.executable, "-m", "autograder"], ["lstm-course"]):
        result = subprocess.run([*command, "--help"], capture_output=True, text=True)
        assert result.returncode == 0
        assert all(
            c in result.stdout for c in ("release", "solutions", "check", "grade")
        )


def test_solutions_proves_masters_and_keeps_executed_copies(tmp_path, capsys):
    executed = tmp_path / "executed"
    code = main(["solutions", OTHER, "--executed", str(executed), *FIXTURE_ARGS])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "00_other    2/2     0/2      ok" in out
    nb = nbformat.read(executed / OTHER / f"{OTHER}.ipynb", as_version=4)
    assert any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_solutions_rejects_an_unknown_assignment(capsys):
    assert main(["solutions", "99_nothing", *FIXTURE_ARGS]) == 2
    assert "no assignment '99_nothing'" in one_line_error(capsys.readouterr().err)


def test_translations_are_fresh_and_update_leaves_them_unchanged():
    """`translations --update` on up-to-date catalogs writes nothing (they are in
    Babel's own format), and `translations` finds nothing missing or stale."""
    result = run_cli("translations", "--update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "updated" not in result.stdout, result.stdout
    catalogs = len(course.assignments()) + 1
    assert f"ko: {catalogs} of {catalogs} catalogs up to date" in result.stdout


HANGUL = "[가-힣]"


def test_check_speaks_the_notebooks_edition_or_the_language_asked(tmp_path):
    """A Korean notebook is reported in Korean; `--lang ko` reports an English one
    in Korean; the points are the same."""
    assignment = "06_backprop_through_lstm"
    korean, english = tmp_path / "ko.ipynb", tmp_path / "en.ipynb"
    shutil.copyfile(
        course.release_of("ko") / assignment / f"{assignment}.ipynb", korean
    )
    shutil.copyfile(course.RELEASE / assignment / f"{assignment}.ipynb", english)
    results = [
        run_cli("check", str(korean)),
        run_cli("check", "--lang", "ko", str(english)),
    ]
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
        header, *rows, total = result.stdout.strip().splitlines()
        assert re.search(HANGUL, header) and "exercise" not in header, header
        assert rows and all(re.search(HANGUL, row) for row in rows if "0/" in row), rows
    assert results[0].stdout.splitlines()[-1] == results[1].stdout.splitlines()[-1]


def test_the_korean_edition_is_an_nbgrader_course(tmp_path):
    """From a copy of ko/, nbgrader's own commands generate the committed Korean
    release and release it to the exchange."""
    assignment = "06_backprop_through_lstm"
    edition = tmp_path / "ko"
    shutil.copytree(
        course.ROOT / "ko", edition, ignore=shutil.ignore_patterns(".course")
    )
    committed = (
        edition / "notebooks" / assignment / f"{assignment}.ipynb"
    ).read_bytes()
    for step in ("generate_assignment", "release_assignment"):
        result = subprocess.run(
            [sys.executable, "-m", "nbgrader", step, assignment, "--force"],
            cwd=edition,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    released = edition / "notebooks" / assignment / f"{assignment}.ipynb"
    assert released.read_bytes() == committed
    outbound = edition / ".course" / "exchange" / "lstm-course-ko" / "outbound"
    assert (outbound / assignment / f"{assignment}.ipynb").is_file()
