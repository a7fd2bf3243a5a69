"""A PostgreSQL gradebook (a real server, started by the tests): checked before
any grading, shared by two `lstm-course grade` runs at once, read by plain
nbgrader through LSTM_COURSE_DB."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from cluster import CLASS, copy_class, csv_rows, environment, submissions_in
from grading import batches
from grading.batches import FIXTURE, OTHER
from postgres import PASSWORD, USER, free_port
from test_cli import FIXTURE_ARGS, one_line_error, run_cli

from autograder.grading import course, gradebook


@pytest.fixture(scope="module")
def batch() -> batches.Batch:
    return batches.fixture_batch()  # the whole class graded in one local run


def test_shown_url_hides_the_password():
    shown = gradebook.shown("postgresql://grader:pa55@db.example:5432/grades")
    assert shown == "postgresql://grader@db.example:5432/grades"
    unparsable = "postgresql://grader:pa55@host:port/grades"
    assert gradebook.shown(unparsable) == "postgresql://grader@host:port/grades"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            lambda pg: pg.url("postgres", password="wrong-password"),
            f"the server refused the login of user '{USER}'",
        ),
        (
            lambda pg: pg.url("postgres").replace(str(pg.port), str(free_port())),
            "cannot reach the server",
        ),
        (lambda pg: pg.url("no_such_db"), "database 'no_such_db' does not exist"),
    ],
    ids=["wrong-password", "nobody-listening", "missing-database"],
)
def test_unusable_gradebook_is_one_line_before_grading(
    batch, postgres, tmp_path, url, says
):
    url = url(postgres)
    folder = copy_class(batch, tmp_path / "class", CLASS[:1])
    workdir = tmp_path / "course"
    result = run_cli(
        "grade", str(folder), "--db", url, "--workdir", str(workdir), *FIXTURE_ARGS
    )
    assert result.returncode == 2
    line = one_line_error(result.stderr)
    assert f"gradebook {gradebook.shown(url)}: {says}" in line
    assert "wrong-password" not in line and PASSWORD not in line
    assert not (workdir / "release").exists()  # nothing released, nothing graded


def test_two_runs_at_once_share_one_gradebook(batch, postgres, tmp_path):
    """Two grading machines, each given half of the class, start together."""
    url = postgres.create("two_halves")
    halves = [CLASS[0::2], CLASS[1::2]]
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder",
                "grade",
                str(copy_class(batch, tmp_path / f"half{n}", half)),
                "--db",
                url,
                "--workdir",
                str(tmp_path / f"machine{n}"),
                "--quiet",
                *FIXTURE_ARGS,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, half in enumerate(halves)
    ]
    for run in runs:
        out, err = run.communicate(timeout=900)
        assert run.returncode == 0, err
    assert submissions_in(postgres, "two_halves") == dict.fromkeys(CLASS, 1)

    # Plain nbgrader, configured by nbgrader_config.py, exports the shared gradebook.
    exported = tmp_path / "grades.csv"
    done = subprocess.run(
        ["nbgrader", "export", "--to", str(exported)],
        cwd=course.ROOT,
        env={**environment(), gradebook.ENV: url},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # a row per student and assignment, as in the one run of the whole class
    every = {(s, a) for s, _ in CLASS for a in (FIXTURE, OTHER)}
    assert set(csv_rows(exported)) == every
    theirs, ours = csv_rows(exported, every), csv_rows(batch.csv, every)
    # nbgrader's own columns agree; `grade` adds its incidents column after them
    assert set(ours[next(iter(every))]) - set(theirs[next(iter(every))]) == {
        "incidents"
    }
    assert theirs == {k: {c: row[c] for c in theirs[k]} for k, row in ours.items()}


def test_runs_sharing_a_gradebook_take_turns(postgres):
    """While one run holds the gradebook, another waits for it (and only then)."""
    url, order = postgres.create("turns"), []
    with gradebook.exclusive(url, course.COURSE_ID):
        other = threading.Thread(target=take_turn, args=(url, order))
        other.start()
        other.join(timeout=3)
        assert other.is_alive()  # waiting
        order.append("first done")
    other.join(timeout=60)
    assert order == ["first done", "second"]


def take_turn(url: str, order: list[str]) -> None:
    with gradebook.exclusive(url, course.COURSE_ID):
        order.append("second")
