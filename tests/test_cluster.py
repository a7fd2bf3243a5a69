"""`lstm-course grade --cluster`: a real Dask scheduler and two workers on loopback
grade a class into a real PostgreSQL gradebook, exactly as local jobs do, and
survive a worker killed mid-class."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cluster import (
    CLASS,
    Cluster,
    KernelWatch,
    copy_class,
    csv_rows,
    local_scores,
    scores_in,
    submissions_in,
    wait_for_kernels,
)
from grading import batches
from postgres import free_port
from test_cli import FIXTURE_ARGS, one_line_error, run_cli


@pytest.fixture(scope="module")
def batch() -> batches.Batch:
    return batches.fixture_batch()  # the same class graded locally, --jobs 2


@pytest.fixture
def dask(tmp_path):
    (tmp_path / "dask").mkdir()
    running = Cluster(tmp_path / "dask", workers=2)
    yield running
    running.stop()


def grade_args(folder, workdir, address: str, url: str) -> list[str]:
    return [
        "grade",
        str(folder),
        "--cluster",
        address,
        "--db",
        url,
        "--workdir",
        str(workdir),
        *FIXTURE_ARGS,
    ]


def assert_same_as_local(batch, members, url, server, database, workdir) -> None:
    """Every grade as local grading gave it, each submission exactly once."""
    assert scores_in(url, members) == local_scores(batch, members)
    assert csv_rows(workdir / "grades.csv", members) == csv_rows(batch.csv, members)
    assert submissions_in(server, database) == dict.fromkeys(members, 1)


def test_class_graded_on_the_cluster_equals_local_grading(
    batch, dask, postgres, tmp_path
):
    folder = copy_class(batch, tmp_path / "class")
    url, workdir = postgres.create("cluster_class"), tmp_path / "course"
    watch = KernelWatch(dask.workers)
    result = run_cli(*grade_args(folder, workdir, dask.address, url))
    kernels = watch.stop()
    assert result.returncode == 0, result.stderr
    problems = sum(bool(batch.outcome(s, a).problem) for s, a in CLASS)
    assert f"graded {len(CLASS)} submission(s), {problems} with problems" in (
        result.stdout
    )
    assert "grading" in result.stderr  # the progress bar, as locally
    assert_same_as_local(batch, CLASS, url, postgres, "cluster_class", workdir)
    assert all(kernels.values()), "both workers graded"
    for student, assignment in CLASS:
        page = workdir / "feedback" / student / assignment / f"{assignment}.html"
        assert page.is_file() == (student != "corrupt-json"), page


def test_a_worker_killed_mid_class_costs_nothing(batch, dask, postgres, tmp_path):
    members = [m for m in CLASS if m[0] != "corrupt-json"][:8]
    folder = copy_class(batch, tmp_path / "class", members)
    url, workdir = postgres.create("killed_worker"), tmp_path / "course"
    args = grade_args(folder, workdir, dask.address, url)
    grading = subprocess.Popen(
        [sys.executable, "-m", "autograder", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    victim = dask.workers[0]
    wait_for_kernels(victim, 2, grading)  # one graded, the next one mid-way
    dask.kill(victim)
    out, err = grading.communicate(timeout=900)
    assert grading.returncode == 0, err
    assert f"graded {len(members)} submission(s)" in out
    assert len(dask.client.scheduler_info()["workers"]) == 1
    assert_same_as_local(batch, members, url, postgres, "killed_worker", workdir)


def test_unreachable_scheduler_is_one_line_before_grading(batch, tmp_path):
    folder = copy_class(batch, tmp_path / "class", CLASS[:1])
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    workdir = tmp_path / "course"
    result = run_cli(
        "grade",
        str(folder),
        "--cluster",
        address,
        "--workdir",
        str(workdir),
        *FIXTURE_ARGS,
    )
    assert result.returncode == 2
    line = one_line_error(result.stderr)
    assert f"cluster {address}: cannot reach the Dask scheduler" in line
    assert "dask scheduler" in line  # the fix
    assert not (workdir / "autograded").exists()
