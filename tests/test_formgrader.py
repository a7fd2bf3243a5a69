"""The formgrader the README sends instructors to: `jupyter lab` from the repository
root serves nbgrader's formgrader for this course."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_formgrader_lists_the_course_assignments(tmp_path):
    port, token = free_port(), "formgrader-test"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}"):
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "lab.log").read_text()
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/formgrader?token={token}") as page:
            assert page.status == 200
            assert "formgrader" in page.read().decode().lower()
        url = f"{base}/formgrader/api/assignments?token={token}"
        with urllib.request.urlopen(url) as answer:
            names = set(re.findall(r'"name": ?"(\d\d_\w+)"', answer.read().decode()))
        masters = {p.name for p in (REPO / "solutions").iterdir() if p.is_dir()}
        assert masters <= names, f"formgrader lists {names}, masters are {masters}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
