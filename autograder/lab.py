"""`make lab`: open JupyterLab on the course, ready to work.

    python -m autograder.lab [--port 8888] [--no-browser] [--root notebooks]

Enables the nbgrader plugins a learner needs (the Validate button and the assignment
list), refuses a port that is taken with a message that says what to do, and starts
JupyterLab from the repository root (so nbgrader reads `nbgrader_config.py`) showing
only the student release.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LEARNER_PLUGINS = (
    "@jupyter/nbgrader:validate-assignment",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
)


class LabError(Exception):
    """A problem the learner can fix; printed as one line."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def jupyter(*args: str) -> list[str]:
    """A `jupyter` command from this environment, whatever PATH says."""
    return [sys.executable, "-m", "jupyter", *args]


def enable_learner_plugins() -> None:
    for plugin in LEARNER_PLUGINS:
        subprocess.run(
            jupyter("labextension", "enable", "--level=sys_prefix", plugin),
            check=True,
            capture_output=True,
        )


def lab_command(port: int, root: Path, browser: bool, token: str | None) -> list[str]:
    command = jupyter(
        "lab",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
    )
    if not browser:
        command.append("--no-browser")
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if os.geteuid() == 0:  # containers and CI run as root
        command.append("--allow-root")
    return command


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make lab", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--root", type=Path, default=REPO / "notebooks")
    parser.add_argument("--token", default=None, help="a fixed login token (tests)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        if not args.root.is_dir():
            raise LabError(f"{args.root} is not a folder of notebooks")
        if not port_is_free(args.port):
            raise LabError(
                f"port {args.port} is already in use (another JupyterLab?): "
                f"stop it or pick another port, e.g. `make lab PORT={args.port + 1}`"
            )
        enable_learner_plugins()
    except LabError as error:
        print(f"make lab: {error}", file=sys.stderr)
        return 1
    # nbgrader's server extensions read nbgrader_config.py from the working folder and
    # from the Jupyter config path: point both at the course.
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("JUPYTER_CONFIG_PATH", "")) if p
    )
    command = lab_command(
        args.port, args.root.resolve(), not args.no_browser, args.token
    )
    print(
        f"JupyterLab on http://127.0.0.1:{args.port}/lab (Ctrl-C to stop)", flush=True
    )
    try:
        return subprocess.call(command, cwd=REPO, env=env)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
