"""Plain `nbgrader autograde` with this repository's settings (RestoreCells) fails
another assignment's notebook loudly, as stock nbgrader does, and still grades the
other submissions. (`lstm-course check` and `grade` recognise the assignment first
and give one line instead: tests/test_cli.py::
test_check_names_the_assignment_a_misnamed_notebook_holds and
tests/test_grading_fixture.py::test_bad_submission_gets_one_line_and_a_zero.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from grading.batches import FIXTURE, FIXTURE_MASTERS, OTHER
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parent.parent
CONFIG = """
from autograder.grading import options

c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {masters!r}
c.CourseDirectory.course_id = "plain"
options.apply(c, sealed=False)
"""


def nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{REPO}/.venv/bin:" + os.environ["PATH"]}
    return subprocess.run(
        ["nbgrader", *args], cwd=root, capture_output=True, text=True, env=env,
        timeout=600,
    )  # fmt: skip


def submit(root: Path, student: str, notebook: Path) -> None:
    folder = root / "submitted" / student / FIXTURE
    folder.mkdir(parents=True)
    shutil.copyfile(notebook, folder / f"{FIXTURE}.ipynb")


def test_plain_autograde_fails_another_assignments_notebook_loudly(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    config = CONFIG.format(root=str(root), masters=str(FIXTURE_MASTERS))
    (root / "nbgrader_config.py").write_text(config)
    assert nbgrader(root, "generate_assignment", FIXTURE).returncode == 0
    submit(root, "right", FIXTURE_MASTERS / FIXTURE / f"{FIXTURE}.ipynb")
    submit(root, "foreign", FIXTURE_MASTERS / OTHER / f"{OTHER}.ipynb")

    done = nbgrader(root, "autograde", FIXTURE)

    assert done.returncode != 0, done.stderr[-2000:]
    said = done.stdout + done.stderr
    assert f"{FIXTURE}.ipynb is not a notebook of {FIXTURE}" in said, said[-2000:]
    assert "ForeignNotebook" in said
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "plain") as gb:
        right = gb.find_submission_notebook(FIXTURE, FIXTURE, "right")
        assert right.score == right.max_score > 0  # the others are still graded
    assert (root / "autograded" / "right" / FIXTURE).is_dir()
    assert not (root / "autograded" / "foreign" / FIXTURE).exists()
