"""Input validation with torch's exception types and messages.

The module-level checks mirror ``RNNBase.check_input``, ``get_expected_hidden_size``,
``check_hidden_size`` and ``check_forward_args`` in ``torch/nn/modules/rnn.py``; the
cell checks mirror ``check_rnn_cell_forward_input`` and ``..._hidden`` in ATen's
``RNN.cpp``. A state is always a tuple here: ``(h,)`` for RNN and GRU, ``(h, c)`` for
the LSTM.
"""

# --- whole-sequence modules (RNN, LSTM, GRU) -----------------------------------------


def reject_proj_size(kwargs):
    if "proj_size" in kwargs:
        raise ValueError(
            "proj_size argument is only supported for LSTM, not RNN or GRU"
        )


def check_input_dim(mode, input):
    """Plain (not packed) input must be (L, H_in) or batched 3-D."""
    if input.dim() not in (2, 3):
        # torch's RNN says "2D tensor instead", its LSTM and GRU "2D instead"
        noun = " tensor" if mode.startswith("RNN") else ""
        name = "RNN" if mode.startswith("RNN") else mode
        raise ValueError(
            f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{noun} instead"
        )


def check_state_dim(state, batched):
    """A given state has as many dimensions as the input: 3 if batched, else 2."""
    want, kind = (3, "batched 3-D") if batched else (2, "unbatched 2-D")
    if any(s.dim() != want for s in state):
        if len(state) == 1:
            got = f"{state[0].dim()}-D tensor"
            raise RuntimeError(
                f"For {kind} input, hx should also be {want}-D but got {got}"
            )
        got = f"({state[0].dim()}-D, {state[1].dim()}-D) tensors"
        raise RuntimeError(
            f"For {kind} input, hx and cx should also be {want}-D but got {got}"
        )


def check_input(module, input, batch_sizes):
    weight = module.weight_ih_l0
    if input.dtype != weight.dtype:
        raise ValueError(
            f"RNN input dtype ({input.dtype}) does not match weight dtype "
            f"({weight.dtype}). Convert input: input.to({weight.dtype}), "
            f"or convert model: model.to({input.dtype})"
        )
    expected_input_dim = 2 if batch_sizes is not None else 3
    if input.dim() != expected_input_dim:
        raise RuntimeError(
            f"input must have {expected_input_dim} dimensions, got {input.dim()}"
        )
    if module.input_size != input.size(-1):
        raise RuntimeError(
            "input.size(-1) must be equal to input_size. "
            f"Expected {module.input_size}, got {input.size(-1)}"
        )


def get_expected_hidden_size(module, input, batch_sizes, size):
    """(D * num_layers, N, size): the shape of h_0 (size = H_out) or c_0 (size = H)."""
    if batch_sizes is not None:
        mini_batch = int(batch_sizes[0])
    else:
        mini_batch = input.size(0) if module.batch_first else input.size(1)
    num_directions = 2 if module.bidirectional else 1
    return (module.num_layers * num_directions, mini_batch, size)


def check_hidden_size(hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
    if hx.size() != expected_hidden_size:
        raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))


def check_forward_args(module, input, state, batch_sizes):
    check_input(module, input, batch_sizes)
    check_state_sizes(module, input, state, batch_sizes)


def check_state_sizes(module, input, state, batch_sizes):
    sizes = module.state_sizes()
    for k, (hx, size) in enumerate(zip(state, sizes, strict=True)):
        expected = get_expected_hidden_size(module, input, batch_sizes, size)
        name = "hidden" if len(sizes) == 1 else f"hidden[{k}]"
        check_hidden_size(hx, expected, f"Expected {name} size {{}}, got {{}}")


# --- cells (RNNCell, LSTMCell, GRUCell) ---------------------------------------------


def check_cell_dims(cell_name, input, state):
    if input.dim() not in (1, 2):
        raise ValueError(
            f"{cell_name}: Expected input to be 1D or 2D, got {input.dim()}D instead"
        )
    for k, hx in enumerate(state):
        if hx.dim() not in (1, 2):
            name = f"hx[{k}]" if len(state) == 2 else "hidden"
            raise ValueError(
                f"{cell_name}: Expected {name} to be 1D or 2D, got {hx.dim()}D instead"
            )


def check_cell_sizes(input, state, input_size, hidden_size):
    """Batched (N, H_in) input and (N, H) states; the messages of ATen's cells."""
    if input.size(1) != input_size:
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.size(1)} "
            f"expected {input_size}"
        )
    for k, hx in enumerate(state):
        if input.size(0) != hx.size(0):
            raise RuntimeError(
                f"Input batch size {input.size(0)} doesn't match "
                f"hidden{k} batch size {hx.size(0)}"
            )
        if hx.size(1) != hidden_size:
            raise RuntimeError(
                f"hidden{k} has inconsistent hidden_size: got {hx.size(1)}, "
                f"expected {hidden_size}"
            )
