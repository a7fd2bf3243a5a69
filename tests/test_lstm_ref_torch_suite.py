"""lstm_ref against PyTorch's own test material, each case compared with what the
installed torch does for the same call (float64 to 1e-10, or torch's own error type
and message):

* the sample inputs and error inputs of torch's ModuleInfo entries for RNN, GRU,
  LSTM and their cells (``torch/testing/_internal/common_modules.py``, shipped with
  torch), in training and eval mode, with packed sequences;
* the edge cases of the RNN tests in PyTorch's ``test/test_nn.py``: an empty batch,
  an empty sequence, ``weight_norm`` and ``_flat_weights``, dropout values and a
  changed ``dropout``, wrong state sizes, cells that must not broadcast.
"""

import copy
import pickle
import warnings

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence
from torch.testing._internal import common_modules
from torch.testing._internal.common_modules import ModuleErrorEnum

import lstm_ref

# torch.nn.utils.weight_norm is deprecated, and test_nn.py still tests it on RNNs.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm`")
F64 = torch.float64
CLASSES = ["RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"]
INFOS = {
    info.module_cls.__name__: info
    for info in common_modules.module_db
    if info.module_cls in [getattr(torch.nn, name) for name in CLASSES]
}


def outcome(make):
    """("ok", result) if ``make()`` returns, else (exception type, message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", make()
        except Exception as error:  # noqa: BLE001 - any exception is the outcome
            return type(error), str(error)


def tensors(result):
    """The tensors of a module's result, in order (a PackedSequence gives its
    data)."""
    if isinstance(result, PackedSequence):
        return [result.data]
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for item in result for t in tensors(item)]


def make_twins(name, args=(), kwargs=None, seed=0):
    """torch's module and lstm_ref's, built with the same arguments and weights."""
    kwargs = dict(kwargs or {})
    torch.manual_seed(seed)
    want = getattr(torch.nn, name)(*args, **kwargs)
    got = getattr(lstm_ref, name)(*args, **kwargs)
    got.load_state_dict(want.state_dict())
    return want, got


def results_and_grads(module, args, kwargs=None):
    """The forward results and the gradients of a fixed random function of them
    with respect to every parameter and every input that requires grad."""
    result = module(*args, **(kwargs or {}))
    outputs = tensors(result)
    leaves = [t for t in tensors([a for a in args if a is not None])]
    leaves = [t for t in leaves if t.requires_grad] + list(module.parameters())
    g = torch.Generator().manual_seed(0)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum()
               for o in outputs)  # fmt: skip
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [o.detach() for o in outputs], grads


def assert_same_results(got, want, atol=1e-10):
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        if b is None:
            assert a is None
            continue
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape)
        if b.numel():
            assert (a - b).abs().max() <= atol, (a - b).abs().max()


def assert_same_call(want, got, args, kwargs=None):
    got_out, got_grads = results_and_grads(got, args, kwargs)
    want_out, want_grads = results_and_grads(want, args, kwargs)
    assert_same_results(got_out, want_out)
    assert_same_results(got_grads, want_grads)


# --- torch's ModuleInfo sample inputs ----------------------------------------------


def samples(name, training):
    info = INFOS[name]
    torch.manual_seed(0)
    return list(
        info.module_inputs_func(
            info, device="cpu", dtype=F64, requires_grad=True, training=training,
            with_packed_sequence=True,
        )
    )  # fmt: skip


SAMPLES = [
    (name, training, k)
    for name in CLASSES
    for training in (True, False)
    for k in range(len(samples(name, training)))
]


def test_module_info_covers_every_module():
    assert set(INFOS) == set(CLASSES)
    assert {name for name, _, _ in SAMPLES} == set(CLASSES)
    assert len(SAMPLES) > 200  # packed and plain, every argument combination


@pytest.mark.parametrize("name, training, k", SAMPLES, ids=str)
def test_module_info_samples_match_torch(name, training, k):
    sample = samples(name, training)[k]
    c = sample.constructor_input
    want, got = make_twins(name, c.args, c.kwargs | {"dtype": F64})
    want.train(training), got.train(training)
    f = sample.forward_input
    assert_same_call(want, got, f.args, f.kwargs)


ERRORS = [
    (name, k)
    for name in CLASSES
    for k in range(
        len(INFOS[name].module_error_inputs_func(INFOS[name], "cpu", F64, False, True))
    )
]


@pytest.mark.parametrize("name, k", ERRORS, ids=str)
def test_module_info_error_inputs_raise_torchs_errors(name, k):
    info = INFOS[name]
    error = info.module_error_inputs_func(info, "cpu", F64, False, True)[k]
    sample = error.module_error_input
    c = sample.constructor_input

    def run(module):
        m = getattr(module, name)(*c.args, **c.kwargs)
        if error.error_on == ModuleErrorEnum.FORWARD_ERROR:
            m(*sample.forward_input.args, **sample.forward_input.kwargs)

    want = outcome(lambda: run(torch.nn))
    assert want[0] is error.error_type, want  # torch raises what its tests expect
    assert outcome(lambda: run(lstm_ref)) == want


# --- test_nn.py: empty batches and sequences ---------------------------------------

MODULES = [
    ("RNN", {}),
    ("GRU", {"bidirectional": True}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
]


def states(module, batch):
    """A random hx for ``module`` with ``batch`` sequences."""
    D = 2 if module.bidirectional else 1
    lead = (D * module.num_layers, batch)
    if module.mode != "LSTM":
        return torch.randn(*lead, module.hidden_size, dtype=F64, requires_grad=True)
    h_out = module.proj_size or module.hidden_size
    sizes = (h_out, module.hidden_size)
    return tuple(torch.randn(*lead, s, dtype=F64, requires_grad=True) for s in sizes)


@pytest.mark.parametrize("name, kwargs", MODULES, ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("hx_given", [False, True])
def test_empty_batch_gives_empty_outputs(name, kwargs, batch_first, hx_given):
    """test_RNN_input_size_zero: a batch of 0 sequences, (5, 0, 3) or batch-first
    (0, 5, 3), gives empty outputs of torch's shapes, and backward runs."""
    want, got = make_twins(name, (3, 4), kwargs | {"batch_first": batch_first,
                                                  "dtype": F64})  # fmt: skip
    x = torch.randn((0, 5, 3) if batch_first else (5, 0, 3), dtype=F64)
    hx = states(want, 0) if hx_given else None
    assert_same_call(want, got, (x.requires_grad_(), hx))
    output, _ = got(x, hx)
    assert output.shape == want(x, hx)[0].shape
    output.sum().backward()


@pytest.mark.parametrize("name, kwargs", MODULES, ids=str)
@pytest.mark.parametrize(
    "shape, batch_first",
    [((0, 2, 3), False), ((2, 0, 3), True), ((0, 3), False), ((0, 0, 3), True),
     ((0, 2, 5), False)],  # the last also has a wrong input size: that comes first
)  # fmt: skip
def test_empty_sequence_raises_torchs_error(name, kwargs, shape, batch_first):
    want, got = make_twins(name, (3, 4), kwargs | {"batch_first": batch_first,
                                                  "dtype": F64})  # fmt: skip
    x = torch.randn(shape, dtype=F64)
    expected = outcome(lambda: want(x))
    assert expected[0] is RuntimeError
    assert outcome(lambda: got(x)) == expected


# --- test_nn.py: _flat_weights and weight_norm -------------------------------------


@pytest.mark.parametrize(
    "name, kwargs",
    MODULES + [("LSTM", {"bias": False, "num_layers": 3})],
    ids=str,
)
def test_flat_weights_are_torchs(name, kwargs):
    want, got = make_twins(name, (3, 4), kwargs)
    assert got._flat_weights_names == want._flat_weights_names
    assert [w.shape for w in got._flat_weights] == [w.shape for w in want._flat_weights]
    for w, name_ in zip(got._flat_weights, got._flat_weights_names, strict=True):
        assert w is getattr(got, name_)


@pytest.mark.parametrize(
    "name, proj_size, count",
    [("weight_ih_l0", 0, 4), ("weight_hh_l0", 0, 4), ("weight_hr_l0", 2, 5)],
)
def test_weight_norm_works_as_on_torchs_lstm(name, proj_size, count):
    """test_rnn_weight_norm: under weight_norm the weight in _flat_weights is a plain
    tensor, removing it restores the Parameter; and the forward agrees with torch's
    under the same reparametrization."""
    modules = make_twins("LSTM", (3, 4), {"proj_size": proj_size, "dtype": F64})
    x = torch.randn(5, 2, 3, dtype=F64, requires_grad=True)
    for module in modules:
        torch.nn.utils.weight_norm(module, name=name)
        params = [isinstance(p, torch.nn.Parameter) for p in module._flat_weights]
        assert sum(params) == count - 1
    assert {n for n, _ in modules[1].named_parameters()} == {
        n for n, _ in modules[0].named_parameters()
    }
    assert_same_call(*modules, (x,))
    for module in modules:
        torch.nn.utils.remove_weight_norm(module, name=name)
        params = [isinstance(p, torch.nn.Parameter) for p in module._flat_weights]
        assert sum(params) == count
        assert name in module._parameters and module._parameters[name] is not None
        assert {name + "_v", name + "_g"}.isdisjoint(dict(module.named_parameters()))
    assert_same_call(*modules, (x,))


@pytest.mark.parametrize("name", ["weight_hh_l0", "weight_ih_l0"])
def test_parametrized_weight_norm_works_as_on_torchs_lstm(name):
    from torch.nn.utils.parametrizations import weight_norm

    modules = make_twins("LSTM", (3, 4), {"num_layers": 2, "dtype": F64})
    for module in modules:
        weight_norm(module, name=name)
    x = torch.randn(5, 2, 3, dtype=F64, requires_grad=True)
    assert_same_call(*modules, (x,))
    with torch.no_grad():  # a changed parametrization is seen by the next forward
        for module in modules:
            getattr(module.parametrizations, name).original0.mul_(2.0)
    assert_same_call(*modules, (x,))


def test_functional_call_deepcopy_and_pickle():
    want, got = make_twins("LSTM", (3, 4), {"num_layers": 2, "dtype": F64})
    x = torch.randn(5, 2, 3, dtype=F64)
    swapped = {k: torch.randn_like(v) for k, v in want.state_dict().items()}
    assert_same_results(
        tensors(torch.func.functional_call(got, swapped, (x,))),
        tensors(torch.func.functional_call(want, swapped, (x,))),
    )
    for copied in (copy.deepcopy(got), pickle.loads(pickle.dumps(got))):
        assert_same_results(tensors(copied(x)), tensors(want(x)))


# --- test_nn.py: dropout -----------------------------------------------------------


@pytest.mark.parametrize("p", [0, 0.276, 0.731, 1])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_values_as_torch(p, training):
    """test_RNN_dropout: the same outputs under the same seed, p = 0 and 1 too."""
    want, got = make_twins("RNN", (10, 30, 2), {"dropout": p, "dtype": F64,
                                                "nonlinearity": "relu"})  # fmt: skip
    want.train(training), got.train(training)
    x = torch.ones(4, 2, 10, dtype=F64)
    results = []
    for module in (got, want):
        torch.manual_seed(1)
        results.append(tensors(module(x)))
    assert_same_results(*results)


def test_changed_dropout_is_used_as_torch():
    """test_RNN_change_dropout: ``module.dropout = p`` after construction."""
    want, got = make_twins("LSTM", (5, 6, 3), {"dtype": F64})
    x = torch.rand(3, 2, 5, dtype=F64)
    for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
        want.dropout = got.dropout = p
        results = []
        for module in (got, want):
            torch.manual_seed(2)
            results.append(tensors(module(x)))
        assert_same_results(*results)


# --- test_nn.py: argument checks ---------------------------------------------------


def bad_calls():
    """test_rnn_args_check and test_projections_lstm_args_check: each dimension of
    the input or of one state tensor wrong in turn."""
    seq_len, batch, input_size, hidden, layers, bad = 6, 4, 3, 5, 2, 7
    good_input, good_hidden = [seq_len, batch, input_size], [layers, batch, hidden]
    calls = []
    for mode, proj in [("RNN", 0), ("GRU", 0), ("LSTM", 0), ("LSTM", 2)]:
        for which, dim in [("input", 1), ("input", 2), ("hidden", 0), ("hidden", 1),
                           ("hidden", 2)]:  # fmt: skip
            for state in [0] if mode != "LSTM" else [0, 1]:
                calls.append((mode, proj, which, dim, state))
    return calls, (good_input, good_hidden, bad, input_size, hidden, layers)


CALLS, SIZES = bad_calls()


@pytest.mark.parametrize("mode, proj, which, dim, state", CALLS, ids=str)
def test_wrong_sizes_raise_torchs_errors(mode, proj, which, dim, state):
    good_input, good_hidden, bad, input_size, hidden, layers = SIZES
    kwargs = {"dtype": F64} | ({"proj_size": proj} if mode == "LSTM" else {})
    want, got = make_twins(mode, (input_size, hidden, layers), kwargs)
    shapes = {"input": list(good_input), "hidden": list(good_hidden)}
    h_shapes = [list(good_hidden), list(good_hidden)]
    if proj:
        h_shapes[0][2] = proj
    if which == "input":
        shapes["input"][dim] = bad
    else:
        h_shapes[state][dim] = bad
    x = torch.randn(*shapes["input"], dtype=F64)
    hx = tuple(torch.randn(*s, dtype=F64) for s in h_shapes)
    hx = hx if mode == "LSTM" else hx[0]
    expected = outcome(lambda: want(x, hx))
    assert expected[0] is RuntimeError
    assert outcome(lambda: got(x, hx)) == expected


CELL_CALLS = {
    # test_RNN_cell_no_broadcasting: (input, bad state index, state shape)
    "hidden batch 1": ((3, 10), (1, 20)),
    "hidden size 1": ((3, 10), (3, 1)),
    "input size 1": ((3, 1), (3, 20)),
}


@pytest.mark.parametrize("case", list(CELL_CALLS))
@pytest.mark.parametrize(
    "cell, bad_state",
    [("RNNCell", 0), ("GRUCell", 0), ("LSTMCell", 0), ("LSTMCell", 1)],
)
def test_cells_do_not_broadcast(cell, bad_state, case):
    want, got = make_twins(cell, (10, 20), {"dtype": F64})
    input_shape, state_shape = CELL_CALLS[case]
    x = torch.randn(*input_shape, dtype=F64)
    hx = [torch.randn(3, 20, dtype=F64), torch.randn(3, 20, dtype=F64)]
    hx[bad_state] = torch.randn(*state_shape, dtype=F64)
    hx = tuple(hx) if cell == "LSTMCell" else hx[0]
    expected = outcome(lambda: want(x, hx))
    assert expected[0] is RuntimeError
    assert outcome(lambda: got(x, hx)) == expected


@pytest.mark.parametrize(
    "name, hx",
    [
        ("LSTM", lambda: tuple(torch.randn(1, 2, 4, dtype=F64) for _ in range(3))),
        ("LSTMCell", lambda: torch.randn(2, 4, dtype=F64)),
        ("LSTMCell", lambda: tuple(torch.randn(2, 4, dtype=F64) for _ in range(3))),
    ],
    ids=["LSTM three states", "LSTMCell one tensor", "LSTMCell three states"],
)
def test_lstm_wants_two_states(name, hx):
    want, got = make_twins(name, (3, 4), {"dtype": F64})
    x = torch.randn(*((5, 2, 3) if name == "LSTM" else (2, 3)), dtype=F64)
    state = hx()
    expected = outcome(lambda: want(x, state))
    assert expected[0] in (RuntimeError, TypeError)
    assert outcome(lambda: got(x, state)) == expected


def test_nonlinearity_passed_as_argument():
    """test_RNN_nonlinearity_passed_as_arg: RNN(1, 10, 2, 'relu')."""
    want, got = make_twins("RNN", (1, 10, 2, "relu"), {"dtype": F64})
    assert got.nonlinearity == want.nonlinearity == "relu"
    x = torch.randn(4, 3, 1, dtype=F64, requires_grad=True)
    assert_same_call(want, got, (x,))


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
def test_non_contiguous_input_and_state(name):
    """test_modules' non-contiguous check: transposed input and hx."""
    want, got = make_twins(name, (3, 4, 2), {"dtype": F64, "bidirectional": True})
    x = torch.randn(2, 5, 3, dtype=F64).transpose(0, 1).requires_grad_()
    h = torch.randn(2, 4, 4, dtype=F64).transpose(0, 1)
    hx = (h, h.clone()) if name == "LSTM" else h
    assert not x.is_contiguous() and not h.is_contiguous()
    assert_same_call(want, got, (x, hx))
    packed = pack_padded_sequence(x, [5, 3], enforce_sorted=False)
    assert_same_call(want, got, (packed, hx))
