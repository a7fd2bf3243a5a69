"""The code and the masters are clean under ruff (config in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINTED = [
    "lstm_ref",
    "autograder",
    "tests",
    "benchmarks",
    "solutions",
    "ko/nbgrader_config.py",
    "nbgrader_config.py",
    "classroom",
]


def test_ruff_finds_nothing():
    # Releases are not linted: nbgrader's stubs leave names undefined on purpose.
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *LINTED],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_finds_nothing_in_the_korean_masters_but_long_words():
    """The Korean masters' code is the English code (tests/test_translations.py);
    only a translated literal may make a line longer than the English one."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--extend-ignore",
            "E501",
            "ko/solutions",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_layers_of_autograder_hold():
    """The import-linter contracts in pyproject.toml (layers by job, no cycles,
    lstm_ref alone); a broken one is printed with the import that breaks it."""
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[run.stdout.find("Broken contracts") :]
    assert "0 broken" in run.stdout


def test_no_module_of_the_course_is_over_600_lines():
    too_long = {
        str(path.relative_to(REPO)): n
        for path in sorted((REPO / "autograder").rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not too_long, f"split along a real seam: {too_long}"
