"""What RNN, LSTM and GRU share: the parameters, and running a cell over a sequence,
layer after layer, in one or two directions, on plain or packed input.

A subclass names its cell by defining ``step(x_proj, state, weights) -> state`` and
``state_sizes()``; a state is a tuple, ``(h,)`` or ``(h, c)``.
"""

import math
import numbers
import warnings
from functools import partial

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from . import _checks
from .functional import linear, unroll

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
        self._check_arguments(dropout)

        num_directions = 2 if bidirectional else 1
        gate_size = GATES[mode] * hidden_size
        h_out = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else h_out * num_directions
                shapes = {
                    "weight_ih": (gate_size, layer_input_size),
                    "weight_hh": (gate_size, h_out),
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

    def _check_arguments(self, dropout):
        """torch's constructor checks, in torch's order."""
        if (
            not isinstance(dropout, numbers.Number)
            or not 0 <= dropout <= 1
            or isinstance(dropout, bool)
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so "
                "non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={self.num_layers}",
                stacklevel=4,
            )
        for name in ("bias", "batch_first", "input_size", "hidden_size"):
            kind = int if name.endswith("size") else bool
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(
                    f"{name} should be of type {kind.__name__}, "
                    f"got: {type(value).__name__}"
                )
            if kind is int and value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if self.num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if self.proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if self.proj_size >= self.hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

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

    # --- what a subclass defines -----------------------------------------------------

    def state_sizes(self):
        """The last dimension of each state tensor: (H,), or (H_out, H) for the LSTM."""
        return (self.hidden_size,)

    def step(self, x_proj, state, weights):
        """One time step of one direction of one layer: ``state -> state``."""
        raise NotImplementedError

    def _as_state(self, hx):
        return (hx,)

    def _from_state(self, state):
        return state[0]

    # --- forward ---------------------------------------------------------------------

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            x, batch_sizes, sorted_indices, unsorted_indices = input
            if hx is None:
                state = self._zero_state(int(batch_sizes[0]), x)
            else:  # the caller's hx is in the caller's order: sort it like the batch
                state = _permute(self._as_state(hx), sorted_indices)
            if self.mode == "LSTM":
                # torch's LSTM leaves packed input to its kernel, which reports a
                # wrong hx obscurely ("got an incorrect number of RNN parameters"):
                # lstm_ref checks hx as for unpacked input.
                _checks.check_state_sizes(self, x, state, batch_sizes)
            else:
                _checks.check_forward_args(self, x, state, batch_sizes)
            x, state = self._stack(x, state, batch_sizes.tolist())
            output = PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices)
            return output, self._from_state(_permute(state, unsorted_indices))

        _checks.check_input_dim(self.mode, input)
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            state = self._zero_state(input.size(batch_dim), input)
        else:
            state = self._as_state(hx)
            _checks.check_state_dim(state, batched)
            if not batched:
                state = tuple(s.unsqueeze(1) for s in state)
        _checks.check_forward_args(self, input, state, None)

        x = input.transpose(0, 1) if self.batch_first else input  # (L, N, H_in)
        L, N, _ = x.shape
        # A plain batch is a packed one whose L time steps all have N sequences.
        output, state = self._stack(x.reshape(L * N, -1), state, [N] * L)
        output = output.reshape(L, N, -1)  # (L, N, D*H_out)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(batch_dim)
            state = tuple(s.squeeze(1) for s in state)
        return output, self._from_state(state)

    def _zero_state(self, batch_size, input):
        num_directions = 2 if self.bidirectional else 1
        return tuple(
            torch.zeros(
                self.num_layers * num_directions,
                batch_size,
                size,
                dtype=input.dtype,
                device=input.device,
            )
            for size in self.state_sizes()
        )

    def _stack(self, x, state, batch_sizes):
        """All layers and directions over packed rows ``x`` (sum(batch_sizes), H_in).

        Returns the last layer's output rows (sum(batch_sizes), D*H_out) and the final
        states, each (D*num_layers, N, *) indexed by ``layer * D + direction``.
        """
        num_directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                w = {n: getattr(self, f"{n}_l{layer}{suffix}", None) for n in WEIGHTS}
                # The input part of every gate, for all time steps in one product.
                x_proj = linear(x, w["weight_ih"], w["bias_ih"])
                step = partial(self.step, weights=w)
                k = layer * num_directions + direction
                initial = tuple(s[k] for s in state)
                out, final = unroll(step, x_proj, initial, batch_sizes, direction == 1)
                outputs.append(out)
                finals.append(final)
            x = torch.cat(outputs, dim=-1)  # (sum(batch_sizes), D*H_out)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = nn.functional.dropout(x, self.dropout, training=True)
        return x, tuple(torch.stack(s) for s in zip(*finals, strict=True))


def _permute(state, permutation):
    """Reorder the batch dimension (1) of every state tensor."""
    if permutation is None:
        return state
    return tuple(s.index_select(1, permutation) for s in state)
