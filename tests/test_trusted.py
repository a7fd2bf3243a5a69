"""Test cells judged in the grading process: proxies into a real learner kernel.

One real ipykernel for the module; each test defines learner code in it, then runs
a test cell through `trusted.TrustedTests` exactly as autograding does.
"""

from __future__ import annotations

import time

import nbformat
import pytest
import torch
from jupyter_client import KernelManager
from nbformat.v4 import new_code_cell, new_notebook

from autograder.checks import core
from autograder.grading import execute
from autograder.sealed import remote, screen, trusted


@pytest.fixture(scope="module")
def kernel():
    km = KernelManager()
    km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"])
    client = km.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    link = remote.Link(client, km.interrupt_kernel, km.is_alive)
    yield client, link
    client.stop_channels()
    km.shutdown_kernel(now=True)


def run_in_kernel(client, code: str) -> None:
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]


def cell(source: str, grade_id: str = "test-x") -> nbformat.NotebookNode:
    meta = {"grade": True, "solution": False, "locked": True, "points": 1}
    return new_code_cell(source, metadata={"nbgrader": meta | {"grade_id": grade_id}})


def answer(grade_id: str) -> nbformat.NotebookNode:
    meta = {"grade": False, "solution": True, "locked": False, "points": 0}
    return new_code_cell("", metadata={"nbgrader": meta | {"grade_id": grade_id}})


def master(*test_cells, imports="import torch") -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(imports), *test_cells])


def judge(link, source: str, imports: str = "import torch", grade_id="test-x"):
    """Run one test cell trusted; return (error evalue or None, printed text)."""
    test = cell(source, grade_id)
    runner = trusted.TrustedTests(master(answer("x"), test, imports=imports))
    runner.run(test, link, timeout=30)
    errors = [o for o in test.outputs if o.output_type == "error"]
    printed = "".join(
        o.get("text", "") for o in test.outputs if o.output_type == "stream"
    )
    return (errors[0].evalue if errors else None), printed


def test_a_learner_function_is_called_in_its_kernel_and_judged_here(kernel):
    client, link = kernel
    run_in_kernel(
        client, "import torch, os\ndef double(x):\n    return 2 * x, os.getpid()"
    )
    error, _ = judge(
        link,
        "import os\nx = torch.arange(3.0)\ny, pid = double(x)\n"
        "assert torch.equal(y, 2 * x)\nassert pid != os.getpid()",
    )
    assert error is None


PATCHES = {
    "torch.allclose and core.fail patched": "import torch\n"
    "import autograder.checks.core as core\n"
    "torch.allclose = lambda *a, **k: True\ncore.fail = lambda *a: None",
    "the master's `core` rebound": "import types\n"
    "core = types.SimpleNamespace(expect_close=lambda *a: None)",
}


@pytest.mark.parametrize("patch", PATCHES.values(), ids=PATCHES)
def test_patching_the_kernel_changes_nothing_here(kernel, patch):
    client, link = kernel
    run_in_kernel(client, patch + "\ndef wrong(x):\n    return x + 1")
    error, _ = judge(
        link,
        "core.expect_close('wrong', wrong(torch.zeros(2)), torch.zeros(2))",
        imports="import torch\nfrom autograder.checks import core",
    )
    assert error and "differs from the reference" in error


def test_random_state_and_dtype_travel_with_each_call(kernel):
    client, link = kernel
    run_in_kernel(
        client,
        "import torch\ntorch.set_default_dtype(torch.float64)\n"
        "def noise(n):\n    return torch.randn(n)",
    )
    error, _ = judge(
        link,
        "torch.manual_seed(3)\ngot = noise(4)\ntorch.manual_seed(3)\n"
        "assert torch.equal(got, torch.randn(4)), (got, torch.randn(4))\n"
        "assert got.dtype == torch.float64\nafter = torch.randn(1)",
    )
    assert error is None
    # the kernel's stream goes on where the test cell left it, as if it ran there
    run_in_kernel(client, "torch.manual_seed(3); torch.randn(4); a = torch.randn(1)")
    assert torch.get_default_dtype() == torch.float32  # the grader's own, restored


def test_in_place_changes_to_arguments_are_copied_back(kernel):
    client, link = kernel
    run_in_kernel(
        client,
        "import torch\nfrom torch import nn\n"
        "def scale_grads(params, k):\n"
        "    for p in params:\n"
        "        if p.grad is not None:\n"
        "            p.grad.mul_(k)\n"
        "def set_bias(lstm, value):\n"
        "    with torch.no_grad():\n"
        "        lstm.bias_ih_l0.fill_(value)\n"
        "    return lstm",
    )
    error, _ = judge(
        link,
        "ps = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]\n"
        "ps[0].grad = torch.full((2,), 2.0)\n"
        "scale_grads((p for p in ps), 3.0)\n"
        "assert torch.equal(ps[0].grad, torch.full((2,), 6.0))\n"
        "assert ps[1].grad is None\n"
        "lstm = torch.nn.LSTM(2, 3)\n"
        "same = set_bias(lstm, 0.5)\n"
        "assert same is lstm\n"
        "assert torch.equal(lstm.bias_ih_l0, torch.full((12,), 0.5))\n"
        "assert isinstance(lstm.bias_ih_l0, torch.nn.Parameter)",
    )
    assert error is None


def test_learner_classes_and_modules_answer_isinstance_and_attributes(kernel):
    client, link = kernel
    run_in_kernel(
        client,
        "import torch\nfrom torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, rnn):\n"
        "        super().__init__()\n"
        "        self.rnn, self.head = rnn, nn.Linear(rnn.hidden_size, 2)\n"
        "    def forward(self, x):\n"
        "        return self.head(self.rnn(x)[0][-1])",
    )
    error, _ = judge(
        link,
        "from torch import nn\nrnn = nn.LSTM(3, 4).double()\n"
        "net = Net(rnn).double()\n"
        "assert isinstance(net, nn.Module) and issubclass(Net, nn.Module)\n"
        "assert not isinstance(net, nn.LSTM)\n"
        "assert Net.__name__ == 'Net' and net.rnn.hidden_size == 4\n"
        "lstms = [m for m in net.modules() if isinstance(m, nn.LSTM)]\n"
        "assert len(lstms) == 1\n"
        "x = torch.randn(5, 2, 3, dtype=torch.float64)\n"
        "with torch.no_grad():\n"
        "    got = net(x)\n"
        "assert not got.requires_grad\n"
        "assert torch.allclose(got, net.head(rnn(x)[0][-1]))",
    )
    assert error is None


def test_core_using_replaces_and_restores_learner_globals(kernel):
    client, link = kernel
    run_in_kernel(
        client,
        "import math\ndef helper(x):\n    return -1.0\n"
        "def uses_helper(x):\n    return helper(x)",
    )
    error, _ = judge(
        link,
        "with core.using(uses_helper, helper=math.sqrt):\n"
        "    assert uses_helper(4.0) == 2.0\n"
        "assert uses_helper(4.0) == -1.0",
        imports="import math\nfrom autograder.checks import core",
    )
    assert error is None


def test_an_answer_that_calls_what_it_implements_is_refused(kernel):
    client, link = kernel
    run_in_kernel(
        client,
        "import torch\nfrom lstm_ref import functional as ref\n"
        "def cell(x, state, w_ih, w_hh, b_ih, b_hh):\n"
        "    return torch.lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)\n"
        "def cell_by_ref(x, state, w_ih, w_hh, b_ih, b_hh):\n"
        "    return ref.lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)\n"
        "def layer(x, state, *weights):\n"
        "    return cell(x, state, *weights)",
    )
    call = (
        "x, h = torch.randn(2, 3), torch.randn(2, 4)\n"
        "w = (torch.randn(16, 3), torch.randn(16, 4), torch.randn(16),"
        " torch.randn(16))\n"
    )
    forbid = ["torch.lstm_cell", "torch.nn.LSTMCell", "lstm_ref"]
    runner_master = master(answer("x"), cell(call), imports="import torch")
    for fn, expected in [("cell", "torch.lstm_cell"), ("cell_by_ref", "lstm_ref")]:
        test = cell(call + f"{fn}(x, (h, h), *w)")
        runner = trusted.TrustedTests(runner_master)
        runner.forbid = {"x": forbid}
        runner.run(test, link, timeout=30)
        (error,) = [o for o in test.outputs if o.output_type == "error"]
        assert expected in error.evalue and "asks you to implement" in error.evalue
    # the same function put in place by the checks (core.using) is allowed
    test = cell(
        call + "from lstm_ref import functional as ref\n"
        "with core.using(layer, cell=ref.lstm_cell):\n"
        "    layer(x, (h, h), *w)",
    )
    runner = trusted.TrustedTests(
        master(
            answer("x"),
            test,
            imports="import torch\nfrom autograder.checks import core",
        )
    )
    runner.forbid = {"x": forbid}
    runner.run(test, link, timeout=30)
    assert not [o for o in test.outputs if o.output_type == "error"]


def test_unanswered_and_failing_cells_say_what_to_do(kernel):
    client, link = kernel
    run_in_kernel(client, "def stub(x):\n    raise NotImplementedError()")
    error, _ = judge(link, "never_defined(1)")
    assert error.startswith("not answered yet: `never_defined` is not defined")
    error, _ = judge(link, "stub(1)")
    assert error.startswith("not answered yet")
    error, printed = judge(
        link, "core.passed('fine')", imports="from autograder.checks import core"
    )
    assert error is None and printed == "✓ fine\n"


def test_an_endless_loop_is_interrupted_and_the_kernel_goes_on(kernel):
    client, link = kernel
    run_in_kernel(client, "def forever():\n    while True:\n        pass")
    test = cell("forever()")
    runner = trusted.TrustedTests(master(answer("x"), test))
    start = time.monotonic()
    runner.run(test, link, timeout=3)
    assert time.monotonic() - start < 30
    (error,) = [o for o in test.outputs if o.output_type == "error"]
    assert error.ename == "CellTimeoutError"
    error, _ = judge(link, "assert 1 + 1 == 2")
    assert error is None


def test_learner_exceptions_keep_their_type_for_the_checks(kernel):
    client, link = kernel
    run_in_kernel(client, "def bad(x):\n    raise ValueError('shapes do not match')")
    error, _ = judge(
        link, "core.call('bad', bad, 1)", imports="from autograder.checks import core"
    )
    assert error == "bad(int) raised ValueError: shapes do not match"
    assert issubclass(remote.learner_error("ValueError", "m").__class__, ValueError)
    assert isinstance(remote.learner_error("MyError", "m"), remote.LearnerError)
    assert core.CheckFailed  # the checks' failure type is the grader's own


def test_switching_off_the_watch_or_an_operator_alias_is_refused(kernel):
    client, link = kernel
    run_in_kernel(
        client,
        "import sys, torch\n"
        "def unwatched(x, state, *w):\n"
        "    sys.setprofile(None)\n"
        "    return torch.lstm_cell(x, state, *w)\n"
        "def alias(x, state, *w):\n"
        "    return torch.ops.aten.lstm_cell(x, state, *w)\n"
        "def honest(x, state, *w):\n"
        "    return tuple(t * 0 for t in state)",
    )
    call = (
        "x, h = torch.randn(2, 3), torch.randn(2, 4)\n"
        "w = (torch.randn(16, 3), torch.randn(16, 4), torch.randn(16),"
        " torch.randn(16))\n"
    )
    for fn, expected in [
        ("unwatched", "sys.setprofile"),
        ("alias", "torch.lstm_cell"),
        ("honest", None),
    ]:
        test = cell(call + f"{fn}(x, (h, h), *w)")
        runner = trusted.TrustedTests(master(answer("x"), test))
        runner.forbid = {"x": ["torch.lstm_cell"]}
        runner.run(test, link, timeout=30)
        errors = [o.evalue for o in test.outputs if o.output_type == "error"]
        if expected is None:
            assert errors == []
        else:
            assert len(errors) == 1 and expected in errors[0], errors


def test_a_notebook_that_reaches_into_the_watch_fails_the_watched_exercises(kernel):
    client, link = kernel
    learner = new_notebook(
        cells=[
            new_code_cell(
                "import autograder.sealed.agent\nautograder.sealed.agent.Guard = None"
            ),
            answer("x"),
        ]
    )
    (refused, *_) = screen.refusals(learner, master(answer("x")))
    assert refused.construct == "import autograder.sealed.agent" and refused.tampering
    assert screen.refusals(master(answer("x")), master(answer("x"))) == []
    for forbid, failed in [(["torch.lstm_cell"], True), ([], False)]:
        test = cell("assert True")
        runner = trusted.TrustedTests(master(answer("x"), test))
        runner.forbid = {"x": forbid}
        runner.read(learner)
        runner.run(test, link, timeout=30)
        errors = [o.evalue for o in test.outputs if o.output_type == "error"]
        assert bool(errors) == failed
        assert not errors or "reaches into the grader's watch" in errors[0]
        assert [i["kind"] for i in runner.incidents[:1]] == ["tampered"] * failed


def test_a_fused_operator_is_known_by_its_name_however_it_is_reached(kernel):
    """torch.ops' builtins (whose own names are blank), torch._VF and the quantized
    variant are the operator torch.lstm_cell is: the watch knows them all; and it
    sees the operator called by C code (map, functools.partial): in a grading
    kernel it is a Python stand-in (agent.arm); and called as the kernel reads
    the result for the grader (a tuple's own `__iter__`)."""
    client, link = kernel
    run_in_kernel(client, execute.ARM)  # as a grading kernel starts
    run_in_kernel(
        client,
        "import functools\nimport torch\n"
        "def by_map(x, state, *w):\n"
        "    return next(map(torch.lstm_cell, [x], [list(state)], *([t] for t in w)))\n"
        "def by_partial(x, state, *w):\n"
        "    return functools.partial(torch.lstm_cell, x)(list(state), *w)\n"
        "class Lazy(tuple):\n"
        "    def __iter__(self):\n"
        "        return iter(torch.lstm_cell(*self.args))\n"
        "def by_lazy(x, state, *w):\n"
        "    pair = Lazy((None, None))\n"
        "    pair.args = (x, list(state), *w)\n"
        "    return pair\n"
        "def by_op(x, state, *w):\n"
        "    return torch.ops.aten.lstm_cell.default._op(x, list(state), *w)\n"
        "def by_vf(x, state, *w):\n"
        "    return torch._VF.lstm_cell(x, list(state), *w)",
    )
    call = (
        "x, h = torch.randn(2, 3), torch.randn(2, 4)\n"
        "w = (torch.randn(16, 3), torch.randn(16, 4), torch.randn(16),"
        " torch.randn(16))\n"
    )
    for fn in ("by_map", "by_partial", "by_lazy", "by_op", "by_vf"):
        test = cell(call + f"{fn}(x, (h, h), *w)")
        runner = trusted.TrustedTests(master(answer("x"), test))
        runner.forbid = {"x": ["torch.lstm_cell"]}
        runner.run(test, link, timeout=30)
        (error,) = [o.evalue for o in test.outputs if o.output_type == "error"]
        assert "torch.lstm_cell" in error and "asks you to implement" in error
        assert runner.incidents == [
            {"cell": "test-x", "kind": "refused", "reason": "calls torch.lstm_cell"}
        ]
