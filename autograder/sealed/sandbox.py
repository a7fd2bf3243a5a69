"""Grading kernels sealed in bubblewrap (`bwrap`).

`SealedKernelManager` starts ipykernel inside a sandbox with its own user, mount,
PID, network, IPC and UTS namespaces. Visible inside, read-only: the system (/usr
and a few files of /etc), the Python environment, and the two public course
packages (`autograder`, `lstm_ref`). Writable: a private scratch folder (a copy of
the notebook's folder, without notebooks) that is the kernel's working directory
and HOME, a small private /tmp and /dev/shm, and the folder of this kernel's own
ZMQ sockets. Nothing else of the host: no solutions, .git, gradebook, other
submissions or other kernels' sockets. Memory (RLIMIT_AS) and the size of a
written file (RLIMIT_FSIZE) are bounded, there is no network, and no process
outlives the kernel: the PID namespace dies with it, and `--die-with-parent`
kills it with the grader.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

import autograder
import lstm_ref
from autograder import settings

BWRAP = "bwrap"
FIX = "apt-get install bubblewrap"
HOME = "/home/learner"  # the kernel's working directory and HOME inside
UID = 1000  # the kernel's user inside: not root, no capabilities
ETC = ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime", "/etc/alternatives")
# Variables a kernel may inherit from the grader; every other one is dropped.
PASS_ENV = (
    "LSTM_COURSE_LANG",
    "LANG",
    "LC_ALL",
    "TZ",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PYTHONHASHSEED",
    "NBGRADER_EXECUTION",
    "PYDEVD_DISABLE_FILE_VALIDATION",
)
# jupyter_client interrupts a kernel with SIGINT to its process group, which
# holds bwrap too: bwrap must ignore it (ipykernel installs its own handler while
# a cell runs). Without `--new-session` the kernel stays in that group.
IGNORE_SIGINT = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh"]
# Last of the mounts: the sandbox's own root (where bwrap made the mount points)
# becomes read-only, so a kernel writes only to its scratch, /tmp and /dev/shm.
SEAL = ["--remount-ro", "/"]


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or refused here; the message is one line."""


def system() -> list[str]:
    """Read-only binds of the system: /usr, its /bin-like links, a few /etc files."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for etc in ETC:
        args += ["--ro-bind-try", etc, etc]
    return args


def readable() -> list[str]:
    """The Python environment and the public course packages: their real folders,
    outermost only (a package inside the environment needs no bind of its own)."""
    paths = {
        Path(p).resolve()
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    paths |= {Path(m.__file__).resolve().parent for m in (autograder, lstm_ref)}
    outer = sorted(p for p in paths if not any(q in p.parents for q in paths))
    binds = [(p, p) for p in outer]
    # An environment reached through a symlink (a copied course's .venv) is also
    # seen where the kernel's command names it.
    for prefix in {Path(sys.prefix).absolute(), Path(sys.exec_prefix).absolute()}:
        if prefix.resolve() != prefix:
            binds.append((prefix.resolve(), prefix))
    return [arg for real, seen in binds for arg in ("--ro-bind", str(real), str(seen))]


def course_roots() -> list[str]:
    """The folders holding the grader's own `autograder` and `lstm_ref`."""
    packages = (autograder, lstm_ref)
    return sorted({str(Path(m.__file__).resolve().parent.parent) for m in packages})


def base(file_size: int) -> list[str]:
    """bwrap's options shared by every sealed command, up to the command itself."""
    return [
        BWRAP,
        "--unshare-all",
        "--unshare-user",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--cap-drop",
        "ALL",
        "--disable-userns",
        "--die-with-parent",
        "--hostname",
        "grading",
        *system(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(file_size),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--size",
        str(file_size),
        "--tmpfs",
        "/tmp",
        # After the private /tmp: a course or environment that lives under /tmp
        # (a CI checkout) is bound on top of it, not hidden by it.
        *readable(),
    ]


def limits(memory: int, file_size: int) -> list[str]:
    return ["prlimit", f"--as={memory}", f"--fsize={file_size}", "--"]


@functools.cache
def available() -> str:
    """Empty when a sealed kernel can start here, else one line: why, and the fix."""
    if shutil.which(BWRAP) is None:
        return f"bubblewrap (bwrap) is not installed: {FIX}"
    memory, size = settings.MEMORY_LIMIT, settings.FILE_LIMIT
    cmd = base(size) + [*SEAL, "--", *limits(memory, size), "true"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap cannot start: {error} ({FIX})"
    if run.returncode:
        why = (run.stderr.strip().splitlines() or ["no message"])[-1]
        return (
            f"bwrap cannot create a sandbox here ({why}): {FIX} and allow "
            "user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
        )
    return ""


def copy_folder(source: Path, scratch: Path) -> None:
    """The notebook's folder, without notebooks (a graded notebook holds its
    hidden tests); symlinks stay links, so they cannot point out of the sandbox.
    Never the course itself, should a kernel be started from its root."""
    course_root = Path(autograder.__file__).resolve().parents[1]
    if source == course_root or source in course_root.parents:
        return
    shutil.copytree(
        source,
        scratch,
        symlinks=True,
        ignore=shutil.ignore_patterns("*.ipynb", ".git"),
        dirs_exist_ok=True,
    )


def font_lists() -> list[Path]:
    """matplotlib's font lists in this user's cache (matplotlib's own rule for
    where): copied into each scratch, a kernel that plots need not spend a second
    rebuilding one. Built by matplotlib on the host, never by a graded kernel."""
    home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    cache = Path(os.environ.get("MPLCONFIGDIR") or Path(home) / "matplotlib")
    return sorted(cache.glob("fontlist-v*.json"))


class SealedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels run sealed in bubblewrap, over ZMQ ipc
    sockets in a private folder. Each start (restarts too) gets a fresh scratch."""

    _private: Path | None = None  # ipc sockets, connection file, passwd, scratch
    _scratch: Path | None = None
    _sandbox: list[int] = []  # host pids of the sandbox, noted at shutdown

    def _prepare(self) -> None:
        if self._private is not None:
            return
        self._private = Path(tempfile.mkdtemp(prefix="lstm-sealed-")).resolve()
        ipc = self._private / "ipc"
        ipc.mkdir()
        self.transport = "ipc"
        self.ip = str(ipc / "kernel")
        # Read-only inside: a restarted kernel reads it again.
        self.connection_file = str(self._private / "kernel.json")
        (self._private / "passwd").write_text(
            f"learner:x:{UID}:{UID}:learner:{HOME}:/bin/sh\n"
        )
        (self._private / "group").write_text(f"learner:x:{UID}:\n")

    async def _async_pre_start_kernel(self, **kw):
        failed = available()
        if failed:
            raise SandboxUnavailable(
                f"{failed}; or grade unsealed (--unsealed / LSTM_COURSE_UNSEALED=1)"
            )
        self._prepare()
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        assert self._private is not None
        self._scratch = Path(tempfile.mkdtemp(dir=self._private, prefix="scratch-"))
        if kw.get("cwd"):
            copy_folder(Path(kw["cwd"]).resolve(), self._scratch)
        fonts = self._scratch / ".cache" / "matplotlib"
        for font_list in font_lists():
            fonts.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(font_list, fonts / font_list.name)
        kw["cwd"] = str(self._private)  # bwrap's own, on the host
        # A student's code never writes to the grader's terminal.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return self._wrap(kernel_cmd, kw.get("env") or {}), kw

    def _wrap(self, kernel_cmd: list[str], env: dict) -> list[str]:
        assert self._private is not None and self._scratch is not None
        memory, size = settings.MEMORY_LIMIT, settings.FILE_LIMIT
        ipc = str(self._private / "ipc")
        path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
        variables = {"HOME": HOME, "PATH": path, "TMPDIR": "/tmp", "USER": "learner"}
        # The kernel imports the very course packages the grader runs (and binds),
        # even where the installed course is another checkout (a copied course).
        variables["PYTHONPATH"] = ":".join(course_roots())
        variables |= {k: env[k] for k in PASS_ENV if k in env}
        return [
            *IGNORE_SIGINT,
            *base(size),
            "--ro-bind",
            str(self._private / "passwd"),
            "/etc/passwd",
            "--ro-bind",
            str(self._private / "group"),
            "/etc/group",
            "--bind",
            ipc,
            ipc,
            "--ro-bind",
            self.connection_file,
            self.connection_file,
            "--bind",
            str(self._scratch),
            HOME,
            *SEAL,
            "--chdir",
            HOME,
            "--clearenv",
            *(arg for k, v in variables.items() for arg in ("--setenv", k, v)),
            "--",
            *limits(memory, size),
            *kernel_cmd,
        ]

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
        # Every process in the sandbox descends from bwrap (orphans are adopted by
        # the namespace's init): note them, so none is left when this returns.
        pid = getattr(self.provisioner, "pid", None)
        self._sandbox = descendants(pid) if pid else []
        await super()._async_shutdown_kernel(now=now, restart=restart)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        end(self._sandbox)
        self._sandbox = []
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if not restart and self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def end(pids: list[int], wait: float = 5.0) -> None:
    """Wait until every process in `pids` has ended; kill those still running
    then (never seen: bwrap's PID namespace ends them with the kernel)."""
    deadline = time.monotonic() + wait
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in filter(running, pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
