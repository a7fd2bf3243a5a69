"""Every shape of ``torch.nn.LSTM``, from its constructor arguments and an input shape.

    >>> s = lstm_shapes((7, 4, 10), 10, 20, num_layers=2, bidirectional=True)
    >>> s.output, s.h_n, s.c_n
    ((7, 4, 40), (4, 4, 20), (4, 4, 20))
    >>> s.parameters["weight_ih_l1"], s.num_parameters
    ((80, 40), 15040)

Notation as in torch's docs: N batch, L length, D = 2 if bidirectional else 1,
H_in = input_size, H_cell = hidden_size, H_out = proj_size if proj_size > 0 else
hidden_size.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LSTMShapes:
    output: tuple  # (L, N, D*H_out), (N, L, D*H_out) with batch_first, or (L, D*H_out)
    h_n: tuple  # (D*num_layers, N, H_out), or (D*num_layers, H_out) unbatched
    c_n: tuple  # (D*num_layers, N, H_cell), or (D*num_layers, H_cell) unbatched
    parameters: dict  # name -> shape, in torch's registration order
    num_parameters: int


def lstm_parameter_shapes(
    input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0
):
    """Name -> shape of every parameter, in the order ``nn.LSTM`` registers them."""
    D = 2 if bidirectional else 1
    H_out = proj_size if proj_size > 0 else hidden_size
    shapes = {}
    for layer in range(num_layers):
        # Layer 0 reads the input; every later layer reads both directions below it.
        layer_input_size = input_size if layer == 0 else D * H_out
        for suffix in ["", "_reverse"][:D]:
            k = f"l{layer}{suffix}"
            shapes[f"weight_ih_{k}"] = (4 * hidden_size, layer_input_size)
            shapes[f"weight_hh_{k}"] = (4 * hidden_size, H_out)  # h recurs: H_out wide
            if bias:
                shapes[f"bias_ih_{k}"] = (4 * hidden_size,)
                shapes[f"bias_hh_{k}"] = (4 * hidden_size,)
            if proj_size > 0:
                shapes[f"weight_hr_{k}"] = (proj_size, hidden_size)
    return shapes


def lstm_num_parameters(
    input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0
):
    """The number of scalars in all of ``nn.LSTM``'s parameters."""
    shapes = lstm_parameter_shapes(
        input_size, hidden_size, num_layers, bias, bidirectional, proj_size
    )
    return _count(shapes)


def _count(shapes):
    return sum(math.prod(shape) for shape in shapes.values())


def lstm_shapes(
    input_shape,
    input_size,
    hidden_size,
    num_layers=1,
    bias=True,
    batch_first=False,
    bidirectional=False,
    proj_size=0,
):
    """The shapes ``nn.LSTM(input_size, hidden_size, ...)`` gives for an input of
    ``input_shape``, when called without (h_0, c_0) or with ones of the right shape.

    Raises torch's errors for an input of the wrong rank or feature size, or of
    length 0 (a batch of 0 sequences is fine: empty outputs).
    """
    input_shape = tuple(input_shape)
    if len(input_shape) not in (2, 3):
        raise ValueError(
            f"LSTM: Expected input to be 2D or 3D, got {len(input_shape)}D instead"
        )
    if input_shape[-1] != input_size:
        raise RuntimeError(
            "input.size(-1) must be equal to input_size. "
            f"Expected {input_size}, got {input_shape[-1]}"
        )
    if input_shape[1 if batch_first and len(input_shape) == 3 else 0] == 0:
        raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
    D = 2 if bidirectional else 1
    H_out = proj_size if proj_size > 0 else hidden_size
    if len(input_shape) == 2:  # unbatched: no N anywhere; batch_first has no effect
        L = input_shape[0]
        output, batch = (L, D * H_out), ()
    elif batch_first:  # only input and output are batch-first, never h and c
        N, L, _ = input_shape
        output, batch = (N, L, D * H_out), (N,)
    else:
        L, N, _ = input_shape
        output, batch = (L, N, D * H_out), (N,)
    parameters = lstm_parameter_shapes(
        input_size, hidden_size, num_layers, bias, bidirectional, proj_size
    )
    return LSTMShapes(
        output=output,
        h_n=(D * num_layers, *batch, H_out),
        c_n=(D * num_layers, *batch, hidden_size),  # the cell state is never projected
        parameters=parameters,
        num_parameters=_count(parameters),
    )
