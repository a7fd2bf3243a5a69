"""lstm_ref raises what torch raises: the same exception type and message, compared
with what the installed torch actually raises for the same call."""

import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstm_ref

F64 = torch.float64


def outcome(make):
    """("ok", None) if ``make()`` returns, else (exception type, message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            make()
        except Exception as error:  # noqa: BLE001 - any exception is the outcome
            return type(error), str(error)
    return "ok", None


def assert_same_outcome(torch_call, ref_call, *, must_raise=True):
    want = outcome(torch_call)
    if must_raise:
        assert want[0] != "ok", "torch accepts this call: the case tests nothing"
    assert outcome(ref_call) == want


# --- constructors --------------------------------------------------------------------

BAD_ARGUMENTS = [
    {"dropout": -0.1},
    {"dropout": 1.5},
    {"dropout": True},
    {"dropout": "0.5"},
    {"dropout": None},
    {"bias": 1},
    {"batch_first": "yes"},
    {"input_size": 4.0},
    {"input_size": 0},
    {"input_size": -2},
    {"hidden_size": 2.5},
    {"hidden_size": 0},
    {"hidden_size": -1},
    {"num_layers": 0},
    {"num_layers": 2.0},
    {"proj_size": -1},
    {"proj_size": 6},
    {"proj_size": 7},
    {"proj_size": 2.0},
    {"hidden_size": "6"},
]


def arguments(**changes):
    return {"input_size": 4, "hidden_size": 6} | changes


@pytest.mark.parametrize("changes", BAD_ARGUMENTS, ids=str)
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_constructor_errors(cls, changes):
    if cls != "LSTM" and "proj_size" in changes:
        changes = changes | {"proj_size": 0}  # RNN and GRU reject the keyword itself
    kwargs = arguments(**changes)
    assert_same_outcome(
        lambda: getattr(torch.nn, cls)(**kwargs),
        lambda: getattr(lstm_ref, cls)(**kwargs),
    )


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((4, 6, 1, "sigmoid"), {}),
        ((4, 6), {"nonlinearity": "ReLU"}),
        ((4, 6), {"proj_size": 0}),
    ],
)
def test_rnn_constructor_errors(args, kwargs):
    assert_same_outcome(
        lambda: torch.nn.RNN(*args, **kwargs), lambda: lstm_ref.RNN(*args, **kwargs)
    )


def test_gru_rejects_proj_size():
    assert_same_outcome(
        lambda: torch.nn.GRU(4, 6, proj_size=0), lambda: lstm_ref.GRU(4, 6, proj_size=0)
    )


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
@pytest.mark.parametrize("args", [(4, -1), (4.5, 3), (4, 3.0), (4, 0)], ids=str)
def test_cell_constructor_outcomes(cls, args):
    # hidden_size 0 is accepted by torch's cells; the others fail inside torch.empty.
    assert_same_outcome(
        lambda: getattr(torch.nn, cls)(*args),
        lambda: getattr(lstm_ref, cls)(*args),
        must_raise=args != (4, 0),
    )


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_dropout_with_one_layer_warns_like_torch(cls):
    def warning(module_class):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module_class(4, 6, num_layers=1, dropout=0.3)
        return [(w.category, str(w.message)) for w in caught]

    want = warning(getattr(torch.nn, cls))
    assert len(want) == 1
    assert warning(getattr(lstm_ref, cls)) == want
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(lstm_ref, cls)(4, 6, num_layers=2, dropout=0.3)  # no warning


# --- forward -------------------------------------------------------------------------


def twins(cls, **kwargs):
    torch.manual_seed(0)
    want = getattr(torch.nn, cls)(3, 4, 2, dtype=F64, **kwargs)
    ref = getattr(lstm_ref, cls)(3, 4, 2, dtype=F64, **kwargs)
    ref.load_state_dict(want.state_dict())
    return want, ref


def randn(*shape, dtype=F64):
    return torch.randn(*shape).to(dtype)


def pack(x, lengths=(5, 3)):
    return pack_padded_sequence(x, list(lengths))


LSTM_CALLS = {
    "1-D input": lambda: (randn(3),),
    "4-D input": lambda: (randn(5, 2, 1, 3),),
    "batched input, 2-D hx": lambda: (randn(5, 2, 3), (randn(2, 4), randn(2, 4))),
    "batched input, 2-D cx": lambda: (randn(5, 2, 3), (randn(2, 2, 4), randn(2, 4))),
    "unbatched input, 3-D hx": lambda: (randn(5, 3), (randn(2, 1, 4), randn(2, 1, 4))),
    "float32 input": lambda: (randn(5, 2, 3, dtype=torch.float32),),
    "int input": lambda: (torch.ones(5, 2, 3, dtype=torch.int64),),
    "wrong input_size": lambda: (randn(5, 2, 7),),
    "wrong input_size, unbatched": lambda: (randn(5, 7),),
    "h batch": lambda: (randn(5, 2, 3), (randn(2, 3, 4), randn(2, 2, 4))),
    "h hidden size": lambda: (randn(5, 2, 3), (randn(2, 2, 5), randn(2, 2, 4))),
    "h layers": lambda: (randn(5, 2, 3), (randn(1, 2, 4), randn(2, 2, 4))),
    "c hidden size": lambda: (randn(5, 2, 3), (randn(2, 2, 4), randn(2, 2, 3))),
    "unbatched c": lambda: (randn(5, 3), (randn(2, 4), randn(2, 5))),
    "hx a tensor": lambda: (randn(5, 2, 3), randn(2, 2, 4)),
    "hx a 1-tuple": lambda: (randn(5, 2, 3), (randn(2, 2, 4),)),
    "packed, float32": lambda: (pack(randn(5, 2, 3, dtype=torch.float32)),),
    "packed, wrong input_size": lambda: (pack(randn(5, 2, 7)),),
}


@pytest.mark.parametrize(
    "case, kwargs",
    [(case, {}) for case in LSTM_CALLS]
    + [  # the "h ..." shapes are built for H_out = 4, not for a projection
        (case, {"batch_first": True, "proj_size": 2})
        for case in LSTM_CALLS
        if not case.startswith("h ")
    ],
    ids=str,
)
def test_lstm_forward_errors(case, kwargs):
    want, ref = twins("LSTM", **kwargs)
    args = LSTM_CALLS[case]()
    assert_same_outcome(lambda: want(*args), lambda: ref(*args))


@pytest.mark.parametrize(
    "hx_shapes",
    [
        ((2, 3, 4), (2, 3, 4)),  # more rows than sequences
        ((2, 2, 5), (2, 2, 4)),
        ((1, 2, 4), (1, 2, 4)),
        ((2, 2, 4), (2, 2, 5)),
    ],
    ids=str,
)
def test_packed_lstm_checks_hx_like_unpacked(hx_shapes):
    """For packed input torch's LSTM skips its Python checks and its kernel reports a
    wrong hx obscurely. lstm_ref raises the RuntimeError torch raises
    for the same hx with the unpacked batch."""
    want, ref = twins("LSTM")
    x = randn(5, 2, 3)
    hx = tuple(randn(*shape) for shape in hx_shapes)
    unpacked = outcome(lambda: want(x, hx))
    assert unpacked[0] is RuntimeError
    assert outcome(lambda: ref(pack(x), hx)) == unpacked


def test_lstm_with_projection_wants_h_of_proj_size():
    want, ref = twins("LSTM", proj_size=2)
    args = (randn(5, 2, 3), (randn(2, 2, 4), randn(2, 2, 4)))
    assert_same_outcome(lambda: want(*args), lambda: ref(*args))


RNN_CALLS = {
    "1-D input": lambda: (randn(3),),
    "4-D input": lambda: (randn(5, 2, 1, 3),),
    "batched input, 2-D hx": lambda: (randn(5, 2, 3), randn(2, 4)),
    "unbatched input, 3-D hx": lambda: (randn(5, 3), randn(2, 1, 4)),
    "float32 input": lambda: (randn(5, 2, 3, dtype=torch.float32),),
    "wrong input_size": lambda: (randn(5, 2, 7),),
    "hx batch": lambda: (randn(5, 2, 3), randn(2, 3, 4)),
    "hx hidden size": lambda: (randn(5, 2, 3), randn(2, 2, 5)),
    "packed, wrong hx": lambda: (pack(randn(5, 2, 3)), randn(2, 3, 4)),
    "packed, wrong input_size": lambda: (pack(randn(5, 2, 7)),),
    "packed, float32": lambda: (pack(randn(5, 2, 3, dtype=torch.float32)),),
}


@pytest.mark.parametrize("case", list(RNN_CALLS))
@pytest.mark.parametrize("cls", ["RNN", "GRU"])
def test_rnn_and_gru_forward_errors(cls, case):
    want, ref = twins(cls)
    args = RNN_CALLS[case]()
    assert_same_outcome(lambda: want(*args), lambda: ref(*args))


CELL_CALLS = {
    "3-D input": lambda n: (randn(2, 2, 3), None),
    "0-D input": lambda n: (randn(()), None),
    "3-D hx": lambda n: (randn(2, 3), (randn(2, 4), randn(1, 2, 4))[-n:]),
    "wrong input_size": lambda n: (randn(2, 5), None),
    "hidden0 batch": lambda n: (randn(2, 3), (randn(3, 4), randn(2, 4))[:n]),
    "hidden0 size": lambda n: (randn(2, 3), (randn(2, 5), randn(2, 4))[:n]),
    "hidden1 batch": lambda n: (randn(2, 3), (randn(2, 4), randn(3, 4))[:n]),
    "hidden1 size": lambda n: (randn(2, 3), (randn(2, 4), randn(2, 6))[:n]),
    "unbatched, wrong size": lambda n: (randn(3), (randn(5), randn(4))[:n]),
    "float32 input": lambda n: (randn(2, 3, dtype=torch.float32), None),
}


@pytest.mark.parametrize(
    "cls, case",
    [
        (cls, case)
        for cls in ["LSTMCell", "GRUCell", "RNNCell"]
        for case in CELL_CALLS
        if cls == "LSTMCell" or not case.startswith("hidden1")  # one state: no hidden1
    ],
)
def test_cell_forward_errors(cls, case):
    n = 2 if cls == "LSTMCell" else 1
    torch.manual_seed(0)
    want = getattr(torch.nn, cls)(3, 4, dtype=F64)
    ref = getattr(lstm_ref, cls)(3, 4, dtype=F64)
    ref.load_state_dict(want.state_dict())
    input, hx = CELL_CALLS[case](n)
    if hx is not None and n == 1:
        hx = hx[0]
    assert_same_outcome(lambda: want(input, hx), lambda: ref(input, hx))


def test_rnn_cell_unknown_nonlinearity():
    want = torch.nn.RNNCell(3, 4, nonlinearity="gelu")
    ref = lstm_ref.RNNCell(3, 4, nonlinearity="gelu")
    x = torch.randn(2, 3)
    assert_same_outcome(lambda: want(x), lambda: ref(x))
