"""Limits on what a graded cell leaves in the notebook.

`OutputLimit` is a mixin for nbclient's `NotebookClient` (and so nbgrader's
`Execute`): a cell keeps at most `settings.OUTPUT_LIMIT` bytes of output, then one
line saying where it was cut; error outputs are always kept (shortened if huge),
so a flood of output can never hide a failure. In a sealed kernel, an error that
says the kernel ran out of memory is reworded to name the memory limit.
"""

from __future__ import annotations

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
# How torch and Python say an allocation was refused.
OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "Cannot allocate memory")


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


def is_out_of_memory(output: dict) -> bool:
    text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
    return "MemoryError" in text or any(s in text for s in OUT_OF_MEMORY)


def name_memory_limit(output: NotebookNode, limit: int | None = None) -> NotebookNode:
    """`output` itself; when it is an error saying memory ran out, its evalue
    now names the limit first."""
    if output.get("output_type") == "error" and is_out_of_memory(output):
        said = str(output.get("evalue", "")).strip().splitlines()
        message = _(MEMORY).format(limit=human(limit or settings.MEMORY_LIMIT))
        output["evalue"] = f"{message}: {said[0]}" if said else message
    return output


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
                    name_memory_limit(out)
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
    hit, or "": what `grade` lists for the instructor."""
    if output.get("output_type") != "error":
        return ""
    if is_out_of_memory(output):
        return "MEMORY_LIMIT"
    return ""
