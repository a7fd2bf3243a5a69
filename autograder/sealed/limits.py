"""Limits on what a graded cell leaves in the notebook.

`OutputLimit` is a mixin for nbclient's `NotebookClient` (and so nbgrader's
`Execute`): a cell keeps at most `settings.OUTPUT_LIMIT` bytes of output, then one
line saying where it was cut; error outputs are always kept (shortened if huge),
so a flood of output can never hide a failure. In a sealed kernel, an error that
says the kernel ran out of memory or disk is reworded to name the limit.

A cell that hit a bound of its sandbox (`autograder.sealed.bounds`: processes,
memory) gets an error naming it (`report`); `bound_hit` reads the bound back from
an error output, whatever its language.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode
from nbformat.v4 import new_output

from autograder import settings
from autograder.i18n import N_, _
from autograder.sealed.sandbox import SealedKernelManager

CUT = N_("\n[output cut at {limit:,} bytes (OUTPUT_LIMIT in autograder/settings.py)]\n")
MEMORY = N_(
    "this cell exceeded the grading kernel's memory limit of {limit} "
    "(MEMORY_LIMIT in autograder/settings.py)"
)
PROCESSES = N_(
    "this cell exceeded the grading kernel's limit of {limit} processes and "
    "threads (PROCESS_LIMIT in autograder/settings.py)"
)
DISK = N_(
    "this cell exceeded the grading kernel's disk limit of {limit} for its folder, "
    "/tmp and /dev/shm together (DISK_LIMIT in autograder/settings.py)"
)
BOUNDS = {"PROCESS_LIMIT": PROCESSES, "DISK_LIMIT": DISK, "MEMORY_LIMIT": MEMORY}
# How torch and Python say an allocation was refused.
OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "Cannot allocate memory")
DISK_FULL = ("No space left on device", "[Errno 28]")  # ENOSPC


def nbytes(text) -> int:
    if isinstance(text, list):  # nbformat allows multi-line strings as lists
        text = "".join(text)
    return len(str(text).encode("utf-8", "surrogatepass"))


def size(output: dict) -> int:
    """Bytes an output (or an iopub message's content) adds to the notebook."""
    if "text" in output:
        return nbytes(output["text"])
    if "data" in output:
        return sum(nbytes(value) for value in output["data"].values())
    return nbytes(output.get("evalue", "")) + nbytes(output.get("traceback", []))


def human(limit: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if limit >= scale:
            return f"{limit / scale:g} {unit}"
    return _("{limit:,} bytes").format(limit=limit)


def said(output: dict) -> str:
    return f"{output.get('ename', '')}: {output.get('evalue', '')}"


def is_out_of_memory(output: dict) -> bool:
    text = said(output)
    return "MemoryError" in text or any(s in text for s in OUT_OF_MEMORY)


def is_disk_full(output: dict) -> bool:
    return any(s in said(output) for s in DISK_FULL)


def message(bound: str) -> str:
    """The learner's sentence for `bound` (a setting's name), with its value."""
    limit = getattr(settings, bound)
    shown = limit if bound == "PROCESS_LIMIT" else human(limit)
    return _(BOUNDS[bound]).format(limit=shown)


def names(output: dict, bound: str) -> bool:
    """Whether the error's message names `bound`."""
    return re.search(rf"\b{bound}\b", str(output.get("evalue", ""))) is not None


def name_bound(output: NotebookNode, bound: str = "") -> NotebookNode:
    """`output` itself; when it is an error saying memory or disk ran out (or
    `bound` was hit), its evalue now names the bound first."""
    if output.get("output_type") != "error":
        return output
    if not bound:
        bound = "MEMORY_LIMIT" if is_out_of_memory(output) else ""
        bound = bound or ("DISK_LIMIT" if is_disk_full(output) else "")
    if bound and not names(output, bound):
        first = str(output.get("evalue", "")).strip().splitlines()
        output["evalue"] = f"{message(bound)}: {first[0]}" if first else message(bound)
    return output


def report(outputs: list, bounds: list[str]) -> None:
    """The cell's last error names each of `bounds`; a cell without an error gets
    one (the cell that hit a bound fails, whatever its code caught)."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not bounds:
        return
    if not errors:
        evalue = ": ".join(message(bound) for bound in bounds)
        outputs.append(
            new_output("error", ename="SandboxLimit", evalue=evalue, traceback=[])
        )
        return
    for bound in bounds:
        name_bound(errors[-1], bound)


def shorten(output: NotebookNode, limit: int) -> NotebookNode:
    """An error output of at most about `limit` bytes: evalue cut, traceback
    reduced to its last line when it alone is too long."""
    if size(output) > limit:
        evalue = str(output.get("evalue", ""))
        if nbytes(evalue) > limit // 2:
            output["evalue"] = evalue[: limit // 8] + _(CUT).format(limit=limit).strip()
        output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}"]
    return output


class OutputLimit:
    """Mixin for `NotebookClient`: each cell keeps at most `output_limit` bytes."""

    output_limit: int = settings.OUTPUT_LIMIT

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        if msg["msg_type"] == "error":
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None:
                shorten(out, self.output_limit)
                if isinstance(getattr(self, "km", None), SealedKernelManager):
                    name_bound(out)
            return out
        marker = _(CUT).format(limit=self.output_limit)
        if any(o.get("text") == marker for o in outs):
            return None  # already cut
        room = self.output_limit - sum(size(o) for o in outs)
        if size(content) <= room:
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "stream" and room > 0:
            head = content["text"].encode("utf-8", "surrogatepass")[:room]
            text = head.decode("utf-8", "ignore")
            outs.append(new_output("stream", name=content["name"], text=text))
        outs.append(new_output("stream", name="stdout", text=marker))
        return None


def bound_hit(output: dict) -> str:
    """The setting (`settings.<NAME>`) whose bound this cell output reports having
    hit, or "": what `grade` lists for the instructor. Named bounds are read from
    the message (in any language it keeps the setting's name), the others from
    Python's own words."""
    if output.get("output_type") != "error":
        return ""
    for bound in BOUNDS:
        if names(output, bound):
            return bound
    if is_out_of_memory(output):
        return "MEMORY_LIMIT"
    if is_disk_full(output):
        return "DISK_LIMIT"
    return ""
