"""Every sealed sandbox is bounded as a whole (autograder/sealed/bounds.py): real
kernels in real bubblewrap sandboxes and real cgroups, attacked, and the host's
view of them checked (its cgroups, its processes, its disk).

One kernel at a time with small bounds (the settings patched in this process):
processes and threads, disk (the pool, and the sockets' folder), memory of many
processes together, CPU (quota, or a pinned core); a graded notebook whose cells
hit each bound; grading refused where no cgroup is writable. Then a class graded
with `grade --jobs 2` under the real defaults: the bound attacks of
tests/adversarial/attacks.py (BOUNDED) among honest students.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from adversarial import classroom, payloads
from adversarial.attacks import BOUND_HIT, BOUNDED, CELL, call
from grading import batches, harness
from grading.sealed import SealedKernel, run_cells

from autograder import notebooks, settings
from autograder.grading import course
from autograder.sealed import bounds, sandbox
from autograder.sealed.limits import bound_hit

ROOT = course.ROOT
MiB = 1 << 20
# Memory: the address space of one process is bounded by it too, and a kernel's
# thread stacks take 8 MiB of it each: 2 GiB leaves room for 40 threads.
SMALL = {"PROCESS_LIMIT": 40, "DISK_LIMIT": 256 * MiB, "MEMORY_LIMIT": 2 << 30}


def place() -> bounds.Place:
    where = sandbox.place()
    assert not isinstance(where, str), where
    return where


class Sandbox(SealedKernel):
    """A sealed kernel with its cgroup; `run` returns (status, what it printed and
    raised)."""

    def __init__(self, cwd: Path):
        super().__init__(cwd)
        self.cgroup = self.km._cgroup
        assert self.cgroup is not None

    def run(self, code: str, timeout: float = 120) -> tuple[str, str]:
        status, said = self.execute(code, timeout)
        return status, "".join(s if isinstance(s, str) else ": ".join(s) for s in said)

    def tasks(self) -> int:
        """The sandbox's processes and threads, as its cgroup counts them."""
        return int((self.cgroup.folder("pids") / "pids.current").read_text())

    def memory(self, v1: str = "usage_in_bytes", v2: str = "current") -> int:
        """Bytes charged to the sandbox's memory cgroup (or its peak)."""
        name = v2 if self.cgroup.place.version == 2 else v1
        return int((self.cgroup.folder("memory") / f"memory.{name}").read_text())


@pytest.fixture
def small(monkeypatch):
    for name, value in SMALL.items():
        monkeypatch.setattr(settings, name, value)


@pytest.fixture
def kernel(small, tmp_path):
    box = Sandbox(tmp_path)
    yield box
    box.close()


def running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if sandbox.running(pid)]


def gone(cgroup: bounds.Cgroup) -> bool:
    return not any(folder.exists() for folder in cgroup.folders)


# ---- one kernel, small bounds -----------------------------------------------------


def test_a_fork_bomb_fills_its_sandbox_and_no_more(kernel):
    kernel.run(call(payloads.fork_bomb, SMALL["PROCESS_LIMIT"].bit_length() + 1))
    deadline = time.monotonic() + 10
    while kernel.tasks() < SMALL["PROCESS_LIMIT"] and time.monotonic() < deadline:
        time.sleep(0.05)
    members = kernel.cgroup.processes()
    assert kernel.tasks() == SMALL["PROCESS_LIMIT"]  # full: 2**7 were wanted
    assert len(members) <= SMALL["PROCESS_LIMIT"]
    assert kernel.km.bounds_hit() == ["PROCESS_LIMIT"]
    cgroup = kernel.cgroup
    kernel.close()
    assert running(members) == [] and gone(cgroup)


def test_a_thread_bomb_is_bounded_with_the_processes(kernel):
    status, said = kernel.run(call(payloads.thread_bomb, 2 * SMALL["PROCESS_LIMIT"]))
    assert (status, said) == ("error", "RuntimeError: can't start new thread")
    assert kernel.tasks() == SMALL["PROCESS_LIMIT"]
    assert kernel.km.bounds_hit() == ["PROCESS_LIMIT"]
    assert kernel.km.bounds_hit() == []  # each hit is told once


def test_the_disk_is_one_pool_in_memory_and_never_the_hosts(kernel):
    """The folder, /tmp and /dev/shm share DISK_LIMIT bytes; those bytes are the
    sandbox's memory, not the host's disk, and are gone with the kernel."""
    host = tempfile.gettempdir()
    free, shm = shutil.disk_usage(host).free, shutil.disk_usage("/dev/shm").used
    status, said = kernel.run(call(payloads.fill_disk, 2 * SMALL["DISK_LIMIT"]))
    files = SMALL["DISK_LIMIT"] // (16 * MiB)
    assert status == "error" and "No space left on device" in said, said
    assert f"full: ['. after {files - 1} files', '/tmp after 0 files', " in said
    assert "'/dev/shm after 0 files']" in said
    # Where the bytes are: the sandbox's memory cgroup holds them, the host not.
    assert kernel.memory() > SMALL["DISK_LIMIT"] - 16 * MiB
    assert free - shutil.disk_usage(host).free < SMALL["DISK_LIMIT"] // 2
    assert shutil.disk_usage("/dev/shm").used - shm < SMALL["DISK_LIMIT"] // 2
    kernel.close()
    assert free - shutil.disk_usage(host).free < SMALL["DISK_LIMIT"] // 2


def test_the_sockets_folder_is_memory_charged_to_the_sandbox(kernel):
    """The one writable folder outside the pool (its ZMQ sockets') is in the host's
    /dev/shm: what the kernel writes there is memory of its own cgroup, and goes
    with the kernel."""
    private = kernel.km._private
    assert sandbox.private_root() == "/dev/shm" and private.parent == Path("/dev/shm")
    before, free = kernel.memory(), shutil.disk_usage(tempfile.gettempdir()).free
    junk = private / "ipc" / "junk"
    kernel.run(f"open({str(junk)!r}, 'wb').write(b'x' * {64 * MiB})")
    assert junk.stat().st_size == 64 * MiB
    assert kernel.memory() - before >= 64 * MiB
    assert free - shutil.disk_usage(tempfile.gettempdir()).free < 32 * MiB
    kernel.close()
    assert not private.exists()


def test_memory_is_bounded_for_all_processes_together(kernel):
    """Four processes of 600 MiB each, every one well under the address-space
    limit of one, together over the sandbox's 2 GiB: the OOM killer acts inside
    the sandbox alone, and says so."""
    status, said = kernel.run(call(payloads.hog_memory_together, 4, 600))
    assert status == "ok" and "-9" in said, said  # a child was killed
    assert kernel.km.bounds_hit() == ["MEMORY_LIMIT"]
    assert kernel.run("print('alive')") == ("ok", "alive\n")
    assert kernel.memory("max_usage_in_bytes", "peak") <= SMALL["MEMORY_LIMIT"]


def cpu_quota(cgroup: bounds.Cgroup) -> float:
    """The cores' worth of time the sandbox's cpu cgroup allows."""
    folder = cgroup.folder("cpu")
    if cgroup.place.version == 2:
        quota, period = (folder / "cpu.max").read_text().split()
    else:
        quota = (folder / "cpu.cfs_quota_us").read_text()
        period = (folder / "cpu.cfs_period_us").read_text()
    return int(quota) / int(period)


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def burning(box: Sandbox, processes: int) -> list[int]:
    """Start a CPU burner of `processes` processes; their pids once all run."""
    box.kc.execute(call(payloads.burn_cpu, processes, 3))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        spinning = [pid for pid in box.cgroup.processes() if state(pid) == "R"]
        if len(spinning) >= processes:
            return spinning
        time.sleep(0.05)
    raise AssertionError("the burner never ran")


def cpu_cgroup(pid: int) -> str:
    """The cpu cgroup of `pid`, as /proc says (v2: its one cgroup)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(",") or (controllers == "" and path != "/"):
            return path
    return ""


def test_a_cpu_burner_holds_one_core(kernel):
    """Three spinning processes get one core's worth of time, as the host sees it:
    every one of them in the sandbox's cpu cgroup, whose quota (one core) counts
    the periods they run in. (Whether it throttles them depends on the machine's
    load: on a busy one they get less than a core anyway.)"""
    if not kernel.cgroup.place.cpu:
        pytest.skip("no cpu controller here: test_without_a_cpu_controller")
    assert cpu_quota(kernel.cgroup) == settings.CPU_LIMIT == 1
    periods = kernel.cgroup.cpu_stat("nr_periods")
    spinning = burning(kernel, 3)
    folder = kernel.cgroup.folder("cpu")
    members = (folder / "cgroup.procs").read_text().split()
    assert {str(pid) for pid in spinning} <= set(members)
    assert {cpu_cgroup(pid).rsplit("/", 1)[-1] for pid in spinning} == {folder.name}
    time.sleep(0.5)
    assert kernel.cgroup.cpu_stat("nr_periods") > periods
    assert kernel.run("import os; print(os.environ['OMP_NUM_THREADS'])")[1] == "1\n"


def test_without_a_cpu_controller_each_sandbox_has_a_core_of_its_own(
    small, tmp_path, monkeypatch
):
    """Where no cpu controller can be used, each sandbox is pinned to a core no
    other one holds (the learner's code could widen it: README)."""
    parents = {c: p for c, p in place().parents.items() if c in ("pids", "memory")}
    if place().version == 2:
        pytest.skip("cgroup v2 here: its cpu controller is used when offered")
    monkeypatch.setattr(sandbox, "place", lambda: bounds.Place(1, parents, False))
    boxes = [Sandbox(tmp_path), Sandbox(tmp_path)]
    try:
        spinning = burning(boxes[0], 2)
        cores = [box.km._core[0] for box in boxes]
        assert len(set(cores)) == 2 or len(os.sched_getaffinity(0)) == 1
        assert {c for pid in spinning for c in os.sched_getaffinity(pid)} == {cores[0]}
        kernel = max(boxes[1].cgroup.processes())
        assert os.sched_getaffinity(kernel) == {cores[1]}
    finally:
        for box in boxes:
            box.close()


def test_every_cgroup_goes_with_its_kernel(small, tmp_path):
    box = Sandbox(tmp_path)
    cgroup = box.cgroup
    assert len(cgroup.processes()) >= 3 and not gone(cgroup)
    box.close()
    assert gone(cgroup)
    mine = [
        folder
        for parent in place().parents.values()
        if parent.exists()
        for folder in parent.iterdir()
        if folder.name.startswith(f"{os.getpid()}-")
    ]
    assert mine == []


def test_the_real_defaults_bound_a_sandbox(tmp_path):
    """The settings as shipped: 256 processes and threads, 4 GiB for all of them,
    one core, a pool of 1 GiB for the folder, /tmp and /dev/shm."""
    assert (settings.PROCESS_LIMIT, settings.MEMORY_LIMIT) == (256, 4 << 30)
    assert (settings.CPU_LIMIT, settings.DISK_LIMIT) == (1, 1 << 30)
    box = Sandbox(tmp_path)
    try:
        limit = box.memory("limit_in_bytes", "max")
        assert limit == settings.MEMORY_LIMIT
        assert not box.cgroup.place.cpu or cpu_quota(box.cgroup) == 1
        box.run(call(payloads.fork_bomb, settings.PROCESS_LIMIT.bit_length()))
        deadline = time.monotonic() + 20
        while box.tasks() < settings.PROCESS_LIMIT and time.monotonic() < deadline:
            time.sleep(0.05)
        assert box.tasks() == settings.PROCESS_LIMIT  # 512 were wanted
        assert box.km.bounds_hit() == ["PROCESS_LIMIT"]
    finally:
        box.close()
    box = Sandbox(tmp_path)
    try:
        status, said = box.run(call(payloads.fill_disk, 2 * settings.DISK_LIMIT))
        assert status == "error" and "full: ['. after 63 files'" in said, said
    finally:
        box.close()


def test_what_a_killed_grader_left_is_swept(small, tmp_path):
    """A grader killed outright leaves its cgroups and its private folder (in
    /dev/shm: memory until the next boot); the next sandbox made removes them."""
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    pid = dead.stdout.strip()
    left = Path(sandbox.private_root() or tempfile.gettempdir(), f"lstm-sealed-{pid}-x")
    left.mkdir()
    stale = bounds.Cgroup(place(), f"{pid}-0123abcd")
    for folder in stale.folders:
        folder.mkdir(parents=True)
    box = Sandbox(tmp_path)
    box.close()
    assert not left.exists() and gone(stale)


# ---- a graded notebook: the cell that hits a bound, and no other -------------------


def test_a_cell_that_hits_a_bound_fails_naming_it_and_costs_nothing_else(
    small, tmp_path
):
    cells = [
        "import os\nopen('flag', 'w').close()",
        call(payloads.fork_bomb, 7),
        "print(os.path.exists('flag'), sum(p.isdigit() for p in os.listdir('/proc')))",
        call(payloads.fill_disk, 2 * SMALL["DISK_LIMIT"]),
        "import shutil\nprint(shutil.disk_usage('.').used < 16 * 2**20)",
        call(payloads.hog_memory_together, 4, 600),
        "print('after memory')",
        "try:\n" + textwrap.indent(call(payloads.thread_bomb, 100), "    ")
        + "except RuntimeError:\n    print('caught')",
        "print('after threads')",
    ]
    outs = run_cells(cells, tmp_path, timeout=60)
    errors = [[o for o in out if o.output_type == "error"] for out in outs]
    hits = [[bound_hit(e) for e in found] for found in errors]
    assert hits == [
        [],
        ["PROCESS_LIMIT"],
        [],
        ["DISK_LIMIT"],
        [],
        ["MEMORY_LIMIT"],
        [],
        ["PROCESS_LIMIT"],  # caught by the cell's code: failed all the same
        [],
    ]
    assert errors[1][0].evalue.startswith(
        "this cell exceeded the grading kernel's limit of 40 processes and threads "
        "(PROCESS_LIMIT in autograder/settings.py)"
    )
    assert errors[3][0].evalue.startswith(
        "this cell exceeded the grading kernel's disk limit of 256 MiB for its "
        "folder, /tmp and /dev/shm together (DISK_LIMIT in autograder/settings.py): "
    )
    assert errors[5][0].evalue == (
        "this cell exceeded the grading kernel's memory limit of 2 GiB "
        "(MEMORY_LIMIT in autograder/settings.py)"
    )
    # Each later cell ran in a fresh sandbox, the cells above it replayed.
    assert [o.text for o in outs[2]] == ["True 2\n"]  # bwrap's init, the kernel
    assert [o.text for o in outs[4]] == ["True\n"]
    assert [o.text for o in outs[6]] == ["after memory\n"]
    assert [o.text for o in outs[8]] == ["after threads\n"]


# ---- where no bound can be applied ------------------------------------------------

READ_ONLY_CGROUPS = (
    'for m in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do mount -o remount,bind,ro "$m"; '
    'done; exec "$@"'
)


def without_writable_cgroups(*command: str) -> subprocess.CompletedProcess:
    """`command` in a mount namespace of its own whose cgroup filesystems are
    read-only, as in a container (it changes nothing outside)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root to make a mount namespace")
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", READ_ONLY_CGROUPS, "sh", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PATH": path},
    )


NOT_BOUNDED = (
    "cannot bound the sandbox: no cgroup of the pids controller is writable here "
    f"({bounds.FIX})"
)


def test_without_a_writable_cgroup_grade_refuses_in_one_line(tmp_path):
    run = without_writable_cgroups(
        sys.executable, "-m", "autograder", "grade", str(tmp_path)
    )
    assert run.returncode == 2
    refused = f"lstm-course: {NOT_BOUNDED}; or grade unsealed with --unsealed\n"
    assert run.stderr == refused


def test_without_a_writable_cgroup_check_says_it_runs_unsealed(tmp_path):
    run = without_writable_cgroups(
        sys.executable, "-m", "autograder", "check", str(tmp_path / "missing.ipynb")
    )
    unsealed = f"lstm-course: {NOT_BOUNDED}; checking unsealed"
    assert run.stderr.splitlines()[0] == unsealed


NBGRADER = """
import sys
from pathlib import Path
from autograder.grading import course
masters = Path(sys.argv[1])
with course.TempCourse(masters) as temp:
    temp.submit("s", "00_fixture", masters / "00_fixture" / "00_fixture.ipynb")
    print(temp.autograde("s", "00_fixture"))
"""


def test_without_a_writable_cgroup_nbgrader_reports_the_line():
    masters = Path(__file__).parent / "fixtures" / "course"
    run = without_writable_cgroups(sys.executable, "-c", NBGRADER, str(masters))
    assert run.stdout.strip() == (
        f"{NOT_BOUNDED}; or grade unsealed (--unsealed / LSTM_COURSE_UNSEALED=1)"
    ), run.stderr[-2000:]


# ---- a class, under the real defaults ---------------------------------------------


def tracker(pid: int) -> bool:
    """Whether `pid` is multiprocessing's resource tracker, which the first pool
    of spawned processes starts and which lives as long as this process."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Watch:
    """The host while grading runs, sampled: processes below this one, the free
    space of its temporary folder's disk and of /dev/shm, and each sandbox's
    cgroup (its processes and threads at most, its cpu quota)."""

    processes: list[int] = field(default_factory=list)
    free: list[int] = field(default_factory=list)
    shm: list[int] = field(default_factory=list)
    tasks: dict[str, int] = field(default_factory=dict)
    quotas: dict[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        below = [p for p in sandbox.descendants(os.getpid()) if not tracker(p)]
        self.processes.append(len(below))
        self.free.append(shutil.disk_usage(tempfile.gettempdir()).free)
        self.shm.append(shutil.disk_usage("/dev/shm").used)
        graders = {str(pid) for pid in below}
        parent = next(iter(place().parents.values()))
        for folder in parent.iterdir() if parent.exists() else []:
            if folder.name.split("-")[0] not in graders:
                continue
            cgroup = bounds.Cgroup(place(), folder.name)
            try:
                tasks = int((cgroup.folder("pids") / "pids.current").read_text())
                if place().cpu:
                    self.quotas[folder.name] = cpu_quota(cgroup)
            except (OSError, ValueError):
                continue  # ended meanwhile
            self.tasks[folder.name] = max(tasks, self.tasks.get(folder.name, 0))

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.25)


@pytest.fixture(scope="module")
def watched_class():
    """BOUNDED's attackers and the honest students graded together by `grade
    --jobs 2`, the host watched meanwhile; the honest students alone too."""
    marker = f"lstm-bounds-{uuid.uuid4().hex[:12]}"
    watch = Watch()
    watch.sample()
    before = (watch.processes[0], watch.free[0], watch.shm[0])
    sampler = threading.Thread(target=watch.run, daemon=True)
    sampler.start()
    try:
        together = classroom.grade_class("bounds", BOUNDED, classroom.HONEST, marker)
    finally:
        watch.stop.set()
        sampler.join()
    after = Watch()
    after.sample()
    alone = classroom.grade_class("bounds-alone", [], classroom.HONEST, marker)
    results = classroom.Results([together], alone, {}, None)
    return results, watch, before, (after.processes[0], after.free[0], after.shm[0])


@pytest.mark.parametrize("attack", BOUNDED, ids=lambda a: a.name)
def test_bound_attack_earns_exactly_its_expected_outcome(watched_class, attack):
    results, *_ = watched_class
    assert results.mismatches(attack) == []
    path = classroom.autograded(results, attack.name)
    assert path is not None
    answer = harness.answer_cell(notebooks.read(path), "gru-cell")
    named = [bound_hit(o) for o in answer.outputs if o.output_type == "error"]
    assert named == ([BOUND_HIT[attack.name]] if attack.name in BOUND_HIT else [])


def test_the_honest_students_earn_what_they_earn_alone(watched_class):
    results, *_ = watched_class
    (klass,) = results.classes
    assert len(klass.graded) >= 6
    for student in classroom.HONEST:
        assert klass.graded[student].scores == results.alone.graded[student].scores
    assert classroom.honest_rows_changed(results) == []
    assert klass.survivors == []


def test_the_host_is_as_it_was(watched_class):
    """While the class was graded no sandbox held more than PROCESS_LIMIT tasks or
    more than its core, the host's processes stayed within two full sandboxes and
    its disk lost no more than the graded files; after it, processes, free disk and
    /dev/shm are what they were."""
    _, watch, before, after = watched_class
    print(  # seen with pytest -s: what the host went through
        f"\nprocesses below the grader {before[0]} -> at most {max(watch.processes)} "
        f"-> {after[0]}; free disk {before[1] >> 20} MiB -> at least "
        f"{min(watch.free) >> 20} MiB -> {after[1] >> 20} MiB; /dev/shm used "
        f"{before[2] >> 20} -> {after[2] >> 20} MiB; sandboxes {len(watch.tasks)}, "
        f"tasks at most {max(watch.tasks.values())}, "
        f"cpu quotas {set(watch.quotas.values())}"
    )
    assert watch.tasks and max(watch.tasks.values()) <= settings.PROCESS_LIMIT
    if place().cpu:
        assert set(watch.quotas.values()) == {settings.CPU_LIMIT}
    grader = 40  # the grading processes themselves, sandboxes' first processes
    assert max(watch.processes) <= batches.JOBS * settings.PROCESS_LIMIT + grader
    # Other work on this machine writes too: a margin, well under the filler's GiB.
    assert before[1] - min(watch.free) < settings.DISK_LIMIT // 2
    assert after[0] == before[0]
    assert abs(after[1] - before[1]) < 256 * MiB
    assert abs(after[2] - before[2]) < 64 * MiB


def test_the_class_is_the_one_of_the_issue():
    """At least six students, a fork bomb and a disk filler among them, every one
    of 02 (whose honest baselines tests/test_adversarial.py proves)."""
    names = {a.name for a in BOUNDED}
    assert {"fork-bomb", "thread-bomb", "disk-filler", "cpu-burner"} <= names
    assert {"memory-in-many-processes", "torch-thread-bomb"} <= names
    assert len(BOUNDED) + len(classroom.HONEST) >= 6
    assert {a.assignment for a in BOUNDED} == {CELL}
