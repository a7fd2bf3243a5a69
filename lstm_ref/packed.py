"""One direction of one layer over a ``PackedSequence``: sequences of different
lengths in one batch, each running only over its own steps."""

import torch


def layer(cell, rows, state, batch_sizes, reverse=False):
    """Run ``cell(x_t, state) -> state`` along packed rows.

    ``rows`` holds the rows of time step 0, then of step 1, ... (the layout of
    ``PackedSequence.data``): ``batch_sizes[t]`` rows at step t, the sequences sorted
    longest first, so the active ones at step t are the first ``batch_sizes[t]``.

    ``state`` is a tuple of (N, *) tensors whose first is the output. Rows that are
    not active keep their state: going forward, a sequence that has ended keeps its
    final state; going in reverse, a sequence that has not started yet keeps its
    initial state, so the reverse direction never sees padding.

    Returns:
        (outputs, state): outputs in the same packed row layout (time order, also
        when ``reverse``), and the final state of every sequence.
    """
    inputs = rows.split(list(batch_sizes))  # the rows of each time step
    times = range(len(inputs))
    outputs = [None] * len(inputs)
    for t in reversed(times) if reverse else times:
        n = batch_sizes[t]
        everyone = n == len(state[0])
        active = cell(inputs[t], state if everyone else tuple(s[:n] for s in state))
        outputs[t] = active[0]
        if everyone:
            state = active
        else:  # the inactive sequences keep their rows of the state
            state = tuple(
                torch.cat([a, s[n:]]) for a, s in zip(active, state, strict=True)
            )
    return torch.cat(outputs), state
