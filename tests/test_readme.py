"""The README, followed word for word.

Every command in the README's bash blocks is run by a test: the instructors' nbgrader
workflow and the self-study `check` command run here, literally, in a copy of the
repository; the others are named in `RUN_ELSEWHERE` with the test file that runs them.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from grading import harness

from autograder.editions import points

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
ASSIGNMENT = "06_backprop_through_lstm"
STUDENT = pwd.getpwuid(os.getuid()).pw_name  # nbgrader submits as the login user

# Commands run by other tests (or CI itself): command prefix -> the test that runs it.
RUN_ELSEWHERE = {
    "make lab": "tests/test_browser.py::"
    "test_validate_button_reports_on_a_learner_notebook",
    "make lab LANG=ko": "tests/test_browser.py::"
    "test_korean_release_speaks_korean_in_jupyterlab",
    ".venv/bin/lstm-course translations": "tests/test_cli.py::"
    "test_translations_are_fresh_and_update_leaves_them_unchanged",
    "make test": ".ci/run",
    ".venv/bin/lstm-course check": "tests/test_cli.py::"
    "test_check_several_notebooks_prints_progress",
    ".venv/bin/lstm-course grade": "tests/test_cli.py::test_grade_a_zip_in_parallel",
    ".venv/bin/lstm-course release --check": "tests/test_cli.py::"
    "test_committed_release_is_in_sync_with_the_masters",
    ".venv/bin/lstm-course release": "tests/test_cli.py::"
    "test_release_regenerates_and_check_finds_drift",
    ".venv/bin/lstm-course solutions": "tests/test_readme.py::"
    "test_solutions_proves_a_master",
    "make classroom": "tests/test_classroom.py::test_a_class_on_jupyterhub",
    "classroom/add-user.sh": "tests/test_classroom.py::test_a_class_on_jupyterhub",
    "dask scheduler": "tests/cluster.py::start",
    ".venv/bin/dask worker": "tests/cluster.py::start",
    ".venv/bin/lstm-course grade submissions/ --cluster": "tests/test_cluster.py::"
    "test_class_graded_on_the_cluster_equals_local_grading",
}


def bash_blocks() -> list[list[str]]:
    """The commands of each ```bash block: comments and blank lines dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    return [
        [
            line.split(" #")[0].strip()
            for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        for block in blocks
    ]


def instructor_block() -> list[str]:
    return next(b for b in bash_blocks() if b[0].startswith("export PATH="))


def test_every_readme_command_is_run_by_a_test():
    literal = set(instructor_block())
    for block in bash_blocks():
        for command in block:
            if command in literal:
                continue
            prefix = max(
                (p for p in RUN_ELSEWHERE if command.startswith(p)),
                key=len,
                default=None,
            )
            assert prefix, f"README command not run by any test: {command}"
            path, _, test = RUN_ELSEWHERE[prefix].partition("::")
            runner = (REPO / path).read_text()
            assert (f"def {test}(" if test else "make test") in runner, (command, path)


MASTERS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
# "3 points", "(1 point)", "2.5 points": a number of points written by hand.
POINTS_IN_PROSE = re.compile(r"\b\d+(?:\.\d+)? points?\b")


def master(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", 4)


def test_course_map_points_match_the_masters():
    rows = re.findall(r"^\| `(\d\d_\w+)` \|.*?\| (\d+) \|", README, flags=re.M)
    assert rows, "README has no course map"
    listed = {assignment: int(points) for assignment, points in rows}
    assert sorted(listed) == MASTERS
    for assignment, stated in listed.items():
        total = points.total(master(assignment))
        assert total == stated, f"{assignment}: README says {stated}, master {total}"
    totals = {a: points.total(master(a)) for a in MASTERS}
    assert points.updated_readme(README, totals) == README


@pytest.mark.parametrize("assignment", MASTERS)
def test_masters_state_their_points_once_from_the_metadata(assignment):
    """The generated block is the only place a master gives a number of points, and
    it is what the test cells' metadata says (`lstm-course release` rewrites it)."""
    nb = master(assignment)
    assert points.has_block(nb), f"{assignment}: no points block ({points.BEGIN})"
    assert points.updated_master(nb) is None, (
        f"{assignment}: the points block is stale: run `lstm-course release`"
    )
    for cell in nb.cells:
        prose = points.BLOCK.sub("", cell.source)
        stray = [line for line in prose.splitlines() if POINTS_IN_PROSE.search(line)]
        assert not stray, f"{assignment}: points written by hand: {stray}"


def test_changing_points_is_one_edit_and_a_release(tmp_path):
    """Bump one test cell's points in a copy of a master: `points.write` (the first
    step of `lstm-course release`) rewrites its block and the README's course map."""
    assignment = MASTERS[-1]
    folder = tmp_path / "solutions" / assignment
    folder.mkdir(parents=True)
    nb = master(assignment)
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    test_cell.metadata.nbgrader.points += 5
    nbformat.write(nb, folder / f"{assignment}.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    total = points.total(nb)

    stale = points.write([assignment], tmp_path / "solutions", [readme], check=True)
    assert len(stale) == 2 and readme.read_text() == README  # --check only reports
    points.write([assignment], tmp_path / "solutions", [readme], check=False)

    rewritten = nbformat.read(folder / f"{assignment}.ipynb", 4)
    assert points.updated_master(rewritten) is None
    assert f"Total: {total} points." in rewritten.cells[0].source
    assert re.search(rf"^\| `{assignment}` \|.*\| {total} \|", readme.read_text(), re.M)
    assert (
        points.write([assignment], tmp_path / "solutions", [readme], check=True) == []
    )


def copy_repository(target: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".venv",
        ".git",
        ".course",
        "artifacts",
        "solutions_executed",
        "__pycache__",
        ".*cache",
    )
    shutil.copytree(REPO, target, ignore=ignore)
    os.symlink(REPO / ".venv", target / ".venv")
    return target


def bash(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
    )
    assert run.returncode == 0, f"{command}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


def submit_as_student(course: Path, home: Path) -> None:
    """What a student does between release and collect: fetch, solve, submit."""
    home.mkdir()
    who = {"PATH": f"{REPO}/.venv/bin:" + os.environ["PATH"]}
    exchange = f"--Exchange.root={course}/.course/exchange --course lstm-course"
    bash(f"nbgrader fetch_assignment {ASSIGNMENT} {exchange}", home, **who)
    fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    master = nbformat.read(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    nbformat.write(harness.fill(nbformat.read(fetched, 4), master), fetched)
    bash(f"nbgrader submit {ASSIGNMENT} {exchange}", home, **who)


def test_instructor_workflow_word_for_word(tmp_path):
    course = copy_repository(tmp_path / "course")
    for command in instructor_block():
        bash(command.replace("$PWD", str(course)), course)
        if command.startswith("nbgrader release_assignment"):
            submit_as_student(course, tmp_path / "student")
    with open(course / ".course" / "grades.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["student_id"] == STUDENT]
    assert len(rows) == 1 and rows[0]["assignment"] == ASSIGNMENT
    assert float(rows[0]["score"]) == float(rows[0]["max_score"]) > 0, rows[0]
    feedback = course / ".course" / "feedback" / STUDENT / ASSIGNMENT
    assert (feedback / f"{ASSIGNMENT}.html").is_file()
    assert "BEGIN HIDDEN TESTS" not in (feedback / f"{ASSIGNMENT}.html").read_text()


@pytest.mark.parametrize(
    "command",
    [
        c
        for b in bash_blocks()
        for c in b
        if c.startswith(".venv/bin/lstm-course check ")
    ],
)
def test_self_study_check_of_one_notebook(command, tmp_path):
    course = copy_repository(tmp_path / "course")
    target = course / command.split()[-1]
    before = target.read_bytes()
    run = bash(command + " --json", course)
    result = json.loads(run.stdout)
    assert result["assignment"] == ASSIGNMENT and result["score"] == 0
    assert result["max_score"] > 0
    assert target.read_bytes() == before, "check must not modify the learner's file"


def test_solutions_proves_a_master(tmp_path):
    """`lstm-course solutions ID`: the master earns 100%, its release 0%, and an
    executed copy with outputs is written for instructors."""
    run = bash(
        f".venv/bin/lstm-course solutions {ASSIGNMENT} --executed {tmp_path}", REPO
    )
    executed = nbformat.read(tmp_path / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    assert ASSIGNMENT in run.stdout
