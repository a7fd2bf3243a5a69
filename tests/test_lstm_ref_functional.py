"""lstm_ref.functional and lstm_ref.backward against torch: the cells, one LSTM layer,
and the hand-written gradients against autograd through torch's own modules."""

import ast
import pathlib

import pytest
import torch

import lstm_ref
from lstm_ref import backward as B
from lstm_ref import functional as F

# torch's own notice when it leaves oneDNN for the plain loop: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

F64 = torch.float64
N, H_IN, H, P = 3, 5, 6, 4
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]


def assert_close(got, want, atol=1e-10):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert (got - want).abs().max() <= atol, (got - want).abs().max()


def lstm_weights(lstm, suffix=""):
    """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer 0 of a torch LSTM, None where absent."""
    return [getattr(lstm, f"{n}_l0{suffix}", None) for n in NAMES]


def randn(*shape, generator=None):
    return torch.randn(*shape, dtype=F64, generator=generator)


def one_step(lstm, batched):
    """x, h0, c0 and torch's (h_n, c_n) after one step of ``lstm``."""
    h_out = lstm.proj_size or lstm.hidden_size
    batch = (N,) if batched else ()
    x, h0, c0 = randn(*batch, H_IN), randn(*batch, h_out), randn(*batch, H)
    _, (h_n, c_n) = lstm(x.unsqueeze(0), (h0.unsqueeze(0), c0.unsqueeze(0)))
    return x, h0, c0, h_n[0], c_n[0]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("proj", [0, P])
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_step_is_one_step_of_torch_lstm(batched, proj, bias):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(H_IN, H, bias=bias, proj_size=proj, dtype=F64)
    x, h0, c0, h_n, c_n = one_step(lstm, batched)
    h1, c1 = F.lstm_step(x, h0, c0, *lstm_weights(lstm))
    assert_close(h1, h_n)
    assert_close(c1, c_n)
    if not proj:  # lstm_cell is the step without a projection
        h1, c1 = F.lstm_cell(x, (h0, c0), *lstm_weights(lstm)[:4])
        assert_close(h1, h_n)
        assert_close(c1, c_n)


@pytest.mark.parametrize("batched", [True, False])
def test_lstm_gates_make_torchs_step(batched):
    """The gates give torch's c' = f c + i g and h' = o tanh(c')."""
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(H_IN, H, dtype=F64)
    x, h0, c0, h_n, c_n = one_step(lstm, batched)
    i, f, g, o = F.lstm_gates(x, h0, *lstm_weights(lstm)[:4])
    assert_close(f * c0 + i * g, c_n)
    assert_close(o * torch.tanh(c_n), h_n)
    assert 0 < f.min() and f.max() < 1 and g.abs().max() < 1


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["tanh", "relu", "gru"])
def test_rnn_and_gru_cells_match_torch(kind, bias, batched):
    torch.manual_seed(1)
    if kind == "gru":
        cell = torch.nn.GRUCell(H_IN, H, bias, dtype=F64)
    else:
        cell = torch.nn.RNNCell(H_IN, H, bias, nonlinearity=kind, dtype=F64)
    batch = (N,) if batched else ()
    x, h = randn(*batch, H_IN), randn(*batch, H)
    weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    function = {"gru": F.gru_cell, "tanh": F.rnn_cell, "relu": F.rnn_relu_cell}[kind]
    assert_close(function(x, h, *weights), cell(x, h))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("state_given", [True, False])
@pytest.mark.parametrize("proj", [0, P])
def test_lstm_layer_is_a_one_layer_torch_lstm(proj, state_given, batch_first):
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(H_IN, H, proj_size=proj, batch_first=batch_first, dtype=F64)
    x = randn(*((N, 7) if batch_first else (7, N)), H_IN)
    state = (randn(1, N, proj or H), randn(1, N, H)) if state_given else None
    params = {name.removesuffix("_l0"): p for name, p in lstm.named_parameters()}
    output, (h_n, c_n) = F.lstm_layer(x, params, state, batch_first)
    want, (want_h, want_c) = lstm(x, state)
    assert_close(output, want)
    assert_close(h_n, want_h)
    assert_close(c_n, want_c)


def test_reverse_direction_is_the_loop_over_the_reversed_sequence():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(H_IN, H, bidirectional=True, dtype=F64)
    x = randn(7, N, H_IN)
    h0, c0 = randn(2, N, H), randn(2, N, H)
    output, (h_n, c_n) = lstm(x, (h0, c0))
    params = dict(zip(NAMES, lstm_weights(lstm, "_reverse"), strict=True))
    out, (h, c) = F.lstm_layer(x.flip(0), params, (h0[1:], c0[1:]))
    assert_close(out.flip(0), output[..., H:])
    assert_close(h[0], h_n[1])
    assert_close(c[0], c_n[1])


# --- lstm_ref.backward ---------------------------------------------------------------


def cell_leaves(seed):
    """x, h, c and torch's LSTMCell weights, all leaves that require grad."""
    torch.manual_seed(seed)
    cell = torch.nn.LSTMCell(H_IN, H, dtype=F64)
    x, h, c = randn(N, H_IN), randn(N, H), randn(N, H)
    leaves = {"x": x, "h": h, "c": c} | dict(cell.named_parameters())
    return cell, {k: v.detach().clone().requires_grad_() for k, v in leaves.items()}


def test_lstm_cell_forward_is_torchs_lstm_cell():
    cell, t = cell_leaves(4)
    h_next, c_next, cache = B.lstm_cell_forward(*t.values())
    want_h, want_c = cell(t["x"], (t["h"], t["c"]))
    assert_close(h_next, want_h)
    assert_close(c_next, want_c)
    assert_close(cache["c_next"], want_c)
    assert set(cache) == {"x", "h", "c", "i", "f", "g", "o", "c_next",
                          "weight_ih", "weight_hh"}  # fmt: skip


@pytest.mark.parametrize("grads_from", ["h and c", "h only", "c only"])
def test_lstm_cell_backward_matches_autograd_through_torch(grads_from):
    cell, t = cell_leaves(5)
    h1, c1 = torch.func.functional_call(
        cell, {k: t[k] for k in NAMES[:4]}, (t["x"], (t["h"], t["c"]))
    )
    g = torch.Generator().manual_seed(6)
    grad_h, grad_c = randn(N, H, generator=g), randn(N, H, generator=g)
    if grads_from == "h only":
        grad_c = torch.zeros_like(grad_c)
    if grads_from == "c only":
        grad_h = torch.zeros_like(grad_h)
    want = torch.autograd.grad((h1, c1), list(t.values()), (grad_h, grad_c))
    _, _, cache = B.lstm_cell_forward(*(v.detach() for v in t.values()))
    got = B.lstm_cell_backward(grad_h, grad_c, cache)
    assert list(got) == list(t)
    for name, w in zip(t, want, strict=True):
        assert_close(got[name], w)


def test_gates_and_activations_backward_match_autograd():
    _, t = cell_leaves(7)
    x, h, c, w_ih, w_hh, b_ih, b_hh = t.values()
    pre = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).detach().requires_grad_()
    i, f, g, o = pre.chunk(4, dim=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    grad_h, grad_c = torch.ones(N, H, dtype=F64), torch.full((N, H), 0.5, dtype=F64)
    want = torch.autograd.grad((h_next, c_next), (pre, c), (grad_h, grad_c))
    _, _, cache = B.lstm_cell_forward(*(v.detach() for v in t.values()))
    got = B.gates_backward(grad_h, grad_c, cache)
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])
    a = randn(4, 5).requires_grad_()
    for act, backward in [(torch.sigmoid, B.sigmoid_backward),
                          (torch.tanh, B.tanh_backward)]:  # fmt: skip
        out = act(a)
        (expected,) = torch.autograd.grad(out, a, torch.ones_like(out) * 3)
        assert_close(backward(torch.ones_like(out) * 3, out.detach()), expected)


def test_lstm_sequence_backward_matches_autograd_through_torch_lstm():
    torch.manual_seed(8)
    lstm = torch.nn.LSTM(H_IN, H, dtype=F64)
    x, h_0, c_0 = randn(6, N, H_IN), randn(N, H), randn(N, H)
    leaves = [t.clone().requires_grad_() for t in (x, h_0, c_0)]
    output, _ = lstm(leaves[0], (leaves[1][None], leaves[2][None]))
    grad_output = torch.randn_like(output)
    want = torch.autograd.grad(output, leaves + list(lstm.parameters()), grad_output)
    params = {name.removesuffix("_l0"): p.detach() for name, p in
              lstm.named_parameters()}  # fmt: skip
    mine, caches = B.lstm_sequence_forward(x, h_0, c_0, params)
    assert_close(mine, output.detach())
    got = B.lstm_sequence_backward(grad_output, caches)
    names = ["x", "h_0", "c_0", *NAMES[:4]]
    assert list(got) == names
    for name, w in zip(names, want, strict=True):
        assert_close(got[name], w)


def test_backward_uses_no_autograd():
    """The hand-written backward works on tensors that do not require grad."""
    _, t = cell_leaves(9)
    with torch.no_grad():
        _, _, cache = B.lstm_cell_forward(*t.values())
        grads = B.lstm_cell_backward(torch.ones(N, H), torch.zeros(N, H), cache)
    assert grads["weight_ih"].shape == t["weight_ih"].shape
    assert not grads["weight_ih"].requires_grad


def test_lstm_ref_calls_no_torch_rnn_kernel():
    """lstm_ref is the equations in plain tensor code: it never calls torch's RNN
    modules, _VF, or the recurrent functions of torch.nn.functional / torch._C."""
    forbidden = {"_VF", "LSTM", "GRU", "RNN", "lstm", "gru", "rnn_tanh", "rnn_relu",
                 "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
                 "LSTMCell", "GRUCell", "RNNCell"}  # fmt: skip
    package = pathlib.Path(lstm_ref.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in forbidden:
                base = ast.unparse(node.value)
                assert not base.startswith(("torch", "nn", "_VF")), (
                    f"{path.name}: {ast.unparse(node)}"
                )
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
                assert not (node.module or "").startswith("torch") or not (
                    names & forbidden
                ), f"{path.name}: from {node.module} import {names}"
