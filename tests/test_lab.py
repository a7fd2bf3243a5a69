"""`make lab` and `make lab-instructor`: a taken port gets a clear message instead of
a traceback. (What each lab shows is tested in a real browser: test_browser.py.)"""

import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("target", ["lab", "lab-instructor"])
def test_make_lab_refuses_a_taken_port_with_a_clear_message(target):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(
            ["make", "--no-print-directory", target, f"PORT={port}", "BROWSER=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode != 0
    assert f"port {port} is already in use" in run.stderr
    assert f"make {target} PORT={port + 1}" in run.stderr
    assert "Traceback" not in run.stderr


def test_make_lab_rejects_a_missing_notebooks_folder():
    run = subprocess.run(
        ["make", "--no-print-directory", "lab", "NOTEBOOKS=/nonexistent", "BROWSER=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "/nonexistent is not a folder of notebooks" in run.stderr
