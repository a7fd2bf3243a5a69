"""lstm_ref's modules look like torch's from outside: the same initial weights under
the same seed, the same state_dict both ways, the same repr, and the same dropout."""

import itertools
import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstm_ref

CONFIGS = [
    dict(zip(["num_layers", "bidirectional", "bias", "proj_size"], c, strict=True))
    for c in itertools.product([1, 3], [False, True], [True, False], [0, 2])
]


def make(module, cls, *args, seed=0, **kwargs):
    torch.manual_seed(seed)
    return getattr(module, cls)(*args, **kwargs)


def assert_same_state_dict(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert sa[name].shape == sb[name].shape, name
        assert torch.equal(sa[name], sb[name]), name


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_lstm_initial_weights_are_torchs(config):
    """Same seed, same parameters: names, order, shapes, dtype and values."""
    want = make(torch.nn, "LSTM", 5, 4, batch_first=True, **config)
    got = make(lstm_ref, "LSTM", 5, 4, batch_first=True, **config)
    assert_same_state_dict(got, want)
    assert [n for n, _ in got.named_parameters()] == [
        n for n, _ in want.named_parameters()
    ]


@pytest.mark.parametrize("cls", ["RNN", "GRU"])
@pytest.mark.parametrize("config", CONFIGS[::2], ids=str)
def test_rnn_and_gru_initial_weights_are_torchs(cls, config):
    config = {k: v for k, v in config.items() if k != "proj_size"}
    assert_same_state_dict(
        make(lstm_ref, cls, 5, 4, **config), make(torch.nn, cls, 5, 4, **config)
    )


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cell_initial_weights_are_torchs(cls):
    for bias in (True, False):
        want = make(torch.nn, cls, 5, 4, bias)
        assert_same_state_dict(make(lstm_ref, cls, 5, 4, bias), want)


def test_initialisation_draws_as_many_numbers_as_torch():
    """The generator is left where torch leaves it, so the next draw agrees too."""
    make(torch.nn, "LSTM", 5, 4, 2, bidirectional=True, proj_size=3)
    after_torch = torch.rand(3)
    make(lstm_ref, "LSTM", 5, 4, 2, bidirectional=True, proj_size=3)
    assert torch.equal(torch.rand(3), after_torch)


@pytest.mark.parametrize("config", CONFIGS[1::3], ids=str)
def test_state_dict_loads_both_ways(config):
    ref = make(lstm_ref, "LSTM", 5, 4, seed=1, **config)
    tm = make(torch.nn, "LSTM", 5, 4, seed=2, **config)
    tm.load_state_dict(ref.state_dict())  # strict: same names and shapes
    assert_same_state_dict(tm, ref)
    other = make(torch.nn, "LSTM", 5, 4, seed=3, **config)
    ref.load_state_dict(other.state_dict())
    assert_same_state_dict(ref, other)


def test_dtype_and_device_arguments():
    lstm = lstm_ref.LSTM(3, 4, 2, dtype=torch.float64, device="cpu")
    assert {p.dtype for p in lstm.parameters()} == {torch.float64}
    assert lstm.double().float().weight_ih_l1.dtype == torch.float32
    cell = lstm_ref.LSTMCell(3, 4, dtype=torch.float64)
    assert cell.weight_hh.dtype == torch.float64


@pytest.mark.parametrize(
    "cls, args, kwargs",
    [
        ("LSTM", (5, 4), {}),
        ("LSTM", (5, 4, 2), {"bias": False, "batch_first": True, "dropout": 0.5,
                            "bidirectional": True, "proj_size": 3}),
        ("GRU", (5, 4, 3), {"bidirectional": True}),
        ("RNN", (5, 4), {"nonlinearity": "relu"}),
        ("LSTMCell", (5, 4), {"bias": False}),
        ("RNNCell", (5, 4), {"nonlinearity": "relu"}),
    ],
)  # fmt: skip
def test_attributes_and_repr_match_torch(cls, args, kwargs):
    want = getattr(torch.nn, cls)(*args, **kwargs)
    got = getattr(lstm_ref, cls)(*args, **kwargs)
    assert repr(got) == repr(want)
    for name in ["input_size", "hidden_size", "num_layers", "bias", "batch_first",
                 "dropout", "bidirectional", "proj_size", "mode", "nonlinearity",
                 "_flat_weights_names"]:  # fmt: skip
        if hasattr(want, name):
            assert getattr(got, name) == getattr(want, name), name
    if hasattr(want, "all_weights"):
        assert [[p.shape for p in ps] for ps in got.all_weights] == [
            [p.shape for p in ps] for ps in want.all_weights
        ]


# --- dropout -------------------------------------------------------------------------


def dropout_twins(p=0.5, dtype=torch.float32, **kwargs):
    want = make(torch.nn, "LSTM", 3, 4, 3, dropout=p, dtype=dtype, **kwargs)
    got = make(lstm_ref, "LSTM", 3, 4, 3, dropout=p, dtype=dtype, **kwargs)
    return want, got


def run_seeded(module, input, seed=10):
    torch.manual_seed(seed)
    output, (h_n, c_n) = module(input)
    output = (
        output.data if isinstance(output, torch.nn.utils.rnn.PackedSequence) else output
    )
    return output, h_n, c_n


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("form", ["batched", "packed", "bidirectional"])
def test_dropout_masks_are_torchs(form, dtype):
    """torch applies dropout to each non-last layer's whole output with one bernoulli
    draw; lstm_ref draws the same numbers in the same order, so the masks agree."""
    want, got = dropout_twins(dtype=dtype, bidirectional=form == "bidirectional")
    x = torch.randn(7, 4, 3, dtype=dtype)
    if form == "packed":
        x = pack_padded_sequence(x, [7, 6, 3, 1])
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    results = run_seeded(got, x), run_seeded(want, x)
    for a, b in zip(*results, strict=True):
        assert (a - b).abs().max() <= tol
    # and dropout did something: without it the outputs differ
    want.eval()
    assert (run_seeded(want, x)[0] - results[1][0]).abs().max() > 1e-3


def test_dropout_only_in_training():
    want, got = dropout_twins(p=0.9)
    x = torch.randn(7, 4, 3)
    got.eval()
    first, second = run_seeded(got, x, seed=1), run_seeded(got, x, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    want.eval()
    assert all(
        (a - b).abs().max() <= 1e-5
        for a, b in zip(first, run_seeded(want, x), strict=True)
    )
    got.train()
    assert not torch.equal(run_seeded(got, x, seed=1)[0], run_seeded(got, x, seed=2)[0])


def test_dropout_with_one_layer_changes_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lstm = make(lstm_ref, "LSTM", 3, 4, 1, dropout=0.9)
    x = torch.randn(5, 2, 3)
    assert all(
        torch.equal(a, b)
        for a, b in zip(run_seeded(lstm, x, 1), run_seeded(lstm, x, 2), strict=True)
    )
