"""nbgrader's Execute step, made to survive a kernel that dies.

Stock nbgrader drops the whole submission when the kernel dies (`os._exit`, a
crash, the memory killer). Here the cell that killed it gets an error output (so it
and its own tests score zero), the kernel is restarted, the cells above are run
again without keeping their outputs, and grading goes on with the cells below.
"""

from __future__ import annotations

import copy
import subprocess

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

KERNEL_DIED = (
    "the kernel died while running this cell (os._exit, sys.exit from a thread, "
    "a crash or too much memory); it was restarted and grading went on below"
)


class ResilientExecute(Execute):
    """`Execute` that restarts a dead kernel and carries on with the next cell."""

    def start_new_kernel(self, **kwargs) -> None:
        # The kernel's own log (not cells' output) would only clutter the terminal.
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        super().start_new_kernel(**kwargs)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        self._killers: set[int] = set()
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.warning("Kernel died in cell %d; restarting it", index)
            self._killers.add(index)
            cell.outputs = [
                new_output(
                    "error", ename="KernelDied", evalue=KERNEL_DIED, traceback=[]
                )
            ]
            self._restart_kernel()
            self._replay(index)
            return cell, self.resources

    def _restart_kernel(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        run_sync(self.km.restart_kernel)(now=True)
        self.start_new_kernel_client()

    def _replay(self, stop: int) -> None:
        """Run the code cells above `stop` again, keeping their recorded outputs."""
        for index, cell in enumerate(self.nb.cells[:stop]):
            if cell.cell_type == "code" and index not in self._killers:
                try:
                    self.execute_cell(copy.deepcopy(cell), index, store_history=False)
                except DeadKernelError:
                    self._restart_kernel()
