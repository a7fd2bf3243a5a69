"""Sealed grading kernels (autograder/sealed/sandbox.py) and the output and memory
limits (autograder/sealed/limits.py): real kernels in real bubblewrap sandboxes,
probed from the inside and checked from the host."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from grading.sealed import SealedKernel, run_cells
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config.loader import PyFileConfigLoader

from autograder import cli, settings
from autograder.grading import check, course, options
from autograder.sealed import sandbox
from autograder.sealed.limits import CUT

sandbox_readable = sandbox.readable

ROOT = course.ROOT
FIXTURE_MASTERS = Path(__file__).parent / "fixtures" / "course"


class Kernel(SealedKernel):
    """A sealed kernel; `run` returns what the code printed, read as JSON."""

    def run(self, code: str):
        status, said = self.execute(code)
        printed = [s if isinstance(s, str) else s[0] for s in said]
        assert status == "ok", printed
        return json.loads("".join(printed)) if printed else None


PROBE = """
import json, os, socket, sys

def attempt(action):
    try:
        action()
        return "allowed"
    except Exception as error:
        return type(error).__name__

def write(path):
    with open(path, "w") as f:
        f.write("x")
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A course folder on the host: a learner's notebook folder beside other
    students' work and a gradebook."""
    root = tmp_path_factory.mktemp("host")
    folder = root / "autograded" / "alice" / "02_lstm_cell"
    folder.mkdir(parents=True)
    (folder / "side.txt").write_text("alice's data\n")
    (folder / "02_lstm_cell.ipynb").write_text("{}")
    other = root / "submitted" / "bob" / "02_lstm_cell"
    other.mkdir(parents=True)
    (other / "02_lstm_cell.ipynb").write_text("{}")
    (root / "gradebook.db").write_text("")
    return root, folder


@pytest.fixture(scope="module")
def kernels(host):
    _, folder = host
    learner, other = Kernel(folder), Kernel(folder)
    learner.run(PROBE)
    yield learner, other
    learner.close()
    other.close()


def test_bwrap_is_available():
    assert sandbox.available() == ""


def test_kernel_sees_only_what_it_needs(kernels, host):
    learner, other = kernels
    root, folder = host
    hidden = [
        ROOT / "solutions",
        ROOT / "solutions" / "02_lstm_cell" / "02_lstm_cell.ipynb",
        ROOT / ".git",
        ROOT / ".course",
        ROOT / "notebooks",
        Path.home() / ".local",
        Path.home() / ".cache",
        root / "gradebook.db",
        root / "submitted" / "bob",
        folder,
        Path(other.km.connection_file),
        Path(other.km.connection_file).parent,
    ]
    assert all(p.exists() for p in hidden[:3]), "the test needs these on the host"
    paths = [str(p) for p in hidden]
    seen = learner.run(f"print(json.dumps([os.path.exists(p) for p in {paths!r}]))")
    assert [p for p, visible in zip(paths, seen, strict=True) if visible] == []
    # Folders above the bound ones show only the way to them.
    bound = [Path(a) for a in sandbox.readable() if a.startswith("/")]
    for above in (ROOT, Path.home()):
        allowed = {p.relative_to(above).parts[0] for p in bound if above in p.parents}
        listed = learner.run(
            f"print(json.dumps(os.listdir({str(above)!r}) "
            f"if os.path.isdir({str(above)!r}) else []))"
        )
        assert set(listed) <= allowed, (above, listed)
    assert learner.run("print(json.dumps(os.getuid()))") != 0


def test_an_environment_under_tmp_is_seen_through_the_private_tmp(monkeypatch):
    """A checkout or venv that lives under /tmp (as a CI clone may) is bound on top
    of the sandbox's own /tmp, not hidden by it."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        (Path(folder) / "site.py").write_text("print('found')\n")
        bind = ["--ro-bind", folder, folder]
        monkeypatch.setattr(sandbox, "readable", lambda: sandbox_readable() + bind)
        command = [*sandbox.base(1 << 20), "--", sys.executable, f"{folder}/site.py"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.stdout == "found\n", run.stderr


def test_kernel_works_on_a_copy_of_its_folder(kernels, host):
    learner, _ = kernels
    _, folder = host
    seen = learner.run("""
        here = sorted(n for n in os.listdir(".") if not n.startswith("."))
        side = open("side.txt").read()
        write("side.txt"), write("new.txt")
        print(json.dumps([os.getcwd() == os.environ["HOME"], here, side]))
    """)
    assert seen == [True, ["side.txt"], "alice's data\n"]
    assert (folder / "side.txt").read_text() == "alice's data\n"
    assert sorted(os.listdir(folder)) == ["02_lstm_cell.ipynb", "side.txt"]


def test_kernel_cannot_write_outside_its_scratch(kernels, host):
    learner, _ = kernels
    _, folder = host
    marker = f"/tmp/sealed-{uuid.uuid4().hex}"
    targets = [
        folder / "x",
        ROOT / "x",
        ROOT / "autograder" / "x",
        Path(sys.prefix) / "x",
        "/usr/x",
        "/etc/passwd",
        "/dev/x",
        learner.km.connection_file,  # its own, read-only: a restart reads it
    ]
    targets = [str(p) for p in targets]
    results = learner.run(f"""
        print(json.dumps([attempt(lambda: write(str(p))) for p in {targets!r}]
                         + [attempt(lambda: write({marker!r}))]))
    """)
    # A target under /tmp (a checkout there) lands in its own /tmp, if anywhere.
    written = [t for t, r in zip(targets, results, strict=False) if r == "allowed"]
    assert all(t.startswith("/tmp/") for t in written), results
    assert results[-1] == "allowed"  # its own /tmp, not the host's
    assert not any(Path(t).exists() for t in [*written, marker])


def test_kernel_has_no_network(kernels):
    learner, _ = kernels
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        results = learner.run(f"""
            print(json.dumps([
                attempt(lambda: socket.create_connection(("127.0.0.1", {port}), 2)),
                attempt(lambda: socket.create_connection(("1.1.1.1", 53), 2)),
            ]))
        """)
        server.settimeout(0)
        with pytest.raises(BlockingIOError):
            server.accept()
    assert "allowed" not in results, results


def test_memory_and_file_limits(kernels):
    learner, _ = kernels
    results = learner.run(f"""
        import resource
        with open("big", "wb") as f:
            too_big = attempt(lambda: f.truncate({settings.FILE_LIMIT + 1}))
        print(json.dumps([
            attempt(lambda: bytearray(6 << 30)),
            resource.getrlimit(resource.RLIMIT_AS)[0],
            too_big,
        ]))
    """)
    assert results == ["MemoryError", settings.MEMORY_LIMIT, "OSError"]
    assert learner.run("print(json.dumps(6 * 7))") == 42  # it survived


def sleeping(seconds: str) -> list[int]:
    """Host pids of `sleep <seconds>` processes."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().split(b"\0")[:2] == [b"sleep", seconds.encode()]:
                found.append(int(cmdline.parent.name))
        except OSError:
            pass
    return found


START_BACKGROUND = """
import os, subprocess
child = subprocess.Popen(["sleep", "{n}"])
if os.fork() == 0:  # a daemon: double fork, own session
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{n}"])
    os._exit(0)
os.wait()
"""


def test_nothing_outlives_a_kernel(host):
    _, folder = host
    n = str(random.randrange(10**6, 10**7))
    kernel = Kernel(folder)
    private = kernel.km._private
    kernel.run(START_BACKGROUND.format(n=n) + "print(1)")
    deadline = time.monotonic() + 10
    while len(sleeping(n)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sleeping(n)) == 2
    kernel.close()
    assert sleeping(n) == []
    assert private is not None and not private.exists()  # scratch and sockets gone


GRADER = """
import sys
from jupyter_client.utils import run_sync
from autograder.sealed.sandbox import SealedKernelManager
km = SealedKernelManager(kernel_name="python3")
run_sync(km.start_kernel)(cwd=sys.argv[1])
kc = km.client()
kc.start_channels()
run_sync(kc.wait_for_ready)(timeout=120)
run_sync(kc.execute_interactive)(sys.argv[2], output_hook=len, timeout=120)
print("ready", flush=True)
sys.stdin.read()
"""


def test_nothing_outlives_a_grader_that_dies(host):
    _, folder = host
    n = str(random.randrange(10**6, 10**7))
    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER, str(folder), START_BACKGROUND.format(n=n)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert grader.stdout.readline() == "ready\n"
    assert len(sleeping(n)) == 2
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 10
    while sleeping(n) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeping(n) == []


def test_grading_step_in_a_sealed_kernel(host):
    """Timeout interrupts an endless loop (the kernel lives on), a dead kernel is
    restarted with a fresh scratch, output is cut, a memory error names the limit."""
    _, folder = host
    cells = [
        "import os\nfresh = not os.path.exists('flag')\nopen('flag', 'w').close()",
        "os._exit(1)",
        "print(fresh, os.path.exists('flag'))",
        "while True: pass",
        "print(fresh)",
        "print('x' * 3_000_000)\nprint('more')\nraise ValueError('still seen')",
        "bytearray(6 << 30)",
    ]
    outs = run_cells(cells, folder, timeout=5)
    assert outs[1][0].ename == "KernelDied"
    assert outs[2][0].text == "True True\n"  # the replay ran in a fresh scratch
    assert [o.ename for o in outs[3]] == ["KeyboardInterrupt", "CellTimeoutError"]
    assert outs[4][0].text == "True\n"  # the same kernel, after the interrupt
    text = "".join(o.get("text", "") for o in outs[5])
    cut = CUT.format(limit=settings.OUTPUT_LIMIT)
    assert text.endswith(cut) and len(text) == settings.OUTPUT_LIMIT + len(cut)
    assert outs[5][-1].ename == "ValueError"  # errors are never cut
    assert outs[6][0].evalue == (
        "this cell exceeded the grading kernel's memory limit of 4 GiB "
        "(MEMORY_LIMIT in autograder/settings.py)"
    )


def master_cell(source: str, grade_id: str, solution=False, points=0) -> dict:
    meta = {"grade": points > 0, "solution": solution, "locked": not solution}
    meta |= {"points": points, "grade_id": grade_id, "schema_version": 3}
    return new_code_cell(source, metadata={"nbgrader": meta})


def write_master(masters: Path, answer: str) -> Path:
    """A one-exercise master whose test cell uses the course's check core."""
    nb = new_notebook(
        cells=[
            master_cell("import torch\nfrom autograder.checks import core", "setup"),
            master_cell(
                "def scale(x, k):\n    ### BEGIN SOLUTION\n"
                f"    {answer}\n    ### END SOLUTION",
                "scale",
                solution=True,
            ),
            master_cell(
                "x = torch.ones(3)\n"
                "core.expect_close('scale(x, 3.0)', scale(x, 3.0), x * 3.0)",
                "test-scale",
                points=2,
            ),
        ]
    )
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    path = masters / "00_sealed" / "00_sealed.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def test_check_grades_sealed(tmp_path):
    """Real nbgrader autograde through `check`: an answer that is right only
    where the masters are out of sight earns everything."""
    solutions = ROOT / "solutions"
    assert solutions.is_dir()  # unsealed, the answer would be wrong
    write_master(tmp_path / "masters", "return x * k")
    answer = f"import os; return x + k if os.path.exists({str(solutions)!r}) else x * k"
    learner = write_master(tmp_path / "learner", answer)
    (report,) = check.check([learner], tmp_path / "masters", timeout=60)
    assert (report.score, report.max_score, report.problem) == (2, 2, "")


@pytest.fixture
def no_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "no-such-bwrap")
    sandbox.available.cache_clear()
    yield
    sandbox.available.cache_clear()


def test_without_bwrap_grade_refuses_in_one_line(no_bwrap, tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install bubblewrap" in err
    assert "--unsealed" in err


def test_without_bwrap_check_says_it_runs_unsealed(no_bwrap, tmp_path, capsys):
    cli.main(["check", str(tmp_path / "missing.ipynb")])
    first = capsys.readouterr().err.splitlines()[0]
    assert first.endswith("apt-get install bubblewrap; checking unsealed")


def test_unsealed_warns(tmp_path, capsys):
    cli.main(["grade", str(tmp_path / "missing"), "--unsealed"])
    assert "warning: grading kernels run without" in capsys.readouterr().err


def test_without_bwrap_nbgrader_reports_the_line(no_bwrap):
    with course.TempCourse(FIXTURE_MASTERS) as temp:
        master = FIXTURE_MASTERS / "00_fixture" / "00_fixture.ipynb"
        temp.submit("s", "00_fixture", master)
        line = temp.autograde("s", "00_fixture")
    assert line == (
        f"bubblewrap (bwrap) is not installed: {sandbox.FIX}; "
        "or grade unsealed (--unsealed / LSTM_COURSE_UNSEALED=1)"
    )


@pytest.mark.parametrize("env", ["", "1"])
def test_nbgrader_config_is_sealed_unless_opted_out(env, monkeypatch, capsys):
    monkeypatch.setenv(settings.UNSEALED_ENV, env)
    monkeypatch.setattr(options, "_warned", False)
    c = PyFileConfigLoader("nbgrader_config.py", str(ROOT)).load_config()
    assert c.ResilientExecute.sealed == (env == "")  # Validate: the learner's own
    assert ("WARNING" in capsys.readouterr().err) == (env == "1")


def test_scratch_copy_leaves_out_notebooks_and_the_course(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.ipynb").write_text("{}")
    (folder / "link").symlink_to(ROOT / "solutions")
    sandbox.copy_folder(folder, tmp_path / "copy")
    assert sorted(os.listdir(tmp_path / "copy")) == ["link"]
    assert (tmp_path / "copy" / "link").is_symlink()
    sandbox.copy_folder(ROOT, tmp_path / "course")
    assert not (tmp_path / "course").exists()


def test_files_beside_a_submitted_notebook_never_reach_its_kernel(tmp_path):
    """A submission's folder may hold more than its notebook (nbgrader collects it
    whole): IPython startup files, a module named like the library's. None of it
    is code the screen read, so a sealed kernel starts in the master's folder: its
    answers that lean on them fail, and the master's own files are there."""
    fixture = "00_fixture"
    with course.TempCourse(FIXTURE_MASTERS, timeout=30) as temp:
        release = nbformat.read(temp.release(fixture), as_version=4)
        for cell in release.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") == "scale":
                cell.source = "def scale(x, k):\n    return helped_scale(x, k)"
            if meta.get("grade_id") == "squash":
                cell.source = (
                    "import statistics\n\ndef squash(x):\n"
                    "    return statistics.squashed(x)"
                )
        folder = temp.path("submitted", "mallory", fixture)
        startup = folder / ".ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-help.py").write_text(
            "import builtins\nbuiltins.helped_scale = lambda x, k: x * k\n"
        )
        (folder / "statistics.py").write_text(
            "import torch\n\ndef squashed(x):\n"
            "    return torch.sigmoid(torch.tanh(x))\n"
        )
        nbformat.write(release, folder / f"{fixture}.ipynb")
        assert temp.autograde("mallory", fixture) == ""
        scores = {g.grade_id: g.score for g in temp.grades("mallory", fixture)}
    assert scores == {
        "test-scale": 0,
        "test-scale-hidden": 0,
        "test-squash": 0,
        "test-squash-hidden": 0,
    }
