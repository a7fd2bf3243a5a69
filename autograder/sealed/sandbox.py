"""Grading kernels sealed in bubblewrap (`bwrap`).

`SealedKernelManager` starts ipykernel inside a sandbox with its own user, mount,
PID, network, IPC and UTS namespaces. Visible inside, read-only: the system (/usr
and a few files of /etc), the Python environment, and the two public course
packages (`autograder`, `lstm_ref`). Writable: one tmpfs of `settings.DISK_LIMIT`
bytes at /home, holding the kernel's working directory and HOME (seeded with a
copy of the folder it is started in, without notebooks: for grading, the
master's, autograder/grading/execute.py), /tmp and /dev/shm (links into
it): writing past it is ENOSPC, and nothing of it reaches the host's disk. Also
writable, the folder of this kernel's own ZMQ sockets, in the host's /dev/shm
(its pages count against the sandbox's memory). Nothing else of the host: no
solutions, .git, gradebook, other submissions or other kernels' sockets.

The sandbox as a whole is bounded by its cgroup (`autograder.sealed.bounds`):
processes and threads, memory, CPU; each process's address space (RLIMIT_AS) and
written file (RLIMIT_FSIZE) too. There is no network, and no process outlives the
kernel: the PID namespace dies with it, the cgroup's processes are killed, and
`--die-with-parent` kills it with the grader.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from autograder import fonts, i18n, settings
from autograder.sealed import bounds

BWRAP = "bwrap"
FIX = "apt-get install bubblewrap"
POOL = "/home"  # the sandbox's one writable tmpfs, DISK_LIMIT bytes: all below
HOME = "/home/learner"  # the kernel's working directory and HOME inside
TMP, SHM = "/home/.tmp", "/home/.shm"  # what /tmp and /dev/shm link to
SEED = "/run/seed"  # the notebook folder's copy, read-only, copied into HOME
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")  # bwrap --dev's
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
IGNORE_SIGINT = 'trap "" INT; '
# Inside, before the kernel: HOME gets the notebook folder's files (a copy bigger
# than the pool stops at the pool's size).
SEED_HOME = ["/bin/sh", "-c", f'cp -RPp {SEED}/. {HOME} 2>/dev/null; exec "$@"', "sh"]
# Last of the mounts: the sandbox's own root (where bwrap made the mount points)
# becomes read-only, so a kernel writes only to its scratch, /tmp and /dev/shm.
SEAL = ["--remount-ro", "/"]


def package_folder(name: str) -> Path:
    """Where the course package `name` lives, found without importing it (lstm_ref
    would import torch, which the grader loads only once a kernel is starting)."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, name
    return Path(spec.origin).resolve().parent


COURSE_PACKAGES = ("autograder", "lstm_ref")  # the public ones, bound read-only


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
    paths |= {package_folder(name) for name in COURSE_PACKAGES}
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
    return sorted({str(package_folder(name).parent) for name in COURSE_PACKAGES})


def devices() -> list[str]:
    """A read-only /dev with bwrap's usual devices, whose shm is the pool's."""
    args = ["--tmpfs", "/dev"]
    for name in DEVICES:
        args += ["--dev-bind-try", f"/dev/{name}", f"/dev/{name}"]
    for name, fd in (("fd", ""), ("stdin", "/0"), ("stdout", "/1"), ("stderr", "/2")):
        args += ["--symlink", f"/proc/self/fd{fd}", f"/dev/{name}"]
    return [*args, "--symlink", f"..{SHM}", "/dev/shm", "--remount-ro", "/dev"]


def base(disk: int) -> list[str]:
    """bwrap's options shared by every sealed command, up to the command itself:
    `disk` bytes to write in all (HOME, /tmp and /dev/shm)."""
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
        "--size",
        str(disk),
        "--tmpfs",
        POOL,
        "--dir",
        HOME,
        *("--perms", "1777", "--dir", TMP, "--perms", "1777", "--dir", SHM),
        # Relative: a bind below /tmp lands in the pool too (bwrap resolves links
        # in the new root).
        *("--symlink", TMP.lstrip("/"), "/tmp"),
        *devices(),
        # After the private /tmp: a course or environment that lives under /tmp
        # (a CI checkout) is bound on top of it, not hidden by it.
        *readable(),
    ]


def limits(memory: int, file_size: int) -> list[str]:
    return ["prlimit", f"--as={memory}", f"--fsize={file_size}", "--"]


def enter(cgroup: bounds.Cgroup, core: int | None) -> list[str]:
    """The sandbox's first process: it ignores SIGINT, joins `cgroup` (and is
    pinned to `core` where there is no cpu controller), then execs bwrap."""
    command = ["/bin/sh", "-c", f'{IGNORE_SIGINT}{cgroup.joins()}exec "$@"', "sh"]
    return command + (["taskset", "--cpu-list", str(core)] if core is not None else [])


@functools.cache
def place() -> bounds.Place | str:
    """Where this grader's sandboxes get their cgroups (or why nowhere)."""
    return bounds.find()


@functools.cache
def available() -> str:
    """Empty when a sealed kernel can start here, bounded, else one line: why, and
    the fix."""
    if shutil.which(BWRAP) is None:
        return f"bubblewrap (bwrap) is not installed: {FIX}"
    where = place()
    if isinstance(where, str):
        return where
    if not where.cpu and shutil.which("taskset") is None:
        return "no cpu cgroup controller and no taskset: apt-get install util-linux"
    cgroup = bounds.Cgroup(where)
    try:
        cgroup.create()
    except OSError as error:
        return f"cannot bound the sandbox: {error} ({bounds.FIX})"
    memory, size = settings.MEMORY_LIMIT, settings.FILE_LIMIT
    cmd = enter(cgroup, None) + base(settings.DISK_LIMIT)
    cmd += [*SEAL, "--", *limits(memory, size), "true"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap cannot start: {error} ({FIX})"
    finally:
        cgroup.remove()
    if run.returncode == 125:
        return f"cannot bound the sandbox: {run.stderr.strip()} ({bounds.FIX})"
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
    course_root = package_folder("autograder").parent
    if source == course_root or source in course_root.parents:
        return
    shutil.copytree(
        source,
        scratch,
        symlinks=True,
        ignore=shutil.ignore_patterns("*.ipynb", ".git"),
        dirs_exist_ok=True,
    )


def cached_fonts(lang: str | None) -> list[tuple[Path, str]]:
    """What a kernel that plots would spend seconds making, from this user's
    caches, each with where it goes below the kernel's HOME: matplotlib's font
    lists (matplotlib's own rule for where; built by matplotlib on the host, never
    by a graded kernel) and the course's copies of `lang`'s fonts (made here, once:
    `fonts.copies`)."""
    home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    lists = Path(os.environ.get("MPLCONFIGDIR") or Path(home) / "matplotlib")
    found = [
        (path, f".cache/matplotlib/{path.name}")
        for path in sorted(lists.glob("fontlist-v*.json"))
    ]
    copies = fonts.copies(lang)
    found += [(path, f".cache/lstm-course/fonts/{path.name}") for path in copies]
    return found


def private_root() -> str | None:
    """Where the kernels' private folders go: the host's /dev/shm when it is a
    tmpfs (what a kernel writes into its sockets' folder is then memory, charged to
    its sandbox, never disk), else the usual temporary folder."""
    shm = [kind for _, point, kind, _ in bounds.mounts() if point == "/dev/shm"]
    ok = shm and shm[-1] == "tmpfs" and os.access("/dev/shm", os.W_OK | os.X_OK)
    return "/dev/shm" if ok else None


def sweep_private(root: Path) -> None:
    """Remove the private folders of this user's graders that were killed before
    they could (in /dev/shm they would hold memory until the next boot)."""
    for folder in root.glob("lstm-sealed-*-*"):
        pid = folder.name.split("-")[2]
        try:
            mine = folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not bounds.alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


class SealedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels run sealed in bubblewrap, bounded by a
    cgroup of their own, over ZMQ ipc sockets in a private folder. Each start
    (restarts too) gets a fresh sandbox: pool, cgroup and seed."""

    _private: Path | None = None  # ipc sockets, connection file, passwd, seed
    _seed: Path | None = None  # the notebook folder's copy, copied into HOME
    _cgroup: bounds.Cgroup | None = None
    _hits: dict[str, int] = {}  # the cgroup's counts of bounds hit, last seen
    _core: tuple[int, int] | None = None  # without a cpu controller: core, lock
    _sandbox: list[int] = []  # host pids of the sandbox, noted at shutdown

    def _prepare(self) -> None:
        if self._private is not None:
            return
        root = private_root()
        sweep_private(Path(root or tempfile.gettempdir()))
        folder = tempfile.mkdtemp(prefix=f"lstm-sealed-{os.getpid()}-", dir=root)
        self._private = Path(folder).resolve()
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
        self._seed = Path(tempfile.mkdtemp(dir=self._private, prefix="seed-"))
        if kw.get("cwd"):
            copy_folder(Path(kw["cwd"]).resolve(), self._seed)
        for path, inside in cached_fonts((kw.get("env") or {}).get(i18n.ENV)):
            (self._seed / inside).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self._seed / inside)
        where = place()
        assert not isinstance(where, str)
        self._cgroup = bounds.Cgroup(where)
        self._cgroup.create()
        self._hits = self._cgroup.hits()
        if not where.cpu:
            self._core = bounds.claim_core()
        kw["cwd"] = str(self._private)  # bwrap's own, on the host
        # A student's code never writes to the grader's terminal.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return self._wrap(kernel_cmd, kw.get("env") or {}), kw

    def _wrap(self, kernel_cmd: list[str], env: dict) -> list[str]:
        assert self._private and self._seed and self._cgroup
        memory, size = settings.MEMORY_LIMIT, settings.FILE_LIMIT
        ipc = str(self._private / "ipc")
        path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
        variables = {"HOME": HOME, "PATH": path, "TMPDIR": "/tmp", "USER": "learner"}
        # The kernel imports the very course packages the grader runs (and binds),
        # even where the installed course is another checkout (a copied course).
        variables["PYTHONPATH"] = ":".join(course_roots())
        variables |= {k: env[k] for k in PASS_ENV if k in env}
        # torch's threads: as many as the sandbox has cores.
        cores = str(settings.CPU_LIMIT)
        variables |= {"OMP_NUM_THREADS": cores, "MKL_NUM_THREADS": cores}
        core = self._core[0] if self._core else None
        return [
            *enter(self._cgroup, core),
            *base(settings.DISK_LIMIT),
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
            "--ro-bind",
            str(self._seed),
            SEED,
            *SEAL,
            "--chdir",
            HOME,
            "--clearenv",
            *(arg for k, v in variables.items() for arg in ("--setenv", k, v)),
            "--",
            *limits(memory, size),
            *SEED_HOME,
            *kernel_cmd,
        ]

    def bounds_hit(self) -> list[str]:
        """The bounds (settings' names) the sandbox hit since the last call (or
        its start): PROCESS_LIMIT, MEMORY_LIMIT (its OOM killer acted)."""
        if self._cgroup is None:
            return []
        now = self._cgroup.hits()
        hit = [name for name, count in now.items() if count > self._hits.get(name, 0)]
        self._hits = now
        return hit

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
        if self._private is not None:  # what the kernel wrote beside its sockets
            for leftover in (self._private / "ipc").iterdir():
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._core is not None:
            if self._core[1] >= 0:
                os.close(self._core[1])
            self._core = None
        if self._seed is not None:
            shutil.rmtree(self._seed, ignore_errors=True)
            self._seed = None
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
