"""lstm_ref.functional against torch: the cells, one LSTM layer, and the hand-written
backward of one LSTM step against autograd."""

import ast
import pathlib

import pytest
import torch

import lstm_ref
from lstm_ref import functional as F

# torch's own notice when it leaves oneDNN for the plain loop: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

F64 = torch.float64
N, H_IN, H, P = 3, 5, 6, 4


def assert_close(got, want, atol=1e-10):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert (got - want).abs().max() <= atol, (got - want).abs().max()


def lstm_weights(lstm, suffix=""):
    """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer 0 of a torch LSTM, None where absent."""
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]
    return [getattr(lstm, f"{n}_l0{suffix}", None) for n in names]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("proj", [0, P])
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_cell_is_one_step_of_torch_lstm(batched, proj, bias):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(H_IN, H, bias=bias, proj_size=proj, dtype=F64)
    h_out = proj or H
    batch = (N,) if batched else ()
    x = torch.randn(*batch, H_IN, dtype=F64)
    h0, c0 = torch.randn(*batch, h_out, dtype=F64), torch.randn(*batch, H, dtype=F64)
    _, (h_n, c_n) = lstm(x.unsqueeze(0), (h0.unsqueeze(0), c0.unsqueeze(0)))
    w_ih, w_hh, b_ih, b_hh, w_hr = lstm_weights(lstm)
    h1, c1 = F.lstm_cell(x, (h0, c0), w_ih, w_hh, b_ih, b_hh, w_hr=w_hr)
    assert_close(h1, h_n[0])
    assert_close(c1, c_n[0])


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
    x, h = torch.randn(*batch, H_IN, dtype=F64), torch.randn(*batch, H, dtype=F64)
    weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    if kind == "gru":
        got = F.gru_cell(x, h, *weights)
    else:
        got = F.rnn_cell(x, h, *weights, nonlinearity=kind)
    assert_close(got, cell(x, h))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("proj", [0, P])
def test_lstm_layer_is_one_direction_of_torch_lstm(proj, reverse):
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(H_IN, H, bidirectional=True, proj_size=proj, dtype=F64)
    h_out = proj or H
    x = torch.randn(7, N, H_IN, dtype=F64)
    h0, c0 = torch.randn(2, N, h_out, dtype=F64), torch.randn(2, N, H, dtype=F64)
    output, (h_n, c_n) = lstm(x, (h0, c0))
    d = int(reverse)
    w_ih, w_hh, b_ih, b_hh, w_hr = lstm_weights(lstm, "_reverse" if reverse else "")
    out, (h, c) = F.lstm_layer(
        x, (h0[d], c0[d]), w_ih, w_hh, b_ih, b_hh, w_hr=w_hr, reverse=reverse
    )
    assert_close(out, output[..., d * h_out : (d + 1) * h_out])
    assert_close(h, h_n[d])
    assert_close(c, c_n[d])


@pytest.mark.parametrize("grads_from", ["h and c", "h only", "c only"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("proj", [0, P])
@pytest.mark.parametrize("batched", [True, False])
def test_lstm_cell_backward_matches_autograd(batched, proj, bias, grads_from):
    g = torch.Generator().manual_seed(3)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=F64, requires_grad=True)

    h_out = proj or H
    batch = (N,) if batched else ()
    tensors = {
        "input": randn(*batch, H_IN),
        "h": randn(*batch, h_out),
        "c": randn(*batch, H),
        "w_ih": randn(4 * H, H_IN),
        "w_hh": randn(4 * H, h_out),
        "b_ih": randn(4 * H) if bias else None,
        "b_hh": randn(4 * H) if bias else None,
        "w_hr": randn(P, H) if proj else None,
    }
    t = tensors
    args = (t["input"], (t["h"], t["c"]), t["w_ih"], t["w_hh"], t["b_ih"], t["b_hh"])
    h1, c1 = F.lstm_cell(*args, w_hr=t["w_hr"])
    grad_h = torch.randn(h1.shape, generator=g, dtype=F64)
    grad_c = torch.randn(c1.shape, generator=g, dtype=F64)
    if grads_from == "h only":
        grad_c = None
    if grads_from == "c only":
        grad_h = None
    loss = sum(
        (y * gy).sum() for y, gy in [(h1, grad_h), (c1, grad_c)] if gy is not None
    )
    present = {k: v for k, v in tensors.items() if v is not None}
    grads = torch.autograd.grad(  # w_hr gets no gradient from c alone: zeros
        loss, list(present.values()), allow_unused=True, materialize_grads=True
    )
    want = dict(zip(present, grads, strict=True))

    got = F.lstm_cell_backward(grad_h, grad_c, *args, w_hr=t["w_hr"])
    assert set(got) == set(tensors)
    for name in tensors:
        if tensors[name] is None:
            assert got[name] is None, name
        else:
            assert_close(got[name], want[name])


def test_lstm_cell_backward_uses_no_autograd():
    """The hand-written backward works on tensors that do not require grad."""
    torch.manual_seed(4)
    x, h, c = torch.randn(N, H_IN), torch.randn(N, H), torch.randn(N, H)
    w_ih, w_hh = torch.randn(4 * H, H_IN), torch.randn(4 * H, H)
    with torch.no_grad():
        grads = F.lstm_cell_backward(torch.ones(N, H), None, x, (h, c), w_ih, w_hh)
    assert grads["w_ih"].shape == w_ih.shape and not grads["w_ih"].requires_grad


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
