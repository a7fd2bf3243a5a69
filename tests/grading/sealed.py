"""Sealed kernels for tests: one started and spoken to directly (`SealedKernel`),
or code cells run through the grading step, as nbgrader runs a notebook's cells
(without trusted test cells): what each cell left behind (`run_cells`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from jupyter_client.utils import run_sync
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.execute import ResilientExecute
from autograder.sealed.sandbox import SealedKernelManager


def run_cells(cells: list[str], folder: Path, timeout: int) -> list[list]:
    """Each cell's outputs, the cells run in order by `ResilientExecute` in a
    sealed kernel started in `folder`."""
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    step = ResilientExecute(
        kernel_manager_class=SealedKernelManager,
        timeout=timeout,
        allow_errors=True,
        trusted_tests=False,
    )
    done, _ = step.preprocess(nb, {"metadata": {"path": str(folder)}})
    return [cell.outputs for cell in done.cells]


class SealedKernel:
    """A sealed kernel started in `cwd`, and its client."""

    def __init__(self, cwd: Path):
        self.km = SealedKernelManager(kernel_name="python3")
        run_sync(self.km.start_kernel)(cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=120)
        self.closed = False

    def execute(self, code: str, timeout: float = 120) -> tuple[str, list]:
        """The reply's status, and in order what the code printed (strings) and
        raised ((name, message) pairs)."""
        said: list = []

        def hook(msg):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                said.append(content["text"])
            if msg["msg_type"] == "error":
                said.append((content["ename"], content["evalue"]))

        reply = run_sync(self.kc.execute_interactive)(
            textwrap.dedent(code), output_hook=hook, timeout=timeout
        )
        return reply["content"]["status"], said

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.kc.stop_channels()
            run_sync(self.km.shutdown_kernel)()
