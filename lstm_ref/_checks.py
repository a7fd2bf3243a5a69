"""The checks of ATen's cells (``aten/src/ATen/native/RNN.cpp``), with their messages.

torch's cell modules check the number of dimensions in Python and leave the sizes to
these; the whole-sequence modules' checks are torch's methods in ``base.py``.
"""


def check_rnn_cell_forward_input(input, input_size):
    if input.size(1) != input_size:
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.size(1)} "
            f"expected {input_size}"
        )


def check_rnn_cell_forward_hidden(input, hx, hidden_size, hidden_label):
    if input.size(0) != hx.size(0):
        raise RuntimeError(
            f"Input batch size {input.size(0)} doesn't match "
            f"hidden{hidden_label} batch size {hx.size(0)}"
        )
    if hx.size(1) != hidden_size:
        raise RuntimeError(
            f"hidden{hidden_label} has inconsistent hidden_size: got {hx.size(1)}, "
            f"expected {hidden_size}"
        )
