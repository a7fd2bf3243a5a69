"""Unit tests of notebook 02's checks (lstm_cell, cell_diagnosis, gru), in process.

The master's own test cells pass the master's solutions; every mistake of the catalog,
applied to the master's answer cell, fails its exercise's test cells with the
catalogued feedback and no other exercise's; `diagnose_lstm_cell` and
`diagnose_gru_cell` name the listed mistakes of hand-written whole cells; the
references agree with torch.
"""

import re

import pytest
import torch
from grading import inprocess

from autograder.checks import cell_diagnosis, core, gru
from autograder.checks import lstm_cell as checks
from lstm_ref import functional as ref

ID = "02_lstm_cell"
MISTAKES = inprocess.mistakes(ID)


def test_every_exercise_has_an_answer_cell_and_three_mistakes():
    assert inprocess.exercises(ID) == [
        "forget-gate-predict",
        "lstm-gates",
        "lstm-cell",
        "num-parameters",
        "memory-cell",
        "gru-cell",
    ]
    inprocess.assert_catalogued(ID)


def test_master_solutions_pass_visible_and_hidden_tests():
    results = inprocess.run(ID)
    assert len(results) == 12
    inprocess.assert_all_pass(results)
    inprocess.assert_rng_untouched(results)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_catalogued_mistake_is_caught_by_its_own_exercise(mistake):
    inprocess.assert_caught(mistake)


def test_the_release_stubs_fail_every_test():
    inprocess.assert_stubs_fail(ID)


def test_the_forget_gate_claim_is_checked_for_form_by_the_visible_test():
    with pytest.raises(core.CheckFailed, match='"A", "B" or "C"'):
        checks.check_forget_gate_prediction(0.88, "b")
    with pytest.raises(core.CheckFailed, match="σ comes after|inside σ"):
        checks.check_forget_gate_claim("A")


def test_stub_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check in (
        checks.check_lstm_gates,
        checks.check_lstm_cell,
        checks.check_num_parameters,
        gru.check_gru_cell,
    ):
        with pytest.raises(NotImplementedError):
            check(stub)


# --- diagnose_lstm_cell on whole cells ------------------------------------------------


def cell_source(
    gates="x @ w_ih.T + b_ih + h @ w_hh.T + b_hh",
    split="i, f, g, o = a.chunk(4, dim=-1)",
    acts="i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()",
    update="c1 = f * c + i * g",
    output="h1 = o * torch.tanh(c1)",
    ret="return h1, c1",
):
    return f"""
def cell(x, state, w_ih, w_hh, b_ih, b_hh):
    h, c = state
    a = {gates}
    {split}
    {acts}
    {update}
    {output}
    {ret}
"""


def make_cell(**changes):
    ns = {"torch": torch}
    exec(cell_source(**changes), ns)  # noqa: S102 - test code
    return ns["cell"]


WHOLE_CELL_MISTAKES = [
    (dict(split="i, f, o, g = a.chunk(4, dim=-1)"), "gate order"),
    (dict(split="f, i, g, o = a.chunk(4, dim=-1)"), "swapped"),
    (dict(split="o, i, f, g = a.chunk(4, dim=-1)"), "gate order"),
    (dict(gates="x @ w_ih.T + h @ w_hh.T + b_hh"), "bias_ih is missing"),
    (dict(gates="x @ w_ih.T + b_ih + h @ w_hh.T"), "bias_hh is missing"),
    (dict(gates="x @ w_ih.T + h @ w_hh.T"), "both biases are missing"),
    (dict(gates="x @ w_ih.T + 2 * b_ih + h @ w_hh.T"), "bias_ih is added twice"),
    (
        dict(acts="i, f, g, o = i.tanh(), f.sigmoid(), g.sigmoid(), o.sigmoid()"),
        "sigmoid and tanh swapped",
    ),
    (
        dict(acts="i, f, g, o = i.sigmoid(), f.sigmoid(), g, o.sigmoid()"),
        "candidate g has no activation",
    ),
    (
        dict(acts="i, f, g, o = i.sigmoid(), f.sigmoid(), g.relu(), o.sigmoid()"),
        "candidate g has relu",
    ),
    (dict(gates="x @ w_ih + b_ih + h @ w_hh + b_hh"), "did you transpose the weights?"),
    (
        dict(gates="torch.cat([x, h], 1) @ torch.cat([w_ih, w_hh], 1).T + b_ih + b_hh"),
        "unbatched input",
    ),
    (dict(output="h1 = o * c1"), "tanh(c') is missing"),
    (dict(output="h1 = torch.tanh(o * c1)"), "tanh is applied after the output gate"),
    (dict(output="h1 = o * torch.tanh(c)"), "old cell state"),
    (dict(update="c1 = f * c + g"), "input gate is missing from the update"),
    (dict(update="c1 = c + i * g"), "forget gate is missing from the update"),
    (dict(ret="return c1, h1"), "(h', c')"),
    (dict(split="i, f, g, o = a.chunk(4, dim=1)"), "unbatched input"),
    (
        dict(ret="return h1.reshape(-1, h1.shape[-1]), c1.reshape(-1, c1.shape[-1])"),
        "unbatched input",
    ),
    (dict(ret="return h1"), "should return the pair"),
    (dict(gates="x @ w_ih.T + b_ih + 0.5 * h @ w_hh.T + b_hh"), "with only h non-zero"),
    (dict(update="c1 = f * c + i * g + 0.1 * c * i"), "only the old cell state c"),
]


def test_diagnose_accepts_correct_cells():
    cell_diagnosis.diagnose_lstm_cell(
        make_cell(), input_size=4, hidden_size=3, batch=2, seed=3
    )
    cell_diagnosis.diagnose_lstm_cell(make_cell(), bias=True, seed=9)

    def torch_cell(x, state, w_ih, w_hh, b_ih, b_hh):  # torch itself is the judge
        if x.dim() == 1:
            h, c = torch_cell(x[None], [s[None] for s in state], w_ih, w_hh, b_ih, b_hh)
            return h[0], c[0]
        return tuple(torch.lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh))

    cell_diagnosis.diagnose_lstm_cell(torch_cell, input_size=5, hidden_size=2, seed=4)


@pytest.mark.parametrize(
    "changes, phrase", WHOLE_CELL_MISTAKES, ids=[p for _, p in WHOLE_CELL_MISTAKES]
)
def test_diagnose_names_whole_cell_mistake(changes, phrase):
    with pytest.raises(core.CheckFailed) as error:
        cell_diagnosis.diagnose_lstm_cell(make_cell(**changes), name="my_cell", seed=5)
    assert phrase in str(error.value)
    assert str(error.value).startswith("my_cell")


def test_diagnose_handles_bias_false():
    nobias = cell_source(gates="x @ w_ih.T + h @ w_hh.T")
    ns = {"torch": torch}
    exec(nobias, ns)  # noqa: S102 - test code
    cell_diagnosis.diagnose_lstm_cell(ns["cell"], bias=False)
    with pytest.raises(core.CheckFailed, match="bias=False"):
        cell_diagnosis.diagnose_lstm_cell(make_cell(), bias=False)


# --- the references against torch -----------------------------------------------------


def test_reference_gates_compose_to_torch_lstm_cell():
    torch.manual_seed(0)
    module = torch.nn.LSTMCell(4, 3, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    h, c = (torch.randn(5, 3, dtype=torch.float64) for _ in range(2))
    with torch.no_grad():
        i, f, g, o = cell_diagnosis.reference_gates(x, h, *module.parameters())
        c1 = f * c + i * g
        h_want, c_want = module(x, (h, c))
    torch.testing.assert_close(c1, c_want, rtol=0, atol=1e-12)
    torch.testing.assert_close(o * torch.tanh(c1), h_want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "mistake", cell_diagnosis.CELL_MISTAKES[:1] + cell_diagnosis.CELL_MISTAKES[-1:]
)
def test_known_mistakes_differ_from_torch(mistake):
    case = cell_diagnosis.make_case(3, 5, 4, 0)
    h, c = mistake(case)
    h_ref, c_ref = ref.lstm_cell(*case.lstm_args())
    assert not (core.matches(h, h_ref) and core.matches(c, c_ref))


def test_every_known_mistake_is_distinguishable_from_torch():
    case = cell_diagnosis.make_case(3, 5, 4, 0)
    h_ref, c_ref = ref.lstm_cell(*case.lstm_args())
    for mistake in cell_diagnosis.CELL_MISTAKES:
        h, c = mistake(case)
        assert not (core.matches(h, h_ref) and core.matches(c, c_ref)), mistake.message
    for mistake in gru.GRU_MISTAKES:
        assert not core.matches(
            mistake(case_gru := cell_diagnosis.make_case(3, 5, 4, 0, 3)),
            ref.gru_cell(*case_gru.gate_args()),
        ), mistake.message


def test_num_parameters_reference_is_torch():
    assert checks.torch_num_parameters(3, 2, 4, True) == 4 * 2 * (3 + 2) + 2 * 4 * 2


def test_memory_cell_rejects_malformed_params():
    with pytest.raises(core.CheckFailed, match="keys"):
        checks.check_memory_cell({"i": 1})
    params = dict.fromkeys("ifgo", ([0.0, 0.0], [0.0], 0.0))
    params["g"] = ([1.0], [0.0], 0.0)
    with pytest.raises(core.CheckFailed, match='memory_params\\["g"\\]'):
        checks.check_memory_cell(params)


# --- diagnose_gru_cell on whole cells -------------------------------------------------

GRU_SOURCE = """
def gru(x, h, w_ih, w_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=-1)
    w_hr, w_hz, w_hn = w_hh.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(x_r + h @ w_hr.T + b_hr)
    z = torch.sigmoid(x_z + h @ w_hz.T + b_hz)
    n = torch.tanh(x_n + r * (h @ w_hn.T + b_hn))
    return (1 - z) * n + z * h
"""

GRU_MISTAKES = [
    ("r * (h @ w_hn.T + b_hn)", "(r * h) @ w_hn.T + b_hn", "multiplies h before"),
    ("(1 - z) * n + z * h", "z * n + (1 - z) * h", "z and 1 - z are swapped"),
    ("r * (h @ w_hn.T + b_hn)", "(h @ w_hn.T + b_hn)", "reset gate is missing"),
    ("x_r, x_z, x_n", "x_z, x_r, x_n", "check how x and bias_ih enter"),
    ("z = torch.sigmoid(", "z = torch.tanh(", "the z gate has tanh"),
]


def make_gru(old="", new=""):
    ns = {"torch": torch}
    exec(GRU_SOURCE.replace(old, new), ns)  # noqa: S102 - test code
    return ns["gru"]


def test_diagnose_gru_accepts_torch_order():
    gru.diagnose_gru_cell(make_gru(), input_size=4, hidden_size=3, seed=2)


@pytest.mark.parametrize(
    "old, new, phrase", GRU_MISTAKES, ids=[m[2] for m in GRU_MISTAKES]
)
def test_diagnose_gru_names_mistake(old, new, phrase):
    with pytest.raises(core.CheckFailed, match=re.escape(phrase)):
        gru.diagnose_gru_cell(make_gru(old, new), seed=6)
