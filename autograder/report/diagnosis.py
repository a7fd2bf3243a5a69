"""Why a graded cell lost its points, read from what it printed.

A failed check ends its message with the mistake's id (`[lstm-gates/gate-order]`,
`autograder.checks.core.mistake_of`). A lost cell without one falls in a category
of its own: not answered, refused (the "must not call what it implements" rule, or
tampering with its watch), a bound hit, a timeout, a kernel that died, the
learner's code raising, or a check that names no mistake.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from autograder import i18n
from autograder.checks.core import mistake_of
from autograder.grading.feedback import ANSI
from autograder.i18n import N_, _
from autograder.sealed.hatches import REFUSED
from autograder.sealed.limits import bound_hit

MISTAKE = "mistake"  # a check named the mistake: `Diagnosis.mistake`
UNNAMED = "unnamed"  # a check failed without naming a mistake
RAISED = "raised"  # the cell raised something other than a check's failure
NOT_ANSWERED = "not-answered"
REFUSAL = "refused"
BOUND = "bound"
TIMEOUT = "timeout"
KERNEL_DIED = "kernel-died"
SILENT = "silent"  # no error shown (stderr output, a deleted or edited cell)

# What the instructor reads for each category, in the report's language.
KINDS = {
    MISTAKE: N_("a diagnosed mistake"),
    UNNAMED: N_("a check failed without naming the mistake"),
    RAISED: N_("the learner's code raised an error"),
    NOT_ANSWERED: N_("not answered"),
    REFUSAL: N_("refused by the grader"),
    BOUND: N_("a grading limit was hit"),
    TIMEOUT: N_("stopped at the time limit"),
    KERNEL_DIED: N_("the kernel died"),
    SILENT: N_("lost without an error (output on stderr, or a changed cell)"),
}

# The grader's refusals of the rule "an answer must not call what it implements":
# a forbidden call (as `sealed.remote.Link.call` words it) and a refused construct
# in the learner's code (`sealed.screen`).
REFUSALS = (
    N_(
        "your code uses {name}, which this exercise asks you to implement "
        "yourself: write it with tensor operations"
    ),
    REFUSED,
)


@dataclass(frozen=True)
class Diagnosis:
    kind: str
    mistake: str = ""  # the check's mistake id, for MISTAKE
    message: str = ""  # what the learner read, without the id
    detail: str = ""  # the setting of a bound hit (MEMORY_LIMIT…)


@functools.cache
def _refusal_patterns() -> tuple[tuple[str, re.Pattern], ...]:
    """The refusals in every language, their fields matching anything; each with
    its longest fixed part, looked for first (a plain search is fast, the
    pattern's is not)."""
    patterns = []
    for lang in i18n.LANGUAGES:
        with i18n.use(lang):
            for template in REFUSALS:
                parts = re.split(r"\{[a-z_]+\}", _(template))
                pieces = [piece for part in parts for piece in i18n.PAIR.split(part)]
                needle = max(pieces, key=len)
                patterns.append((needle, re.compile(".+?".join(map(_literal, parts)))))
    return tuple(patterns)


def _literal(text: str) -> str:
    """A regular expression for `text`, a Korean particle pair matching either
    of its forms."""
    out, last = [], 0
    for found in i18n.PAIR.finditer(text):
        forms = i18n.PAIRS[found.group()]
        out += [re.escape(text[last : found.start()]), f"(?:{'|'.join(forms)})"]
        last = found.end()
    return "".join(out) + re.escape(text[last:])


def is_refusal(message: str) -> bool:
    return any(n in message and p.search(message) for n, p in _refusal_patterns())


def _text(value) -> str:
    text = "".join(value) if isinstance(value, list) else str(value or "")
    return ANSI.sub("", text).strip()


def without_id(message: str, mistake: str) -> str:
    suffix = f" [{mistake}]"
    return message[: -len(suffix)].rstrip() if message.endswith(suffix) else message


def diagnose(outputs: list[dict]) -> Diagnosis:
    """Why a cell whose outputs are `outputs` lost its points."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        stderr = [o for o in outputs if o.get("name") == "stderr"]
        return Diagnosis(SILENT, message=_text(stderr[0].get("text")) if stderr else "")
    error = errors[0]
    ename, evalue = str(error.get("ename", "")), _text(error.get("evalue"))
    mistake = mistake_of(evalue)
    message = without_id(evalue, mistake) if mistake else evalue
    if is_refusal(message):
        return Diagnosis(REFUSAL, mistake, message)
    if setting := bound_hit(error):
        return Diagnosis(BOUND, mistake, message, setting)
    if ename == "CellTimeoutError":
        return Diagnosis(TIMEOUT, mistake, message, "DEFAULT_TIMEOUT")
    if ename == "KernelDied":
        return Diagnosis(KERNEL_DIED, mistake, message)
    if ename in ("NotAnswered", "NotImplementedError"):
        return Diagnosis(NOT_ANSWERED, mistake, message)
    if mistake:
        return Diagnosis(MISTAKE, mistake, message)
    if ename == "CheckFailed":
        return Diagnosis(UNNAMED, message=message)
    return Diagnosis(RAISED, message=f"{ename}: {message}" if message else ename)
