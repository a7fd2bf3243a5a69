"""nbgrader's Execute step: graded tests judged outside the learner's kernel, and a
kernel that dies costs one cell.

Graded test cells run in the grading process (`autograder.sealed.trusted`), calling the
learner's functions in the learner's kernel through proxies, so learner code
cannot change the checks that judge it. Every other cell runs in the kernel as
usual (sealed in bubblewrap when `options.apply(sealed=True)`).

Stock nbgrader drops the whole submission when the kernel dies (`os._exit`, a
crash, the memory killer). Here the cell that killed it gets an error output (so it
and its own tests score zero), the kernel is restarted, the cells above are run
again without keeping their outputs, and grading goes on with the cells below. A
cell that hits a bound of its sealed sandbox (processes, memory, disk:
`autograder.sealed.bounds`) fails the same way, with an error naming the bound, and
the sandbox is renewed, so the cells below start from a clean one.

The grader's own torch, `lstm_ref` and checks (`trusted`) are imported only once the
learner's kernel has been launched, so they load while it boots on another core:
`check` gives feedback sooner.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_client import BlockingKernelClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, default

from autograder import i18n, notebooks
from autograder.errors import CourseError
from autograder.grading import incidents
from autograder.i18n import N_, _
from autograder.sealed import limits
from autograder.sealed.limits import OutputLimit
from autograder.sealed.sandbox import SealedKernelManager

if TYPE_CHECKING:
    from autograder.sealed import remote, trusted

NO_AUTOMAGIC = "--InteractiveShell.automagic=False"
# The kernel's first line: torch's fused operators become Python stand-ins
# (autograder.sealed.agent.arm), so the watch sees them called even from C code.
ARM = "__import__('autograder.sealed.agent').sealed.agent.arm()"  # binds no name
KERNEL_DIED = N_(
    "the kernel died while running this cell (os._exit, sys.exit from a thread, "
    "a crash or too much memory); it was restarted and grading went on below"
)


def is_test(cell: NotebookNode) -> bool:
    meta = notebooks.nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


class ResilientExecute(OutputLimit, Execute):
    """`Execute` with trusted test cells, bounded outputs, and a kernel that may
    die."""

    trusted_tests = Bool(
        True,
        help="Run graded test cells in the grading process, calling the learner's "
        "code in its kernel through proxies (autograder/sealed/trusted.py).",
    ).tag(config=True)

    sealed = Bool(
        False,
        help="Run the learner's kernel in bubblewrap (autograder/sealed/sandbox.py).",
    ).tag(config=True)

    @default("shutdown_kernel")
    def _at_once(self) -> str:
        """Once every cell has run nothing of the kernel is needed: it is ended at
        once, not given time for its atexit hooks (over half a second with torch)."""
        return "immediate"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sealed:  # nbgrader's Execute passes its manager class as an argument,
            self.kernel_manager_class = SealedKernelManager  # which config can't beat

    def start_new_kernel(self, **kwargs) -> None:
        # The kernel's own log (not cells' output) would only clutter the terminal.
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        # The kernel speaks the notebook's language (a Korean edition's "ko").
        kwargs.setdefault("env", {**os.environ, i18n.ENV: i18n.current()})
        # A sealed kernel's folder is seeded from the master's folder, never the
        # submission's: files beside a submitted notebook (IPython startup files,
        # modules named like the library's, a matplotlibrc) are code no one read.
        if self.sealed:
            kwargs.setdefault("cwd", str(self.master().parent))
        # A one-line cell `run x.py` or `sx cmd` would run as a magic: only what
        # autograder.sealed.screen reads runs (its magics written `%`, `!`). And
        # torch's fused operators are Python stand-ins before any cell runs (ARM).
        for argument in (NO_AUTOMAGIC, f"--IPKernelApp.exec_lines={ARM}"):
            if argument not in self.extra_arguments:
                self.extra_arguments = [*self.extra_arguments, argument]
        super().start_new_kernel(**kwargs)
        try:  # while the kernel boots
            self._prepare_tests()
        except BaseException:
            self._cleanup_kernel()
            raise

    def _prepare_tests(self) -> None:
        """Before any cell runs: the runner of the test cells, and the rule's
        static half read over the learner's notebook."""
        if self.trusted_tests and self._tests is None:
            self._tests = self.trusted_runner()
            self._tests.read(self.nb)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        with i18n.use(i18n.of_notebook(nb)):  # feedback in the notebook's language
            return self._preprocess(nb, resources, km)

    def _preprocess(self, nb: NotebookNode, resources=None, km=None):
        self._killers: set[int] = set()
        self._link: remote.Link | None = None
        self._tests: trusted.TrustedTests | None = None  # see _prepare_tests
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            self._close_link()
        incidents.record(nb, self._tests.incidents if self._tests else [])
        return nb, resources

    def master(self) -> Path:
        """The master of the notebook being graded (nbgrader's source)."""
        ids = (self.resources or {}).get("nbgrader", {})
        assignment, notebook = ids.get("assignment"), ids.get("notebook")
        if not assignment:
            raise CourseError("grading needs nbgrader's assignment id")
        course = CourseDirectory(config=self.config)
        folder = course.format_path(course.source_directory, ".", assignment)
        return Path(folder) / f"{notebook}.ipynb"

    def trusted_runner(self) -> trusted.TrustedTests:
        """The runner of this notebook's test cells, from its master."""
        from autograder.sealed import trusted

        master = self.master()
        return trusted.TrustedTests(notebooks.read(master), master.parent)

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        self._prepare_tests()  # made as the kernel started, unless it was given
        try:
            if self._tests is not None and is_test(cell):
                cell = self._run_trusted(cell, index)
            else:
                cell, _resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:  # remote.KernelGone too
            self.log.warning("Kernel died in cell %d; restarting it", index)
            died = new_output(
                "error", ename="KernelDied", evalue=_(KERNEL_DIED), traceback=[]
            )
            cell.outputs = [died]
            limits.report(cell.outputs, self._bounds_hit([]))  # the OOM killer's?
            self._renew(index)
            return cell, self.resources
        except CellTimeoutError:
            # A kernel starved by a bound (no thread to send its output with) must
            # not cost the whole notebook: that cell fails, naming the bound.
            hit = self._bounds_hit([])
            if not hit:
                raise
            cell.outputs = []
            limits.report(cell.outputs, hit)
            self._renew(index)
            return cell, self.resources
        hit = self._bounds_hit(cell.get("outputs", []))  # markdown has none
        if hit:
            self.log.warning("Cell %d hit %s; renewing its sandbox", index, hit)
            limits.report(cell.outputs, hit)
            self._renew(index)
        return cell, self.resources

    def _bounds_hit(self, outputs: list) -> list[str]:
        """The bounds the sandbox hit since the last look, its disk's as `outputs`
        report it (none unsealed)."""
        if not isinstance(self.km, SealedKernelManager):
            return []
        hit = self.km.bounds_hit()
        disk = any(limits.bound_hit(o) == "DISK_LIMIT" for o in outputs)
        return hit + (["DISK_LIMIT"] if disk else [])

    def _renew(self, index: int) -> None:
        """A fresh kernel (and sandbox) with the cells above run again, all but the
        one that killed it or hit a bound."""
        self._killers.add(index)
        self._restart_kernel()
        self._replay(index)

    def _run_trusted(self, cell: NotebookNode, index: int) -> NotebookNode:
        link, timeout = self.link(), self._get_timeout(cell) or float("inf")
        link.deadline = time.monotonic() + timeout
        link.run(self._tests.import_lines(cell.source))  # the kernel's names as before
        self._tests.run(cell, link, timeout)
        if isinstance(self.km, SealedKernelManager):
            for output in cell.outputs:
                limits.name_bound(output)
        self.nb.cells[index] = cell
        return cell

    # ---- the line to the kernel ----

    def link(self) -> remote.Link:
        from autograder.sealed import remote

        if self._link is None:
            client = BlockingKernelClient(context=remote.bounded_context())
            client.load_connection_info(self.km.get_connection_info())
            client.start_channels(
                shell=True, iopub=False, stdin=False, hb=False, control=False
            )
            self._link = remote.Link(
                client,
                interrupt=lambda: run_sync(self.km.interrupt_kernel)(),
                alive=lambda: run_sync(self.km.is_alive)(),
            )
        return self._link

    def _close_link(self) -> None:
        if self._link is not None:
            self._link.client.stop_channels()
            self._link.client.context.destroy(linger=0)
            self._link = None

    # ---- a dead kernel ----

    def _restart_kernel(self) -> None:
        self._close_link()
        if self.kc is not None:
            self.kc.stop_channels()
        run_sync(self.km.restart_kernel)(now=True)
        self.start_new_kernel_client()

    def _replay(self, stop: int) -> None:
        """Run the code cells above `stop` again, keeping their recorded outputs
        (test cells only for their imports: their verdicts are recorded)."""
        for index, cell in enumerate(self.nb.cells[:stop]):
            if cell.cell_type != "code" or index in self._killers:
                continue
            try:
                if self._tests is not None and is_test(cell):
                    link = self.link()
                    link.deadline = time.monotonic() + (self.timeout or 60)
                    link.run(self._tests.import_lines(cell.source))
                else:
                    self.execute_cell(copy.deepcopy(cell), index, store_history=False)
                    self.nb.cells[index] = cell
            except DeadKernelError:  # remote.KernelGone too
                self._restart_kernel()
            except CellTimeoutError:  # its output late on a busy machine: kept as
                pass  # recorded, and the cells below are run again all the same
