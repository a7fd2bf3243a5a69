"""lstm_ref.shapes predicts what a real torch.nn.LSTM produces."""

import itertools

import pytest
import torch

from lstm_ref.shapes import lstm_num_parameters, lstm_shapes

# torch's own notice when it leaves oneDNN for the plain loop: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

CONFIGS = [
    c
    for c in itertools.product(
        [1, 2, 3],  # num_layers
        [True, False],  # bias
        [False, True],  # batch_first
        [False, True],  # bidirectional
        [0, 2],  # proj_size
        # input shape (3-D read as batch_first says); an empty batch last
        [(7, 4, 3), (1, 1, 3), (5, 3), (5, 0, 3), (0, 5, 3)],
    )
    if c[5][:2] != ((0, 5) if not c[2] else (5, 0))  # not a sequence of length 0
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_shapes_match_torch(config):
    num_layers, bias, batch_first, bidirectional, proj_size, input_shape = config
    kwargs = {
        "num_layers": num_layers,
        "bias": bias,
        "batch_first": batch_first,
        "bidirectional": bidirectional,
        "proj_size": proj_size,
    }
    lstm = torch.nn.LSTM(3, 5, **kwargs)
    output, (h_n, c_n) = lstm(torch.zeros(input_shape))
    shapes = lstm_shapes(input_shape, 3, 5, **kwargs)
    assert shapes.output == tuple(output.shape)
    assert shapes.h_n == tuple(h_n.shape)
    assert shapes.c_n == tuple(c_n.shape)
    assert list(shapes.parameters.items()) == [
        (name, tuple(p.shape)) for name, p in lstm.named_parameters()
    ]
    count = sum(p.numel() for p in lstm.parameters())
    assert shapes.num_parameters == count
    kwargs.pop("batch_first")
    assert lstm_num_parameters(3, 5, **kwargs) == count


@pytest.mark.parametrize(
    "input_shape, batch_first",
    [((3,), False), ((2, 2, 2, 3), False), ((4, 2, 7), False), ((4, 7), True),
     ((0, 3), True), ((0, 2, 3), False), ((2, 0, 3), True)],  # the last 3: length 0
)  # fmt: skip
def test_bad_input_shapes_raise_torchs_error(input_shape, batch_first):
    with pytest.raises(Exception) as want:
        torch.nn.LSTM(3, 5, batch_first=batch_first)(torch.zeros(input_shape))
    with pytest.raises(want.type) as got:
        lstm_shapes(input_shape, 3, 5, batch_first=batch_first)
    assert str(got.value) == str(want.value)
