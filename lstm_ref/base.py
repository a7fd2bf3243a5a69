"""What RNN, LSTM and GRU share: torch's arguments, parameters and checks, and
running a cell over a sequence, layer after layer, in one or two directions.

A subclass names its cell by defining ``cell(x_t, state, weights) -> state``; a state
is a tuple, ``(h,)`` or ``(h, c)``. A plain batch runs the loop over time of torch's
docstring (``_layer``); a ``PackedSequence`` runs :func:`lstm_ref.packed.layer`. The
checks are torch's methods of ``RNNBase`` in ``torch/nn/modules/rnn.py``, with its
names, order and messages.
"""

import math
import numbers
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from . import packed

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


class RNNBase(nn.Module):
    """Base of ``RNN``, ``LSTM`` and ``GRU``, with torch's arguments and checks."""

    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        # torch's constructor checks, in torch's order
        if (
            not isinstance(dropout, numbers.Number)
            or not 0 <= dropout <= 1
            or isinstance(dropout, bool)
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so "
                "non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(
                f"batch_first should be of type bool, got: {type(batch_first).__name__}"
            )
        if not isinstance(input_size, int):
            raise TypeError(
                f"input_size should be of type int, got: {type(input_size).__name__}"
            )
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(
                f"hidden_size should be of type int, got: {type(hidden_size).__name__}"
            )
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

        gate_size = GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = (
                    input_size if layer == 0 else real_hidden_size * num_directions
                )
                shapes = {
                    "weight_ih": (gate_size, layer_input_size),
                    "weight_hh": (gate_size, real_hidden_size),
                }
                if bias:
                    shapes["bias_ih"] = shapes["bias_hh"] = (gate_size,)
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = "_reverse" if direction == 1 else ""
                names = [f"{name}_l{layer}{suffix}" for name in shapes]
                for name, shape in zip(names, shapes.values(), strict=True):
                    empty = torch.empty(shape, device=device, dtype=dtype)
                    setattr(self, name, nn.Parameter(empty))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        """torch's list of the weights in ``_flat_weights_names`` order, as the module
        sees them now: under ``weight_norm`` or a parametrization, the computed tensor.
        """
        return [getattr(self, name, None) for name in self._flat_weights_names]

    def reset_parameters(self):
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in registration order."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """Kept for torch's API: lstm_ref has no fused weight buffer to compact."""

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # --- torch's checks ---------------------------------------------------------------

    def check_input(self, input, batch_sizes):
        weight = self._flat_weights[0]
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
        if self.input_size != input.size(-1):
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {input.size(-1)}"
            )

    def get_expected_hidden_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, real_hidden_size)

    def check_hidden_size(
        self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"
    ):
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        expected_hidden_size = self.get_expected_hidden_size(input, batch_sizes)
        self.check_hidden_size(hidden, expected_hidden_size)

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx.index_select(1, permutation)

    def check_hx_dims(self, hx, is_batched):
        """torch's forward: hx has 3 dimensions for batched input, else 2 (and gets
        a batch dimension of 1)."""
        if not is_batched:
            if hx.dim() != 2:
                raise RuntimeError(
                    "For unbatched 2-D input, hx should also be 2-D but got "
                    f"{hx.dim()}-D tensor"
                )
            return hx.unsqueeze(1)
        if hx.dim() != 3:
            raise RuntimeError(
                f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D "
                "tensor"
            )
        return hx

    def check_packed_args(self, input, hx, batch_sizes):
        """Packed input: torch's RNN and GRU run ``check_forward_args``."""
        self.check_forward_args(input, hx, batch_sizes)

    # --- what a subclass defines ------------------------------------------------------

    def zero_hidden(self, batch_size, input):
        """The default hx: zeros of the expected size."""
        return self._zeros(batch_size, input, self.hidden_size)

    def _zeros(self, batch_size, input, size):
        num_directions = 2 if self.bidirectional else 1
        return input.new_zeros(self.num_layers * num_directions, batch_size, size)

    def cell(self, x_t, state, weights):
        """One time step of one direction of one layer: ``state -> state``."""
        raise NotImplementedError

    def _as_state(self, hx):
        return (hx,)

    def _from_state(self, state):
        return state[0]

    # --- forward ----------------------------------------------------------------------

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            if hx is None:
                hx = self.zero_hidden(int(batch_sizes[0]), input)
            else:  # the caller's hx is in the caller's order: sort it like the batch
                hx = self.permute_hidden(hx, sorted_indices)
            self.check_packed_args(input, hx, batch_sizes)
            state = self._as_state(hx)
            rows, state = self._stack(input, state, batch_sizes.tolist())
            output = PackedSequence(rows, batch_sizes, sorted_indices, unsorted_indices)
            hidden = self._from_state(state)
            return output, self.permute_hidden(hidden, unsorted_indices)

        if input.dim() not in (2, 3):
            name, noun = (
                ("RNN", " tensor") if self.mode.startswith("RNN") else (self.mode, "")
            )
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{noun} "
                "instead"
            )
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            hx = self.zero_hidden(input.size(batch_dim), input)
        else:
            hx = self.check_hx_dims(hx, is_batched)
        self.check_forward_args(input, hx, None)
        state = self._as_state(hx)
        if input.size(1 - batch_dim) == 0:  # ATen's check, after torch's own
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

        x = input.transpose(0, 1) if self.batch_first else input  # (L, N, H_in)
        output, state = self._stack(x, state)  # (L, N, D*H_out)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(batch_dim)
            state = tuple(s.squeeze(1) for s in state)
        return output, self._from_state(state)

    def _stack(self, x, state, batch_sizes=None):
        """All layers and directions. ``x`` is a time-major (L, N, H_in) batch, or
        with ``batch_sizes`` the rows of a ``PackedSequence``.

        Returns the last layer's output, shaped like ``x`` with D*H_out features,
        and the final states, each (D*num_layers, N, *) indexed by
        ``layer * D + direction``.
        """
        num_directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                w = {n: getattr(self, f"{n}_l{layer}{suffix}", None) for n in WEIGHTS}
                k = layer * num_directions + direction
                initial = tuple(s[k] for s in state)
                if batch_sizes is None:
                    out, final = self._layer(x, initial, w, reverse=direction == 1)
                else:
                    out, final = packed.layer(
                        lambda x_t, s, w=w: self.cell(x_t, s, w),
                        x,
                        initial,
                        batch_sizes,
                        reverse=direction == 1,
                    )
                outputs.append(out)
                finals.append(final)
            x = torch.cat(outputs, dim=-1)  # both directions side by side
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = nn.functional.dropout(x, self.dropout, training=True)
        return x, tuple(torch.stack(s) for s in zip(*finals, strict=True))

    def _layer(self, x, state, weights, reverse=False):
        """One direction of one layer over x (L, N, H_in): for t = 0, ..., L-1,
        ``state = cell(x_t, state)``; h_t (``state[0]``) is the output at t.

        The reverse direction is the same loop over the reversed sequence, its
        outputs put back in time order.
        """
        if reverse:
            output, state = self._layer(x.flip(0), state, weights)
            return output.flip(0), state
        outputs = []
        for x_t in x:
            state = self.cell(x_t, state, weights)
            outputs.append(state[0])
        return torch.stack(outputs), state  # (L, N, H_out)
