"""`make lab`: open JupyterLab on the course, ready to work.

    python -m autograder.lab [--port 8888] [--no-browser] [--root notebooks]
                             [--instructor] [--lang ko]

A learner's lab shows what a learner uses: nbgrader's Validate button and assignment
list, without the instructor's Create Assignment sidebar, Formgrader and course
list, and without JupyterLab's "get notified about Jupyter news?" popup. With
`--instructor` (`make lab-instructor`, on the whole course) the formgrader and the
assignment tools are there too. Each lab gets its own page config (the plugins on
or off) for that run only; nothing in the environment is changed.

`--lang ko` (`make lab LANG=ko`) opens the Korean edition: its release
`ko/notebooks/` (or with `--instructor` its course `ko/`), with the checks' feedback
in Korean.

Refuses a port that is taken with a message that says what to do, and starts
JupyterLab from the edition's course folder (so nbgrader reads its
`nbgrader_config.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LEARNER_PLUGINS = (
    "@jupyter/nbgrader:validate-assignment",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
)
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
)
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
NEWS = "@jupyterlab/apputils-extension:announcements"  # the news popup, for nobody


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


def lab_config(instructor: bool) -> dict[str, dict]:
    """The Jupyter config files of one lab: {file name: content}."""
    disabled = dict.fromkeys(LEARNER_PLUGINS, False)
    disabled |= dict.fromkeys(INSTRUCTOR_PLUGINS, not instructor)
    disabled[NEWS] = True
    servers = dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, instructor)
    return {
        "labconfig/page_config.json": {"disabledExtensions": disabled},
        "jupyter_server_config.json": {"ServerApp": {"jpserver_extensions": servers}},
    }


def write_config(folder: Path, instructor: bool) -> None:
    for name, content in lab_config(instructor).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content, indent=2))


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
    parser.add_argument("--root", type=Path, default=None, help="default: notebooks/")
    parser.add_argument(
        "--instructor",
        action="store_true",
        help="the formgrader and the assignment tools, on the whole course",
    )
    parser.add_argument("--lang", choices=("en", "ko"), default="en", help="edition")
    parser.add_argument("--token", default=None, help="a fixed login token (tests)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    course = REPO if args.lang == "en" else REPO / args.lang
    if args.root is None:
        # The formgrader wants the course (the repository) inside the lab's root.
        args.root = course if args.instructor else course / "notebooks"
    name = "make lab-instructor" if args.instructor else "make lab"
    try:
        if not args.root.is_dir():
            raise LabError(f"{args.root} is not a folder of notebooks")
        if not port_is_free(args.port):
            raise LabError(
                f"port {args.port} is already in use (another JupyterLab?): "
                f"stop it or pick another port, e.g. `{name} PORT={args.port + 1}`"
            )
    except LabError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 1
    command = lab_command(
        args.port, args.root.resolve(), not args.no_browser, args.token
    )
    who = "instructor" if args.instructor else "learner"
    print(
        f"JupyterLab ({who}) on http://127.0.0.1:{args.port}/lab (Ctrl-C to stop)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix=f"lstm-lab-{who}-") as config:
        write_config(Path(config), args.instructor)
        # This lab's config first; nbgrader's server extensions read
        # nbgrader_config.py from the working folder and the Jupyter config path.
        env = dict(os.environ, LSTM_COURSE_LANG=args.lang)
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            p for p in (config, str(course), env.get("JUPYTER_CONFIG_PATH", "")) if p
        )
        try:
            return subprocess.call(command, cwd=course, env=env)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
