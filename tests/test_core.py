"""autograder.checks.core: the shared layer of the check modules.

The notebook rendering is proven in a real kernel (nbclient runs a small notebook);
the rest in process.
"""

from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from autograder.checks import core

ROOT = Path(__file__).resolve().parents[1]


# --- in a real kernel ---------------------------------------------------------------

CELLS = {
    "import": "from autograder.checks import core\nchecks = core",
    "check-failed": "core.fail('lstm_gates: gate order — torch stacks i, f, g, o')",
    "stub": "# YOUR CODE HERE\nraise NotImplementedError()",
    "unanswered-test": "checks.expect_pair('predict', predicted_f, 'h', 'c')",
    "stub-function": "def lstm_gates(*args):\n    raise NotImplementedError()",
    "stub-called": "checks.call('lstm_gates', lstm_gates, 1)",
    "learner-typo": "value = undefined_name + 1",
    "other-error": "1 / 0",
}


@pytest.fixture(scope="module")
def kernel_outputs(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    client = NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        timeout=120,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    return {
        key: [o for o in cell.outputs if o.output_type == "error"]
        for key, cell in zip(CELLS, nb.cells, strict=True)
    }


def shown(errors) -> str:
    assert len(errors) == 1, errors
    return "\n".join(errors[0].traceback)


def test_a_failed_check_shows_its_message_without_a_traceback(kernel_outputs):
    (error,) = kernel_outputs["check-failed"]
    assert error.ename == "CheckFailed"
    assert error.evalue == "lstm_gates: gate order — torch stacks i, f, g, o"
    assert len(error.traceback) == 1
    assert "gate order" in error.traceback[0] and "core.py" not in shown([error])


def test_an_unanswered_exercise_says_not_answered_yet(kernel_outputs):
    for key, who in [
        ("stub", "this cell"),
        ("unanswered-test", "predicted_f"),
        ("stub-called", "lstm_gates"),
    ]:
        (error,) = kernel_outputs[key]
        assert error.ename == "CheckFailed", key
        assert "not answered yet" in error.evalue and who in error.evalue, key
        assert "NameError" not in shown([error]) and ".py" not in shown([error])


def test_other_errors_keep_their_traceback(kernel_outputs):
    errors = [("learner-typo", "NameError"), ("other-error", "ZeroDivisionError")]
    for key, ename in errors:
        (error,) = kernel_outputs[key]
        assert error.ename == ename
        assert len(error.traceback) > 1 and "not answered" not in shown([error])


def release_cells(assignment: str, keys: list[str]) -> list[str]:
    """Sources of a release notebook's setup cell and of the cells with these ids."""
    path = ROOT / "notebooks" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    return [setup, *(by_id[k] for k in keys)]


def test_the_release_says_not_answered_yet_in_a_kernel():
    """01's release as a learner opens it: the stubs, run, then their tests."""
    keys = [
        "rnn-cell",
        "test-rnn-cell",
        "predict-gradient-norm",
        "test-predict-gradient-norm",
    ]
    nb = nbformat.v4.new_notebook()
    sources = release_cells("01_rnn_limits", keys)
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        timeout=120,
        resources={"metadata": {"path": str(ROOT)}},
    ).execute()
    errors = [[o for o in c.outputs if o.output_type == "error"] for c in nb.cells]
    assert errors[1] == []  # defining the stub function raises nothing
    for cell, who in [(2, "rnn_cell"), (3, "this cell"), (4, "norm_after_50_steps")]:
        (error,) = errors[cell]
        assert error.ename == "CheckFailed" and len(error.traceback) == 1
        assert error.evalue.startswith(f"{who} is not answered yet") or (
            error.evalue.startswith("not answered yet") and who in error.evalue
        ), error.evalue


def test_outside_ipython_nothing_is_installed():
    import sys

    assert "IPython" not in sys.modules or sys.modules["IPython"].get_ipython() is None
    core.install_notebook_errors()  # a no-op, and no error


# --- in process ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [(5, 3, 20), [5, 3, 20], torch.Size([5, 3, 20])])
def test_parse_shape_accepts_tuples_and_lists_of_ints(value):
    assert core.parse_shape("predicted", value) == (5, 3, 20)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ((5.9, 3, 20), "5.9 is a float, not an int"),
        ((5.0, 3, 20), "5.0 is a float"),
        ((True, 3), "True is a bool"),
        (("5", 3), "'5' is a str"),
        ("(5, 3)", "should be a tuple of ints"),
        (torch.zeros(5, 3), "should be a tuple of ints"),
        (((5, 3), 2), "(5, 3) is a tuple"),
        ((5, -1), "-1 is negative"),
        (None, "not answered yet"),
        (..., "not answered yet"),
        ((5, ..., 3), "not answered yet"),
    ],
)
def test_parse_shape_refuses_anything_else_in_one_line(value, says):
    with pytest.raises(core.CheckFailed) as failed:
        core.parse_shape('predicted["output"]', value)
    message = str(failed.value)
    assert says in message and message.startswith('predicted["output"]')
    assert "\n" not in message


def test_expect_pair():
    assert core.expect_pair("f", [1, 2], "h", "c") == (1, 2)
    for got in (1, (1, 2, 3), None):
        with pytest.raises(core.CheckFailed, match=r"should return the pair \(h, c\)"):
            core.expect_pair("f", got, "h", "c")


def test_forked_rng_seeds_and_leaves_the_learner_stream_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with core.forked_rng(7):
        inside = torch.rand(3)
    assert torch.equal(torch.rand(3), expected_next)
    torch.manual_seed(7)
    assert torch.equal(torch.rand(3), inside)

    @core.forked_rng(7)
    def draw():
        return torch.rand(3)

    torch.manual_seed(123)
    assert torch.equal(draw(), inside) and torch.equal(draw(), inside)
    assert torch.equal(torch.rand(3), expected_next)


def test_default_dtype_is_restored():
    before = torch.get_default_dtype()
    with core.default_dtype(torch.float64):
        assert torch.zeros(1).dtype == torch.float64
    assert torch.get_default_dtype() == before


def test_cell_weights_follow_torch_layout_and_init():
    for chunks, module in [
        (4, torch.nn.LSTMCell),
        (3, torch.nn.GRUCell),
        (1, torch.nn.RNNCell),
    ]:
        torch_cell = module(3, 5)
        mine = core.cell_weights(3, 5, core.generator(0), num_chunks=chunks)
        for name, p in torch_cell.named_parameters():
            assert mine[name].shape == p.shape and mine[name].dtype == torch.float64
            assert mine[name].abs().max() <= 5**-0.5
    no_bias = core.cell_weights(3, 5, core.generator(0), bias=False, scale=0.7)
    assert no_bias["bias_ih"] is None and no_bias["bias_hh"] is None
    assert no_bias["weight_ih"].abs().max() > 5**-0.5  # normal, std 0.7
    again = core.cell_weights(3, 5, core.generator(0), bias=False, scale=0.7)
    assert torch.equal(no_bias["weight_hh"], again["weight_hh"])


def test_call_and_explain_turn_a_learner_error_into_a_hint():
    def broken(x):
        return x @ torch.zeros(5, 2)

    with pytest.raises(core.LearnerRaised) as failed:
        with core.explain(("NoneType", "none hint"), (("multiplied", "shape"), "T!")):
            core.call("broken", broken, torch.zeros(3, 4))
    assert str(failed.value).startswith("broken(tensor(3, 4)) raised RuntimeError")
    assert str(failed.value).endswith(" — T!")
    with pytest.raises(core.CheckFailed) as failed:  # a check's own failure: unchanged
        with core.explain(("", "always")):
            core.fail("wrong value")
    assert str(failed.value) == "wrong value"


def test_call_lets_not_implemented_through():
    def stub():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        core.call("stub", stub)


def test_matches_and_find_mistake():
    t = torch.arange(3.0, dtype=torch.float64)
    assert core.matches((t, [t, 2.0]), (t, (t, 2.0)))
    assert not core.matches((t, t), (t,)) and not core.matches(2.0, t)
    assert core.matches(torch.tensor(2.0), 2.0) and not core.matches(True, 1.0)
    mistakes = [
        core.Known("right", "same as right", t),
        core.Known("doubled", "doubled", lambda: 2 * t),
        core.Known("tripled", "tripled", 3 * t),
        core.Known("impossible", "never here", None),
    ]
    found = core.find_mistake(2 * t, mistakes, correct=t)
    assert found == core.Diagnosis("doubled", "doubled")
    assert core.find_mistake(t, mistakes, correct=t) is None
    assert core.find_mistake(t, mistakes[:1]).mistake == "right"


def test_a_failure_names_its_mistake_with_the_exercise_being_checked():
    import pickle

    with pytest.raises(core.CheckFailed) as failed:
        core.fail("outside", "gate-order")
    assert failed.value.mistake == "gate-order" and str(failed.value) == "outside"

    @core.exercise("lstm-cell")
    def check(value):
        if value == "shape":
            core.expect_shape("h", torch.zeros(2), (3,))
        if value == "close":
            core.expect_close("h", torch.zeros(3), torch.ones(3))
        if value == "raised":
            core.call("f", lambda: 1 / 0)
        with core.explain(("ZeroDivision", "a hint", "divided")):
            core.call("f", lambda: 1 / 0)

    expected = {
        "shape": "lstm-cell/wrong-shape",
        "close": "lstm-cell/differs",
        "raised": "lstm-cell/raised",
        "named": "lstm-cell/divided",
    }
    for value, mistake in expected.items():
        with pytest.raises(core.CheckFailed) as failed:
            check(value)
        assert failed.value.mistake == mistake, value
        assert str(failed.value).endswith(f" [{mistake}]")
        assert core.mistake_of(str(failed.value)) == mistake
        again = pickle.loads(pickle.dumps(failed.value))
        assert (str(again), again.mistake) == (str(failed.value), mistake)
    with core.exercise("a"), core.exercise("b"):
        assert core.mistake_id("x") == "b/x" and core.mistake_id("c/y") == "c/y"
    assert core.mistake_id("x") == "x"
    assert core.mistake_of("first line\n  second [shapes-stacked/c-projected]") == (
        "shapes-stacked/c-projected"
    )


def test_a_partial_visible_test_says_what_the_hidden_test_grades(capsys):
    core.passed("output right")
    core.passed("output right", "h_n, c_n")
    assert capsys.readouterr().out.splitlines() == [
        "✓ output right",
        "✓ output right (h_n, c_n: graded by the hidden test)",
    ]


def test_every_failure_of_a_check_names_its_mistake():
    """Every `fail(...)` and `CheckFailed(...)` in the check modules passes a
    mistake: a diagnosis without a name cannot be counted across a class."""
    import ast

    unnamed = []
    for path in sorted((ROOT / "autograder" / "checks").glob("*.py")):
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef) or function.name == "fail":
                continue  # core.fail forwards the name it is given
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                given = len(node.args) + sum(k.arg == "mistake" for k in node.keywords)
                if name in ("fail", "CheckFailed") and given < 2:
                    unnamed.append(f"{path.name}:{node.lineno}")
    assert not unnamed, unnamed


# --- the masters' cells -------------------------------------------------------------

# the last statements that show nothing but what they mean to
SHOWN_BY_DESIGN = (
    "print(",
    "plt.show(",
    "checks.",
    "gru_checks.",
    "torch.set_default_dtype(",
    "warnings.filterwarnings(",
    "my_lstm_checks.",
    "draw_lstm(",  # 04 and 06: functions that draw and return None
    "run_table(",
    "draw_step_graph(",
)
MASTERS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", MASTERS)
def test_no_cell_ends_in_an_object_repr(assignment):
    """A cell whose last statement is an expression shows its value under the figure
    (`<matplotlib.legend.Legend at 0x…>`); the masters end such cells in plt.show()."""
    import ast

    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    shown = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        body = ast.parse(cell.source).body
        last = ast.unparse(body[-1]) if body else ""
        if body and isinstance(body[-1], ast.Expr):
            if not last.startswith(SHOWN_BY_DESIGN):
                shown.append(last)
    assert not shown, shown
