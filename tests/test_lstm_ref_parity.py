"""lstm_ref's modules against the installed torch: outputs, final states and the
gradients of every parameter, of the input and of (h_0, c_0), in float64 and float32.
"""

import copy
import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence

import lstm_ref

# torch's own notice when it leaves oneDNN for the plain loop: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

F64 = {"rtol": 0, "atol": 1e-10}
F32 = {"rtol": 1.3e-6, "atol": 1e-5}
INPUT, HIDDEN, PROJ = 3, 4, 2


def run(module, x, hx=None, lengths=None, enforce_sorted=True):
    """Forward and backward once. Returns {name: tensor} with the output, the final
    states and the gradients of a fixed random linear function of all of them.

    ``x`` and ``hx`` are leaves; with ``lengths`` the padded ``x`` is packed first.
    """
    x = x.detach().clone().requires_grad_()
    leaves = {"input": x}
    if hx is not None:
        hx = tuple(h.detach().clone().requires_grad_() for h in hx)
        leaves |= {f"hx[{k}]": h for k, h in enumerate(hx)}
        hx = hx if len(hx) == 2 else hx[0]
    input = x
    if lengths is not None:
        input = pack_padded_sequence(
            x, lengths, batch_first=module.batch_first, enforce_sorted=enforce_sorted
        )
    output, state = module(input, hx)
    results = {"output": output.data if lengths is not None else output}
    state = state if isinstance(state, tuple) else (state,)
    results |= {f"state[{k}]": s for k, s in enumerate(state)}
    leaves |= dict(module.named_parameters())

    g = torch.Generator().manual_seed(0)
    loss = sum(
        (r * torch.randn(r.shape, generator=g, dtype=r.dtype)).sum()
        for r in results.values()
    )
    grads = torch.autograd.grad(loss, list(leaves.values()))
    results |= {f"grad {name}": grad for name, grad in zip(leaves, grads, strict=True)}
    return {name: r.detach() for name, r in results.items()}


def assert_close(got, want, tolerance, name=""):
    """|got - want| <= atol + rtol * |want| everywhere (torch.testing's rule, without
    its per-call overhead: the sweep makes thousands of comparisons)."""
    assert got.shape == want.shape and got.dtype == want.dtype, name
    excess = (got - want).abs() - tolerance["atol"] - tolerance["rtol"] * want.abs()
    worst = (got - want).abs().max().item() if got.numel() else 0.0
    assert got.numel() == 0 or excess.max() <= 0, f"{name}: max |diff| {worst:.3g}"


def assert_same(got, want, tolerance):
    assert list(got) == list(want)
    for name in want:
        assert_close(got[name], want[name], tolerance, name)


def twin(torch_module, ref_class):
    """An lstm_ref module with the torch module's arguments and weights."""
    kwargs = {
        name: getattr(torch_module, name)
        for name in ("num_layers", "bias", "batch_first", "bidirectional")
    }
    if isinstance(torch_module, torch.nn.LSTM):
        kwargs["proj_size"] = torch_module.proj_size
    if isinstance(torch_module, torch.nn.RNN):
        kwargs["nonlinearity"] = torch_module.nonlinearity
    p = next(torch_module.parameters())
    ref = ref_class(
        torch_module.input_size, torch_module.hidden_size, dtype=p.dtype, **kwargs
    )
    ref.load_state_dict(torch_module.state_dict())
    return ref


def random_state(module, batch, seed, dtype):
    """A random (h_0, c_0) or h_0 of the right shape; batch=None for unbatched."""
    g = torch.Generator().manual_seed(seed)
    D = 2 if module.bidirectional else 1
    sizes = [module.hidden_size]
    if module.mode == "LSTM":
        sizes = [module.proj_size or module.hidden_size, module.hidden_size]
    lead = (D * module.num_layers,) + (() if batch is None else (batch,))
    return tuple(torch.randn(*lead, s, generator=g, dtype=dtype) for s in sizes)


def check_parity(torch_module, ref_class, x, hx=None, **pack):
    """Same outputs and gradients as torch in float64 and, converted, float32."""
    ref = twin(torch_module, ref_class)
    assert_same(run(ref, x, hx, **pack), run(torch_module, x, hx, **pack), F64)
    t32, r32 = copy.deepcopy(torch_module).float(), copy.deepcopy(ref).float()
    hx32 = None if hx is None else tuple(h.float() for h in hx)
    assert_same(
        run(r32, x.float(), hx32, **pack), run(t32, x.float(), hx32, **pack), F32
    )


# --- the sweep ---------------------------------------------------------------------

SWEEP = [
    c
    for c in itertools.product(
        [1, 2, 3],  # num_layers
        [False, True],  # bidirectional
        [True, False],  # bias
        [False, True],  # batch_first
        [0, PROJ],  # proj_size
        [False, True],  # hx given
        [True, False],  # batched
        [1, 7],  # length
        [1, 4],  # batch
    )
    if c[6] or c[8] == 1  # unbatched input has no batch size to vary
]


def sweep_id(c):
    layers, bidir, bias, bf, proj, hx, batched, L, N = c
    parts = [f"L{layers}", "bi" if bidir else "uni", "bias" if bias else "nobias"]
    parts += ["bf" if bf else "tf", f"p{proj}", "hx" if hx else "nohx"]
    parts += [f"N{N}" if batched else "unbatched", f"T{L}"]
    return "-".join(parts)


@pytest.mark.parametrize("config", SWEEP, ids=sweep_id)
def test_lstm_matches_torch(config):
    layers, bidir, bias, batch_first, proj, hx_given, batched, L, N = config
    torch.manual_seed(hash(config) % 2**31)
    module = torch.nn.LSTM(
        INPUT, HIDDEN, layers, bias, batch_first, 0.0, bidir, proj, dtype=torch.float64
    )
    shape = ((N, L) if batch_first else (L, N)) if batched else (L,)
    x = torch.randn(*shape, INPUT, dtype=torch.float64)
    hx = random_state(module, N if batched else None, 1, torch.float64)
    check_parity(module, lstm_ref.LSTM, x, hx if hx_given else None)


def test_sweep_covers_every_axis():
    assert len(SWEEP) == 3 * 2**5 * (2 * 2 + 2)
    for axis in range(9):
        assert len({c[axis] for c in SWEEP}) > 1


@pytest.mark.parametrize("cls", ["RNN", "GRU"])
@pytest.mark.parametrize(
    "layers, bidir, bias, batch_first, nonlinearity, hx_given, batched",
    [
        (1, False, True, False, "tanh", False, True),
        (2, True, True, True, "relu", True, True),
        (3, True, False, False, "tanh", True, True),
        (2, False, False, True, "relu", False, True),
        (2, True, True, False, "tanh", True, False),
        (1, True, False, True, "relu", False, False),
    ],
)
def test_rnn_and_gru_match_torch(
    cls, layers, bidir, bias, batch_first, nonlinearity, hx_given, batched
):
    torch.manual_seed(layers)
    kwargs = {"nonlinearity": nonlinearity} if cls == "RNN" else {}
    module = getattr(torch.nn, cls)(
        INPUT, HIDDEN, layers, bias=bias, batch_first=batch_first,
        bidirectional=bidir, dtype=torch.float64, **kwargs,
    )  # fmt: skip
    shape = ((4, 5) if batch_first else (5, 4)) if batched else (5,)
    x = torch.randn(*shape, INPUT, dtype=torch.float64)
    hx = random_state(module, 4 if batched else None, 2, torch.float64)
    check_parity(module, getattr(lstm_ref, cls), x, hx if hx_given else None)


# --- packed sequences ----------------------------------------------------------------

LENGTHS = [7, 5, 5, 2, 1, 1]
SHUFFLED = [2, 5, 1, 7, 1, 5]


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("hx_given", [True, False])
@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": PROJ}),
        ("LSTM", {"num_layers": 1, "batch_first": True}),
        ("LSTM", {"num_layers": 3, "bidirectional": True, "bias": False}),
        ("GRU", {"num_layers": 2, "bidirectional": True}),
        ("RNN", {"num_layers": 2, "bidirectional": True, "nonlinearity": "relu"}),
    ],
)
def test_packed_matches_torch(cls, kwargs, hx_given, enforce_sorted):
    torch.manual_seed(3)
    module = getattr(torch.nn, cls)(INPUT, HIDDEN, dtype=torch.float64, **kwargs)
    lengths = LENGTHS if enforce_sorted else SHUFFLED
    shape = (6, 7) if module.batch_first else (7, 6)
    x = torch.randn(*shape, INPUT, dtype=torch.float64)
    hx = random_state(module, 6, 4, torch.float64) if hx_given else None
    pack = {"lengths": lengths, "enforce_sorted": enforce_sorted}
    check_parity(module, getattr(lstm_ref, cls), x, hx, **pack)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_equals_each_sequence_alone(enforce_sorted):
    """Each sequence's output and final state are those of running it alone: the
    forward direction stops at its own last step, the reverse never sees padding."""
    torch.manual_seed(5)
    lstm = lstm_ref.LSTM(
        INPUT, HIDDEN, 2, bidirectional=True, proj_size=PROJ, dtype=torch.float64
    )
    lengths = LENGTHS if enforce_sorted else SHUFFLED
    x = torch.randn(7, 6, INPUT, dtype=torch.float64)
    h0, c0 = random_state(lstm, 6, 6, torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    output, (h_n, c_n) = lstm(packed, (h0, c0))
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(output)
    for b, length in enumerate(lengths):
        out_b, (h_b, c_b) = lstm(x[:length, b], (h0[:, b], c0[:, b]))
        assert_close(padded[:length, b], out_b, F64)
        assert_close(h_n[:, b], h_b, F64)
        assert_close(c_n[:, b], c_b, F64)
        assert not padded[length:, b].any(), "padding positions of the output are 0"


# --- cells ---------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("hx_given", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell-relu"])
def test_cells_match_torch(name, bias, hx_given, batched):
    cls, _, act = name.partition("-")
    kwargs = {"nonlinearity": act} if act else {}
    torch.manual_seed(6)
    want = getattr(torch.nn, cls)(INPUT, HIDDEN, bias, dtype=torch.float64, **kwargs)
    torch.manual_seed(6)
    ref = getattr(lstm_ref, cls)(INPUT, HIDDEN, bias, dtype=torch.float64, **kwargs)
    assert list(ref.state_dict()) == list(want.state_dict())
    for key, value in want.state_dict().items():
        assert torch.equal(ref.state_dict()[key], value), key
    x = torch.randn(*((3,) if batched else ()), INPUT, dtype=torch.float64)
    n = 2 if cls == "LSTMCell" else 1
    hx = tuple(
        torch.randn(*x.shape[:-1], HIDDEN, dtype=torch.float64) for _ in range(n)
    )
    hx = (hx if n == 2 else hx[0]) if hx_given else None
    got, expected = ref(x, hx), want(x, hx)
    got, expected = (got, expected) if n == 2 else ((got,), (expected,))
    for g, e in zip(got, expected, strict=True):
        assert_close(g, e, F64)


@pytest.mark.parametrize("batched", [True, False])
def test_lstm_cell_is_one_step_of_a_one_layer_lstm(batched):
    torch.manual_seed(7)
    cell = lstm_ref.LSTMCell(INPUT, HIDDEN, dtype=torch.float64)
    lstm = lstm_ref.LSTM(INPUT, HIDDEN, dtype=torch.float64)
    lstm.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    batch = (3,) if batched else ()
    x = torch.randn(*batch, INPUT, dtype=torch.float64)
    h0, c0 = (torch.randn(*batch, HIDDEN, dtype=torch.float64) for _ in range(2))
    h1, c1 = cell(x, (h0, c0))
    output, (h_n, c_n) = lstm(x.unsqueeze(0), (h0.unsqueeze(0), c0.unsqueeze(0)))
    assert_close(h1, h_n[0], F64)
    assert_close(c1, c_n[0], F64)
    assert_close(h1, output[0], F64)


# --- property-based ------------------------------------------------------------------


@st.composite
def configurations(draw):
    proj = draw(st.sampled_from([0, 1, 2]))
    return {
        "input_size": draw(st.integers(1, 4)),
        "hidden_size": draw(st.integers(proj + 1, 5)),
        "num_layers": draw(st.integers(1, 3)),
        "bias": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "bidirectional": draw(st.booleans()),
        "proj_size": proj,
    }


@settings(max_examples=40, deadline=None, derandomize=True)  # same examples in CI
@given(
    config=configurations(),
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    form=st.sampled_from(["batched", "unbatched", "packed", "packed-unsorted"]),
    hx_given=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_configurations_match_torch(config, lengths, form, hx_given, seed):
    torch.manual_seed(seed)
    module = torch.nn.LSTM(**config, dtype=torch.float64)
    L, N = max(lengths), len(lengths)
    shape = (N, L) if module.batch_first else (L, N)
    if form == "unbatched":
        shape, N = (L,), None
    x = torch.randn(*shape, config["input_size"], dtype=torch.float64)
    hx = random_state(module, N, seed, torch.float64) if hx_given else None
    pack = {}
    if form.startswith("packed"):
        unsorted = form == "packed-unsorted"
        pack = {
            "lengths": lengths if unsorted else sorted(lengths, reverse=True),
            "enforce_sorted": not unsorted,
        }
    check_parity(module, lstm_ref.LSTM, x, hx, **pack)
