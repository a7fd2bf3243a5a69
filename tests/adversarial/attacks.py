"""The attacks: each one a student's submission built from the masters' filled
release, and the outcome sealed grading must give it.

Every attack starts from honest answers (`ANSWERS`: all right, all slightly wrong,
or blank) and adds what a cheating or careless student would. Its expected outcome
is exact: per graded cell, the score of the same answers graded without the attack
(the honest baseline), except the exercises in `zeroed`, which score 0 with
`feedback` in their failing test's line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import nbformat
from adversarial import payloads
from grading import harness
from nbformat import NotebookNode

from autograder import settings

CELL = "02_lstm_cell"
SMALL_ERROR = "(1 + 1e-4)"  # wrong by 1e-4: far above the checks' float64 tolerance

# Answers wrong by a little in every exercise of 02: what the patching attacks rescue.
SLIGHTLY_WRONG = [
    harness.Mistake(CELL, exercise, "slightly wrong", old, new, "")
    for exercise, old, new in [
        ("forget-gate-predict", "predicted_f = 0.88", "predicted_f = 0.86"),
        ("forget-gate-predict", 'forget_gate_claim = "B"', 'forget_gate_claim = "A"'),
        (
            "lstm-gates",
            "return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), "
            "torch.sigmoid(o)",
            "gates = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), "
            "torch.sigmoid(o)\n"
            f"    return tuple(gate * {SMALL_ERROR} for gate in gates)",
        ),
        (
            "lstm-cell",
            "h_next = o * torch.tanh(c_next)",
            f"h_next = o * torch.tanh(c_next) * {SMALL_ERROR}",
        ),
        ("num-parameters", "return weights + biases", "return weights + biases + 1"),
        (
            "memory-cell",
            '"f": ([0.0, 0.0], [0.0], 10.0)',
            '"f": ([0.0, 0.0], [0.0], 0.0)',
        ),
        (
            "gru-cell",
            "return (1 - z) * n + z * h",
            f"return ((1 - z) * n + z * h) * {SMALL_ERROR}",
        ),
    ]
]

FILLED, WRONG, BLANK = "filled", "slightly-wrong", "blank"


@dataclass(frozen=True)
class Context:
    """What an attack may know: the folder it is confined to, a process marker."""

    scope: str
    marker: str


Builder = Callable[[NotebookNode, Context], NotebookNode]


@dataclass(frozen=True)
class Attack:
    name: str
    answers: str  # FILLED, WRONG or BLANK: the honest answers it starts from
    build: Builder
    zeroed: tuple[str, ...] = ()  # exercises that must score 0 ...
    feedback: str = ""  # ... with this in their feedback line
    assignment: str = CELL
    via: str = "grade"  # "grade", "check" or "nbgrader" (plain autograde)

    @property
    def student(self) -> str:
        return f"attack-{self.name}"


# ---- building submissions -------------------------------------------------------


def call(fn: Callable, *args: object) -> str:
    """`fn`'s source and one call of it, for a notebook cell."""
    arguments = ", ".join(repr(a) for a in args)
    return f"{inspect.getsource(fn)}\n\n{fn.__name__}({arguments})\n"


def edit(nb: NotebookNode, exercise: str, code: str, where: str) -> NotebookNode:
    """`code` put before, after or instead of `exercise`'s answer."""
    nb = nbformat.from_dict(nb)
    cell = harness.answer_cell(nb, exercise)
    cell.source = {
        "before": f"{code}\n{cell.source}",
        "after": f"{cell.source}\n{code}",
        "instead": code,
    }[where]
    return nb


def first(code: Callable[[Context], str], where: str = "before") -> Builder:
    """The attack in the notebook's first answer cell: before any test runs."""
    return lambda nb, ctx: edit(nb, "forget-gate-predict", code(ctx), where)


def in_last(code: Callable[[Context], str], where: str = "before") -> Builder:
    """The attack in gru-cell's answer, the last exercise (nothing depends on it)."""
    return lambda nb, ctx: edit(nb, "gru-cell", code(ctx), where)


# Each answer cell of a thief's notebook fetches its answer its own way, so the
# scores say which ways are open.
CHANNELS = {
    "forget-gate-predict": "masters",
    "lstm-gates": "parent",
    "lstm-cell": "resources",
    "num-parameters": "finder",
    "memory-cell": "metadata",
    "gru-cell": "git",
}


def steal(channel: str | None = None) -> Builder:
    """Every answer cell holds only: fetch this exercise's answer through `channel`
    (each exercise through its own of CHANNELS when None)."""

    def build(nb: NotebookNode, ctx: Context) -> NotebookNode:
        for number, (exercise, own) in enumerate(CHANNELS.items()):
            code = call(payloads.steal_answers, exercise, channel or own, ctx.scope)
            if number:  # the function is defined once, in the first cell
                code = code.split("\n\n\n")[-1]
            nb = edit(nb, exercise, code, "instead")
        return nb

    return build


def poisoned(nb: NotebookNode, ctx: Context) -> NotebookNode:
    definition, run = call(payloads.poison_reference).rsplit("\n\n", 1)
    nb = edit(nb, "forget-gate-predict", definition, "before")
    for exercise in ("lstm-gates", "lstm-cell", "gru-cell"):
        nb = edit(nb, exercise, run, "after")
    return nb


def replaced(exercise: str, old: str, new: str) -> Builder:
    return lambda nb, ctx: harness.apply(
        nb, harness.Mistake(CELL, exercise, "", old, new, "")
    )


def answered(exercise: str, body: str) -> Builder:
    """`exercise`'s answer replaced by `body` (an answer that calls what it should
    implement)."""
    return lambda nb, ctx: edit(nb, exercise, body, "instead")


def chain(*builders: Builder) -> Builder:
    def build(nb: NotebookNode, ctx: Context) -> NotebookNode:
        for builder in builders:
            nb = builder(nb, ctx)
        return nb

    return build


# ---- answers that call what they should implement --------------------------------

LSTM_CELL_HEAD = (
    "def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):\n"
)
VIA_TORCH_LSTM_CELL = LSTM_CELL_HEAD + (
    "    batched = x.dim() == 2\n"
    "    if not batched:\n"
    "        x, state = x[None], tuple(s[None] for s in state)\n"
    "    h, c = torch.lstm_cell(x, list(state), weight_ih, weight_hh,\n"
    "                           bias_ih, bias_hh)\n"
    "    return (h, c) if batched else (h[0], c[0])\n"
)
VIA_VF_GRU_CELL = (
    "def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):\n"
    "    batched = x.dim() == 2\n"
    "    x, h = (x, h) if batched else (x[None], h[None])\n"
    "    out = torch._VF.gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)\n"
    "    return out if batched else out[0]\n"
)
VIA_LSTM_CELL_MODULE = LSTM_CELL_HEAD + (
    "    cell = torch.nn.LSTMCell(weight_ih.shape[1], weight_hh.shape[1],\n"
    "                             bias=bias_ih is not None, dtype=x.dtype)\n"
    "    with torch.no_grad():\n"
    "        cell.weight_ih.copy_(weight_ih)\n"
    "        cell.weight_hh.copy_(weight_hh)\n"
    "        if bias_ih is not None:\n"
    "            cell.bias_ih.copy_(bias_ih)\n"
    "            cell.bias_hh.copy_(bias_hh)\n"
    "        return cell(x, tuple(state))\n"
)
VIA_LSTM_REF = LSTM_CELL_HEAD + (
    "    import lstm_ref.functional\n\n"
    "    return lstm_ref.functional.lstm_cell(x, state, weight_ih, weight_hh,\n"
    "                                         bias_ih, bias_hh)\n"
)
VIA_NN_LSTM = (
    "def lstm_layer(x, params, state=None, batch_first=False):\n"
    "    H_in, H = params['weight_ih'].shape[1], params['weight_hh'].shape[1]\n"
    "    lstm = nn.LSTM(H_in, H, batch_first=batch_first, dtype=x.dtype)\n"
    "    with torch.no_grad():\n"
    "        for name, value in params.items():\n"
    "            getattr(lstm, name + '_l0').copy_(value)\n"
    "        return lstm(x, state)\n"
)
SUBCLASS_OF_NN_LSTM = (
    'class MyLSTM(nn.LSTM):\n    """nn.LSTM itself, under another name."""\n'
)
VIA_AUTOGRAD = (
    "def gates_backward(grad_h, grad_c, cache):\n"
    "    i, f, g, o = (cache[k] for k in 'ifgo')\n"
    "    a = torch.cat([torch.logit(i), torch.logit(f), torch.atanh(g),\n"
    "                   torch.logit(o)], dim=-1).detach().requires_grad_()\n"
    "    c = cache['c'].detach().requires_grad_()\n"
    "    a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)\n"
    "    c_next = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)\n"
    "    h_next = torch.sigmoid(a_o) * torch.tanh(c_next)\n"
    "    loss = (h_next * grad_h).sum() + (c_next * grad_c).sum()\n"
    "    grad_gates, grad_c_prev = torch.autograd.grad(loss, (a, c))\n"
    "    return grad_gates, grad_c_prev\n"
)
# The same calls, hidden from a watch on calls: the profiler switched off first,
# and the operators reached under another name (torch.ops.aten).
UNWATCHED = (
    "    import sys\n    import threading\n\n"
    "    sys.setprofile(None)\n    threading.setprofile(None)\n"
)
VIA_UNWATCHED_LSTM_CELL = VIA_TORCH_LSTM_CELL.replace(
    "    batched =", UNWATCHED + "    batched =", 1
)
VIA_ATEN_GRU_CELL = VIA_VF_GRU_CELL.replace(
    "torch._VF.gru_cell", "torch.ops.aten.gru_cell"
)
IMPLEMENT = "asks you to implement"
TAMPERED = "reaches into the grader's watch"
# Code an answer never needs, refused before it runs (autograder/sealed/screen.py):
# every exercise judged by calling the notebook's code (CALLED) scores 0, the cell
# runs all the same.
REFUSED = "is refused: an answer must compute what its exercise implements itself"
# 02's exercises judged by calling the notebook's functions (the others are values)
CALLED = ("lstm-gates", "lstm-cell", "num-parameters", "gru-cell")


def implements(
    name: str,
    answers: dict[str, str],
    assignment: str = CELL,
    via: str = "grade",
) -> Attack:
    """Correct answers built on what their exercises ask to implement: those
    exercises score 0 and say so, every other one keeps its points."""
    build = chain(*(answered(exercise, body) for exercise, body in answers.items()))
    return Attack(name, FILLED, build, tuple(answers), IMPLEMENT, assignment, via)


# ---- correct answers that are merely noisy ---------------------------------------

NOISY = chain(
    replaced(
        "lstm-gates",
        "    gates = x @ weight_ih.T",
        "    for step in range(200):\n"
        "        print(f'lstm_gates: debugging line {step}', x.shape)\n"
        "    gates = x @ weight_ih.T",
    ),
    replaced(
        "lstm-cell",
        "    h, c = state",
        "    import sys\n    import warnings\n\n"
        "    warnings.simplefilter('always')\n"
        "    warnings.warn('lstm_cell: a harmless UserWarning')\n"
        "    warnings.warn('lstm_cell: deprecated', DeprecationWarning)\n"
        "    print('UserWarning: printed to stderr by hand', file=sys.stderr)\n"
        "    h, c = state",
    ),
    lambda nb, ctx: edit(
        nb, "num-parameters", "for line in range(5000):\n    print(line)", "after"
    ),
)
RANDOM = chain(
    replaced(
        "lstm-gates",
        "    gates = x @ weight_ih.T",
        "    import random\n\n"
        "    noise = torch.randn(4, 3) * random.random()\n"
        "    gates = 0 * noise.sum() + x @ weight_ih.T",
    ),
    replaced(
        "lstm-cell", "    h, c = state", "    torch.manual_seed(1234)\n    h, c = state"
    ),
    replaced(
        "gru-cell",
        "    x_part = x @ weight_ih.T",
        "    torch.rand(10)\n    torch.manual_seed(torch.randint(0, 99, ()).item())\n"
        "    x_part = x @ weight_ih.T",
    ),
)


# ---- the catalog -------------------------------------------------------------------

ATTACKS = [
    # patched comparisons, helpers, operators, tracebacks: slightly wrong answers
    Attack(
        "loosen-comparisons",
        WRONG,
        first(lambda ctx: call(payloads.loosen_comparisons)),
    ),
    Attack("loosen-builtins", WRONG, first(lambda ctx: call(payloads.loosen_builtins))),
    Attack("disable-checks", WRONG, first(lambda ctx: call(payloads.disable_checks))),
    Attack(
        "impersonate-checks",
        WRONG,
        first(lambda ctx: call(payloads.impersonate_checks)),
    ),
    Attack("poison-reference", WRONG, poisoned),
    Attack(
        "rig-operators",
        WRONG,
        lambda nb, ctx: edit(
            nb, "num-parameters", call(payloads.rig_operators), "after"
        ),
    ),
    Attack("hide-failures", WRONG, first(lambda ctx: call(payloads.hide_failures))),
    Attack(
        "hijack-kernels",
        WRONG,
        first(
            lambda ctx: call(
                payloads.hijack_kernels, ctx.scope, call(payloads.loosen_comparisons)
            )
        ),
    ),
    # reading what is not theirs: blank answers
    Attack("steal-masters", BLANK, steal()),  # by path, package and git
    Attack("copy-classmate", BLANK, steal("classmate")),
    Attack(
        "write-gradebook",
        BLANK,
        in_last(lambda ctx: call(payloads.write_gradebooks, ctx.scope)),
    ),
    Attack(
        "overwrite-notebooks",
        FILLED,
        first(lambda ctx: call(payloads.overwrite_notebooks, ctx.scope)),
        zeroed=CALLED,
        feedback=REFUSED,
    ),
    # breaking the grader: correct answers, gru-cell's cell misbehaves
    Attack(
        "os-exit",
        FILLED,
        in_last(lambda ctx: "import os\nos._exit(1)", "after"),
        zeroed=CALLED,
        feedback=REFUSED,
    ),
    Attack(
        "endless-loop",
        FILLED,
        in_last(lambda ctx: "while True:\n    pass"),
        zeroed=("gru-cell",),
    ),
    Attack(
        "memory-hog",
        FILLED,
        in_last(lambda ctx: call(payloads.hog_memory, 6)),
        zeroed=("gru-cell",),
    ),
    Attack(
        "output-flood", FILLED, in_last(lambda ctx: call(payloads.flood_output, 300))
    ),
    Attack(
        "background-process",
        FILLED,
        in_last(lambda ctx: call(payloads.leave_processes, ctx.marker)),
        zeroed=CALLED,
        feedback=REFUSED,
    ),
    # answers that call what they should implement
    # torch._VF is private: refused before it runs
    Attack(
        "torch-lstm-cell-and-vf-gru-cell",
        FILLED,
        chain(
            answered("lstm-cell", VIA_TORCH_LSTM_CELL),
            answered("gru-cell", VIA_VF_GRU_CELL),
        ),
        zeroed=CALLED,
        feedback=REFUSED,
    ),
    # ... hidden from the watch on calls: tampering with the watch costs every
    # exercise judged by calling the notebook's code
    Attack(
        "unwatched-lstm-cell-and-aten-gru-cell",
        FILLED,
        chain(
            answered("lstm-cell", VIA_UNWATCHED_LSTM_CELL),
            answered("gru-cell", VIA_ATEN_GRU_CELL),
        ),
        zeroed=CALLED,
        feedback=TAMPERED,
    ),
    Attack(
        "blind-guard-then-torch-lstm-cell",
        FILLED,
        chain(
            answered("lstm-cell", VIA_TORCH_LSTM_CELL),
            first(lambda ctx: call(payloads.blind_the_guard)),
        ),
        zeroed=CALLED,
        feedback=TAMPERED,
    ),
    implements("nn-lstm-cell", {"lstm-cell": VIA_LSTM_CELL_MODULE}),
    implements("lstm-ref-lstm-cell", {"lstm-cell": VIA_LSTM_REF}),
    implements("nn-lstm-layer", {"lstm-layer": VIA_NN_LSTM}, "03_lstm_layer"),
    implements(
        "my-lstm-subclasses-nn-lstm",
        {"my-lstm": SUBCLASS_OF_NN_LSTM},
        "04_nn_lstm_parameters",
    ),
    implements(
        "autograd-gates-backward",
        {"gates-backward": VIA_AUTOGRAD},
        "06_backprop_through_lstm",
    ),
    # honest but noisy: full marks
    Attack("prints-and-warns", FILLED, NOISY),
    Attack("own-randomness-and-seed", FILLED, RANDOM),
    # through `lstm-course check`
    Attack(
        "check-hide-failures",
        WRONG,
        first(lambda ctx: call(payloads.hide_failures)),
        via="check",
    ),
    Attack("check-steal-masters", BLANK, steal(), via="check"),
    implements(
        "check-torch-lstm-cell", {"lstm-cell": VIA_TORCH_LSTM_CELL}, via="check"
    ),
    # through plain `nbgrader autograde` in a copy of the repository
    Attack(
        "nbgrader-steal-and-write-gradebook",
        BLANK,
        chain(
            steal("upward"),
            in_last(lambda ctx: call(payloads.write_gradebooks, ctx.scope), "after"),
        ),
        via="nbgrader",
    ),
]


# ---- taking the grading machine down: each bounded by the sandbox as a whole ------
# (autograder/sealed/bounds.py). The cell that hits a bound fails with an error
# naming it (BOUND_HIT) and costs its exercise alone. Code that starts processes
# or threads or opens files is also refused before it runs (sealed/screen.py), which
# costs every exercise judged by calling the notebook's code (CALLED); it runs all
# the same, and the bounds hold it. torch's own threads are not refused.
# tests/test_bounds.py grades these again in a class of their own, watching the host.


def in_last_call(fn: Callable, *args: object) -> Builder:
    return in_last(lambda ctx: call(fn, *args))


BOUND_HIT = {
    "fork-bomb": "PROCESS_LIMIT",
    "thread-bomb": "PROCESS_LIMIT",
    "torch-thread-bomb": "PROCESS_LIMIT",
    "disk-filler": "DISK_LIMIT",
    "memory-in-many-processes": "MEMORY_LIMIT",
}
MEMORY_SHARE = settings.MEMORY_LIMIT * 6 // 5 // 6 >> 20  # MiB: 6 of them, 1.2x
BOUNDED = [
    Attack(
        "fork-bomb",
        FILLED,
        in_last_call(payloads.fork_bomb, settings.PROCESS_LIMIT.bit_length()),
        zeroed=CALLED,
    ),
    Attack(
        "thread-bomb",
        FILLED,
        in_last_call(payloads.thread_bomb, 2 * settings.PROCESS_LIMIT),
        zeroed=CALLED,
    ),
    Attack(
        "torch-thread-bomb",
        FILLED,
        in_last_call(payloads.torch_thread_bomb, 2 * settings.PROCESS_LIMIT),
        zeroed=("gru-cell",),
    ),
    Attack(
        "disk-filler",
        FILLED,
        in_last_call(payloads.fill_disk, settings.DISK_LIMIT + (64 << 20)),
        zeroed=CALLED,
    ),
    Attack(
        "memory-in-many-processes",
        FILLED,
        in_last_call(payloads.hog_memory_together, 6, MEMORY_SHARE),
        zeroed=CALLED,
    ),
    # one core's worth of time for three spinning processes: slower, not wrong
    Attack("cpu-burner", FILLED, in_last_call(payloads.burn_cpu, 3, 3), zeroed=CALLED),
    # ... and for four of torch's threads: full marks
    Attack(
        "torch-cpu-burner",
        FILLED,
        in_last_call(payloads.burn_cpu_with_torch, 4, 300),
    ),
]
ATTACKS += BOUNDED
