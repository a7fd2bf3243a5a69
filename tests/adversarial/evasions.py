"""Answers that compute 02's `lstm_cell` with torch's or lstm_ref's own code by a
route the in-kernel watch (autograder.sealed.agent.Guard) cannot see, or after
switching it off. Each one earned all 18 points of 02 in `lstm-course check` of
the main before the grader read the learner's code (autograder/sealed/screen.py);
now each is refused before it runs: its notebook's watched exercises score 0 with
one message naming the construct, the others keep their points.

`EVASIONS`: (name, the answer, the construct the message names, the reason).
`UNSEEN`: answers in ordinary code the watch did not see call torch.lstm_cell
(also 18/18 before), which it now sees: (name, the answer, what it calls).
"""

from __future__ import annotations

from autograder.sealed import hatches

HEAD = "def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):\n"
BATCH = (
    "    batched = x.dim() == 2\n"
    "    if not batched:\n"
    "        x, state = x[None], tuple(s[None] for s in state)\n"
)
UNBATCH = "    return (h, c) if batched else (h[0], c[0])\n"
ARGS = "x, list(state), weight_ih, weight_hh, bias_ih, bias_hh"
FUSED = f"    h, c = torch.lstm_cell({ARGS})\n"


def answer(before: str, body: str) -> str:
    """Module-level code, then an lstm_cell whose body (batch handled) is `body`."""
    return f"{before}\n\n{HEAD}{BATCH}{body}{UNBATCH}"


# The watch blinded from inside the kernel, then torch.lstm_cell called openly.
BLIND = "{agent}.Guard.watching = lambda self: contextlib.nullcontext()\n"
BLIND_CODE = "import contextlib, importlib\n" + BLIND.format(
    agent="importlib.import_module('autograder.sealed.agent')"
)

EVASIONS = [
    (  # the work done by a thread started before the watch runs
        "thread-worker",
        answer(
            "import threading\nimport time\n\n_asked, _answered = [], []\n\n\n"
            "def _work():\n    while True:\n        if _asked:\n"
            "            _answered.append(torch.lstm_cell(*_asked.pop()))\n"
            "        time.sleep(0.001)\n\n\n"
            "threading.Thread(target=_work, daemon=True).start()",
            f"    _asked.append(({ARGS}))\n"
            "    while not _answered:\n        time.sleep(0.001)\n"
            "    h, c = _answered.pop()\n",
        ),
        "import threading",
        hatches.PARALLEL,
    ),
    (  # TorchScript runs aten::lstm_cell in C++, past the profiler
        "jit-script",
        answer(
            "from typing import List, Optional\n\n\n@torch.jit.script\n"
            "def _fused(x: torch.Tensor, hx: List[torch.Tensor], w_ih: torch.Tensor,\n"
            "           w_hh: torch.Tensor, b_ih: Optional[torch.Tensor],\n"
            "           b_hh: Optional[torch.Tensor]):\n"
            "    return torch.lstm_cell(x, hx, w_ih, w_hh, b_ih, b_hh)",
            f"    h, c = _fused({ARGS})\n",
        ),
        "torch.jit.script",
        hatches.COMPILED,
    ),
    (  # a second interpreter, started by the cell, serving the fused cell
        "helper-process",
        answer(
            "import subprocess\nimport pickle\nimport sys\n\n"
            "_SERVE = (\n    'import pickle, sys, torch\\n'\n    'while True:\\n'\n"
            "    '    args = pickle.load(sys.stdin.buffer)\\n'\n"
            "    '    out = tuple(torch.lstm_cell(*args))\\n'\n"
            "    '    pickle.dump(out, sys.stdout.buffer)\\n'\n"
            "    '    sys.stdout.buffer.flush()\\n'\n)\n"
            "_helper = subprocess.Popen([sys.executable, '-c', _SERVE],\n"
            "                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)",
            f"    pickle.dump(({ARGS}), _helper.stdin)\n"
            "    _helper.stdin.flush()\n    h, c = pickle.load(_helper.stdout)\n",
        ),
        "import subprocess",
        hatches.PARALLEL,
    ),
    (  # another implementation of the LSTM cell, in plain Python: never watched
        "quantizable-lstm-cell",
        answer(
            "import torch.ao.nn.quantizable as quantizable",
            "    cell = quantizable.LSTMCell(weight_ih.shape[1], weight_hh.shape[1],\n"
            "                                bias=bias_ih is not None).to(x.dtype)\n"
            "    with torch.no_grad():\n"
            "        cell.igates.weight.copy_(weight_ih)\n"
            "        cell.hgates.weight.copy_(weight_hh)\n"
            "        if bias_ih is not None:\n"
            "            cell.igates.bias.copy_(bias_ih)\n"
            "            cell.hgates.bias.copy_(bias_hh)\n"
            "        h, c = cell(x, tuple(state))\n",
        ),
        "import torch.ao.nn.quantizable",
        hatches.COMPILED,
    ),
    (  # lstm_ref copied into the scratch folder under another name
        "lstm-ref-copied",
        answer(
            "import shutil\n\nshutil.copy(ref.__file__, 'my_cells.py')\n"
            "import my_cells",
            f"    h, c = my_cells.lstm_cell({ARGS})\n",
        ),
        "import shutil",
        hatches.LOADING,
    ),
    (  # the watch's module reached through its package (no name the old regex saw)
        "watch-through-its-package",
        answer(
            "import contextlib\n\nimport autograder.sealed as sealed\n\n"
            + BLIND.format(agent="sealed.agent"),
            FUSED,
        ),
        "import autograder.sealed",
        hatches.GRADER,
    ),
    (  # the same, run from a string built at run time
        "exec-of-built-code",
        answer(f"exec(bytes.fromhex({BLIND_CODE.encode().hex()!r}).decode())", FUSED),
        "exec",
        hatches.DYNAMIC,
    ),
    (  # the profiler switched off from C
        "ctypes-profiler-off",
        answer(
            "import ctypes",
            "    ctypes.pythonapi.PyEval_SetProfile(None, None)\n" + FUSED,
        ),
        "import ctypes",
        hatches.MACHINERY,
    ),
    (  # the watch's class found among all objects and made blind
        "gc-finds-the-watch",
        answer(
            "import gc\n\nfor _found in gc.get_objects():\n"
            "    if isinstance(_found, type) and _found.__name__ == 'Guard':\n"
            "        _found.__call__ = lambda self, *args: None",
            FUSED,
        ),
        "import gc",
        hatches.MACHINERY,
    ),
    (  # the operator's own builtin, under no name the watch knew
        "aten-overload-builtin",
        answer("", f"    h, c = torch.ops.aten.lstm_cell.default._op({ARGS})\n"),
        "torch.ops.aten.lstm_cell.default._op",
        hatches.MACHINERY,
    ),
]

# The words every refused exercise's line holds (hatches.REFUSED, in English).
REFUSED = "is refused: an answer must compute what its exercise implements itself"

# Calls of the fused operator that C code makes for the answer (map,
# functools.partial): nothing to refuse, but the profiler saw no call of the
# builtin. In a graded kernel torch's fused operators are Python stand-ins from its
# start (agent.arm), so the watch sees these: they cost lstm-cell alone.
UNSEEN = [
    (
        "map-over-the-operator",
        answer(
            "", f"    h, c = next(map(torch.lstm_cell, *([a] for a in ({ARGS}))))\n"
        ),
        "torch.lstm_cell",
    ),
    (
        "partial-of-the-operator",
        answer(
            "import functools",
            f"    h, c = functools.partial(torch.lstm_cell, x)({ARGS[3:]})\n",
        ),
        "torch.lstm_cell",
    ),
]

# ... and run when the grader reads the answer's result, not when the answer runs:
# a pair whose items are computed as the grader iterates it. The kernel now reads
# results (and runs every request of the grader) under the watch too.
UNSEEN.append(
    (
        "lazy-pair",
        answer(
            "class Lazy(tuple):\n    def __iter__(self):\n"
            "        h, c = torch.lstm_cell(*self.args)\n"
            "        return iter((h, c) if self.batched else (h[0], c[0]))",
            "    pair = Lazy((None, None))\n"
            f"    pair.args, pair.batched = ({ARGS}), batched\n"
            "    return pair\n",
        ),
        "torch.lstm_cell",
    )
)
