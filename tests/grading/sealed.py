"""Code cells run through the grading step in a sealed kernel, as nbgrader runs a
notebook's cells (without trusted test cells): what each cell left behind."""

from __future__ import annotations

from pathlib import Path

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
