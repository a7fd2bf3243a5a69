"""Bounds on a sandbox as a whole: its processes, memory and CPU, with cgroups.

Every sealed kernel gets a cgroup of its own, made before it starts and removed
once every process in it is killed: at most `settings.PROCESS_LIMIT` processes and
threads (pids), `settings.MEMORY_LIMIT` bytes of memory for all of them together
(memory: the OOM killer acts inside the sandbox alone) and `settings.CPU_LIMIT`
cores' worth of time (cpu quota). The sandbox's first process joins it before it
execs bwrap (`Cgroup.joins`), so no code of the learner runs outside it.

Where: cgroup v2 where the grader's own cgroup has the controllers (under it, in
`lstm-course/`), else the v1 hierarchies of `pids`, `memory` and `cpu`, each under
the grader's own cgroup when it may make one there (root), else in `lstm-course/`
at the hierarchy's top, which classroom/setup.sh delegates to the instructors'
group. Without a cpu controller each sandbox is pinned to one core nobody else
holds (`claim_core`), which the learner's code could widen (sched_setaffinity).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shlex
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from autograder import settings

NAME = "lstm-course"  # the folder of the sandboxes' cgroups, in every hierarchy
V1 = ("pids", "memory", "cpu")  # pids and memory are required, cpu is not
FIX = (
    "grade as root, or delegate a cgroup subtree to this user as classroom/setup.sh "
    "does for instructors"
)
V2_FIX = (
    "gives no pids and memory controllers to cgroups of its own (grade as root, or "
    "alone in a delegated one: systemd-run --user --scope -p Delegate=yes ...)"
)
MOUNTINFO = Path("/proc/self/mountinfo")
OWN = Path("/proc/self/cgroup")
PERIOD = 100_000  # µs: the cpu quota's period
LIVE: set[str] = set()  # this process's cgroups, made and not yet removed


def mounts() -> list[tuple[str, str, str, set[str]]]:
    """(root inside its hierarchy, mount point, fs type, options) of each mount."""
    found = []
    for line in MOUNTINFO.read_text().splitlines():
        fields = line.split()
        dash = fields.index("-")
        root, point = (bytes(f, "ascii").decode("unicode_escape") for f in fields[3:5])
        options = set(fields[dash + 3].split(",")) | set(fields[5].split(","))
        found.append((root, point, fields[dash + 1], options))
    return found


def own_cgroups() -> dict[str, str]:
    """This process's cgroup per v1 controller, and "" for its v2 cgroup."""
    own = {}
    for line in OWN.read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def inside(point: str, root: str, path: str) -> Path:
    """The folder of cgroup `path` in a hierarchy mounted at `point` from `root`."""
    relative = os.path.relpath(path, root) if path.startswith(root) else "."
    return Path(point, relative).resolve() if relative != "." else Path(point)


@dataclass(frozen=True)
class Place:
    """Where this grader makes its sandboxes' cgroups: the `lstm-course` folder of
    each hierarchy (v1: per controller; v2: one, keyed "")."""

    version: int
    parents: dict[str, Path]
    cpu: bool  # whether the cpu controller is among them


def writable_parent(candidates: list[Path]) -> Path | None:
    """The first folder of `candidates` in which this user may make cgroups (or
    that it may make, in a cgroup it may write)."""
    for folder in candidates:
        there = folder if folder.is_dir() else folder.parent
        if (there / "cgroup.procs").exists() and os.access(there, os.W_OK | os.X_OK):
            return folder
    return None


def v1_place(found: list, own: dict[str, str]) -> Place | str:
    parents = {}
    for controller in V1:
        points = [(r, p) for r, p, k, o in found if k == "cgroup" and controller in o]
        if not points:
            if controller == "cpu":
                continue
            return f"no cgroup {controller} controller is mounted"
        root, point = points[0]
        mine = inside(point, root, own.get(controller, "/"))
        parent = writable_parent([mine / NAME, Path(point) / NAME])
        if parent is None:
            if controller == "cpu":
                continue
            return f"no cgroup of the {controller} controller is writable here"
        parents[controller] = parent
    return Place(1, parents, "cpu" in parents)


def v2_place(point: str, root: str, own: str) -> Place | None:
    """A place under this process's own v2 cgroup, if it has pids and memory and
    may give them to cgroups below it. A v2 cgroup with processes gives its
    controllers to none below it: where this grader is alone in its own (under
    `systemd-run --user --scope -p Delegate=yes`), it moves into a leaf, `grader`,
    first; its workers, born there, use the place beside it."""
    mine = inside(point, root, own)
    if mine.name == "grader" and (mine.parent / NAME / "cgroup.procs").exists():
        ready = mine.parent / NAME
        cpu = "cpu" in offers(ready)
        return Place(2, {"": ready}, cpu) if os.access(ready, os.W_OK) else None
    wanted = [c for c in ("pids", "memory", "cpu") if c in offers(mine)]
    if not {"pids", "memory"} <= set(wanted):
        return None
    enable = " ".join(f"+{c}" for c in wanted)
    try:
        try:
            write(mine / "cgroup.subtree_control", enable)
        except OSError as error:
            if error.errno != errno.EBUSY or members(mine) != [os.getpid()]:
                return None
            (mine / "grader").mkdir(exist_ok=True)
            write(mine / "grader" / "cgroup.procs", os.getpid())
            write(mine / "cgroup.subtree_control", enable)
        (mine / NAME).mkdir(exist_ok=True)
        write(mine / NAME / "cgroup.subtree_control", enable)
    except OSError:
        return None
    return Place(2, {"": mine / NAME}, "cpu" in wanted)


def offers(folder: Path) -> set[str]:
    """The controllers a v2 cgroup has to give (none: not there, or v1's)."""
    try:
        return set((folder / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def find() -> Place | str:
    """Where sandboxes' cgroups go here, or one line: why none can, and the fix."""
    try:
        found, own = mounts(), own_cgroups()
    except (OSError, ValueError) as error:
        return f"cannot bound the sandbox: {error} ({FIX})"
    unified = [(root, point) for root, point, kind, _ in found if kind == "cgroup2"]
    for root, point in unified:
        place = v2_place(point, root, own.get("", "/"))
        if place is not None:
            return place
    place = v1_place(found, own)
    if not isinstance(place, str):
        return place
    if any({"pids", "memory"} & offers(Path(point)) for _, point in unified):
        return f"cannot bound the sandbox: this user's cgroup (v2) {V2_FIX}"
    return f"cannot bound the sandbox: {place} ({FIX})"


def write(path: Path, value: object) -> None:
    path.write_text(str(value))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def members(folder: Path) -> list[int]:
    try:
        return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def counter(path: Path, key: str) -> int:
    """The number after `key` in a flat-keyed cgroup file (0 if absent)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class Cgroup:
    """One sandbox's cgroup: a folder in each hierarchy of `place`."""

    place: Place
    name: str = field(default_factory=lambda: f"{os.getpid()}-{uuid.uuid4().hex[:8]}")

    @property
    def folders(self) -> list[Path]:
        return [parent / self.name for parent in self.place.parents.values()]

    def folder(self, controller: str) -> Path | None:
        key = "" if self.place.version == 2 else controller
        parent = self.place.parents.get(key)
        return parent / self.name if parent else None

    def create(self) -> None:
        sweep(self.place)
        LIVE.add(self.name)
        for folder in self.folders:
            for attempt in range(3):  # another grader may remove the parent meanwhile
                try:
                    folder.parent.mkdir(exist_ok=True)
                    folder.mkdir()
                    break
                except FileNotFoundError:
                    if attempt == 2:
                        raise
        try:
            self.limit()
        except OSError:
            self.remove()
            raise

    def limit(self) -> None:
        pids, memory, cpu = (self.folder(c) for c in ("pids", "memory", "cpu"))
        write(pids / "pids.max", settings.PROCESS_LIMIT)
        if self.place.version == 2:
            write(memory / "memory.max", settings.MEMORY_LIMIT)
            if (memory / "memory.swap.max").exists():
                write(memory / "memory.swap.max", 0)
            if (cpu / "cpu.max").exists():
                write(cpu / "cpu.max", f"{settings.CPU_LIMIT * PERIOD} {PERIOD}")
            return
        write(memory / "memory.limit_in_bytes", settings.MEMORY_LIMIT)
        if (memory / "memory.memsw.limit_in_bytes").exists():  # no escape to swap
            write(memory / "memory.memsw.limit_in_bytes", settings.MEMORY_LIMIT)
        if cpu is not None:
            write(cpu / "cpu.cfs_period_us", PERIOD)
            write(cpu / "cpu.cfs_quota_us", settings.CPU_LIMIT * PERIOD)

    def joins(self) -> str:
        """Shell commands that put the shell's own process in this cgroup (its
        next exec keeps it there), exiting when they cannot."""
        return "".join(
            f"echo $$ > {shlex.quote(str(folder / 'cgroup.procs'))} || exit 125; "
            for folder in self.folders
        )

    def hits(self) -> dict[str, int]:
        """How often each bound was hit so far: setting name -> count."""
        pids, memory = self.folder("pids"), self.folder("memory")
        oom = "memory.events" if self.place.version == 2 else "memory.oom_control"
        return {
            "PROCESS_LIMIT": counter(pids / "pids.events", "max"),
            "MEMORY_LIMIT": counter(memory / oom, "oom_kill"),
        }

    def cpu_stat(self, key: str) -> int:
        """A count of the cpu quota's (0 without one): `nr_periods` in which the
        sandbox ran under it, `nr_throttled` of them in which it held it back."""
        cpu = self.folder("cpu")
        return counter(cpu / "cpu.stat", key) if cpu else 0

    def processes(self) -> list[int]:
        return sorted({pid for folder in self.folders for pid in members(folder)})

    def remove(self, wait: float = 10.0) -> None:
        """Kill every process in the cgroup, then remove it (and its parent when
        that is empty and nested in the grader's own cgroup). One whose last
        processes are slow to go is left to the next `sweep`."""
        deadline = time.monotonic() + wait
        kill(self.folders, wait)
        for folder in self.folders:
            while folder.exists():
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
        LIVE.discard(self.name)
        tidy(self.place)


def kill(folders: list[Path], wait: float) -> None:
    """SIGKILL every process of `folders` until none is left (a fork bomb's
    children too: the loop outruns them, bounded as they are; v1 lists the dead
    until they are reaped)."""
    for folder in folders:
        if (folder / "cgroup.kill").exists():
            write(folder / "cgroup.kill", 1)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        pids = [pid for folder in folders for pid in members(folder)]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def sweep(place: Place) -> None:
    """Remove the empty cgroups left by graders that were killed before they
    could, or by this one when their last processes were slow to go."""
    for parent in place.parents.values():
        try:
            names = [p.name for p in parent.iterdir() if p.is_dir()]
        except OSError:
            continue
        for name in names:
            pid = name.split("-", 1)[0]
            if not pid.isdigit() or name in LIVE or members(parent / name):
                continue
            if int(pid) == os.getpid() or not alive(int(pid)):
                try:
                    (parent / name).rmdir()
                except OSError:
                    pass


def tidy(place: Place) -> None:
    """Remove a v1 `lstm-course` folder nested in another's cgroup once it is
    empty (that cgroup's owner may want to remove it); one at the top of its
    hierarchy may be delegated (classroom/setup.sh) and stays."""
    if place.version == 1:
        for parent in place.parents.values():
            if not os.path.ismount(parent.parent):
                try:
                    parent.rmdir()
                except OSError:
                    pass


# ---- without a cpu controller: one core per sandbox, by affinity ----------------


def claim_core() -> tuple[int, int]:
    """A core no other sandbox holds, and the descriptor of its lock (held until
    closed); a shared one when every core is taken."""
    cores = sorted(os.sched_getaffinity(0))
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    for core in cores:
        path = f"{folder}/{NAME}-core-{core}.lock"
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return core, fd
        except OSError:
            os.close(fd)
    return cores[os.getpid() % len(cores)], -1
