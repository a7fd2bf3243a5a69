"""Checks for 02_lstm_cell: the forget-gate prediction, `lstm_gates`, `lstm_cell`,
`num_parameters`, the hand-set memory cell; the GRU's check is in `gru`.

The cell and gate checks run the diagnoses of `cell_diagnosis` and `gate_diagnosis`
on the sizes and seed the test cell passes (the hidden cells of the master pass other
sizes, a batch of one and bias=False); `lstm_cell` is graded with torch's gates in
place of the learner's `lstm_gates` (`core.using`), so a mistake there is not counted
twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from autograder.i18n import _
from lstm_ref import functional as ref

from . import core
from .cell_diagnosis import diagnose_lstm_cell
from .cell_mistakes import reference_gates
from .cell_tools import run
from .gate_diagnosis import diagnose_lstm_gates

# What each exercise must not call: the thing it asks you to build (sealed grading
# gives the exercise zero, with a message, when the answer calls one of these).
_OTHER_CELLS = ["torch.nn.GRUCell", "torch.nn.GRU", "torch.nn.RNNCell", "torch.nn.RNN"]
FORBIDDEN = {  # see core.LSTM_IMPLEMENTATIONS
    "lstm-gates": core.LSTM_IMPLEMENTATIONS,
    "lstm-cell": core.LSTM_IMPLEMENTATIONS,
    "num-parameters": [*core.LSTM_IMPLEMENTATIONS, *_OTHER_CELLS],
}

Tensor = torch.Tensor
CLAIMS = ("A", "B", "C")

# --- exercise: forget-gate-predict ----------------------------------------------------


@core.exercise("forget-gate-predict")
def check_forget_gate_prediction(predicted_f: object, claim: object) -> None:
    """σ(0 + 1 + 1): both biases enter before the sigmoid; the claim must be one of
    "A", "B", "C" (whether it is right is the hidden test's)."""
    expected = float(torch.sigmoid(torch.tensor(2.0)))
    if not isinstance(predicted_f, int | float) or isinstance(predicted_f, bool):
        core.fail(
            _("predicted_f should be a number, got {got}").format(
                got=core.describe(predicted_f)
            ),
            "not-a-number",
        )
    wrong = [
        core.Known(
            "one-bias",
            _(
                "that is σ(1): torch adds both biases, bias_ih and bias_hh, so the "
                "pre-activation is 0 + 1 + 1"
            ),
            float(torch.sigmoid(torch.tensor(1.0))),
        ),
        core.Known(
            "bias-after-sigmoid",
            _("the biases go inside the sigmoid, not after it: f = σ(0 + 1 + 1)"),
            0.5 + 2.0,
        ),
        core.Known(
            "tanh",
            _("the forget gate uses σ, not tanh"),
            float(torch.tanh(torch.tensor(2.0))),
        ),
        core.Known(
            "no-bias",
            _("the biases are part of the pre-activation: f = σ(0 + 1 + 1)"),
            0.5,
        ),
    ]
    if abs(predicted_f - expected) > 0.01:
        for mistake, why, value in wrong:
            if abs(predicted_f - value) <= 0.01:
                core.fail(
                    _("predicted_f = {value:.4g}: {why}").format(
                        value=predicted_f, why=why
                    ),
                    mistake,
                )
        core.fail(
            _("predicted_f = {value:.4g} is not σ(0 + 1 + 1) to two decimals").format(
                value=predicted_f
            ),
            "differs",
        )
    _claim_letter(claim)
    core.passed(
        _(
            "f = σ(2) ≈ {expected:.3f}; your claim is well formed (the hidden test "
            "grades it)"
        ).format(expected=expected)
    )


def _claim_letter(claim: object) -> str:
    if claim not in CLAIMS:
        core.fail(
            _('forget_gate_claim should be "A", "B" or "C", got {claim!r}').format(
                claim=claim
            ),
            "malformed",
        )
    return claim


@core.exercise("forget-gate-predict")
def check_forget_gate_claim(claim: object) -> None:
    """The sigmoid comes last, so f stays in (0, 1) whatever the bias."""
    if _claim_letter(claim) != "B":
        core.fail(
            _(
                'forget_gate_claim = "{claim}": the biases are added inside σ, and σ '
                "maps every real number into (0, 1), so f stays in (0, 1) whatever "
                "the bias"
            ).format(claim=claim),
            "sigmoid-range",
        )
    core.passed(
        _(
            'forget_gate_claim "B" is right: f = σ(·) stays in (0, 1) for any bias, '
            "because σ comes after the sum"
        )
    )


# --- exercises: lstm-gates, lstm-cell -------------------------------------------------


def _sizes(input_size: int, hidden_size: int, batch: int, bias: bool) -> str:
    """The sizes a check ran on: argument names and numbers, the same in every
    language."""
    return _(
        "input_size={input_size}, hidden_size={hidden_size}, a batch of {batch}, "
        "bias={bias}"
    ).format(input_size=input_size, hidden_size=hidden_size, batch=batch, bias=bias)


@core.exercise("lstm-gates")
def check_lstm_gates(
    lstm_gates: Callable,
    input_size: int = 3,
    hidden_size: int = 5,
    batch: int = 4,
    seed: int = 0,
    bias: bool = True,
) -> None:
    """`lstm_gates` against torch's i, f, g, o, batched and unbatched; with
    bias=False the biases passed are None."""
    sizes = dict(input_size=input_size, hidden_size=hidden_size, batch=batch)
    diagnose_lstm_gates(lstm_gates, **sizes, seed=seed, bias=bias)
    core.passed(
        _(
            "lstm_gates matches torch's i, f, g, o, batched and unbatched ({sizes})"
        ).format(sizes=_sizes(input_size, hidden_size, batch, bias))
    )


def match_torch_cell(
    cell: Callable, input_size: int, hidden_size: int, seed: int, bias: bool
) -> None:
    """`cell` with an `nn.LSTMCell`'s own parameters must give the module's output."""
    with core.forked_rng(seed):  # leave the learner's random stream alone
        module = torch.nn.LSTMCell(
            input_size, hidden_size, bias=bias, dtype=torch.float64
        )
        x = torch.randn(2, input_size, dtype=torch.float64)
        state = tuple(torch.randn(2, hidden_size, dtype=torch.float64) for s in "hc")
    name = "lstm_cell"
    with torch.no_grad():
        want = module(x, state)
        params = dict(module.named_parameters())
        got = run(name, cell, (x, state, *params.values()), batched=True)
        got = core.expect_pair(name, got, "h'", "c'")
    for label, g, w in zip(("h'", "c'"), got, want, strict=True):
        core.expect_close(
            _("{name} with nn.LSTMCell's parameters: {label}").format(
                name=name, label=label
            ),
            g,
            w,
            mistake="differs-from-lstmcell",
        )


@core.exercise("lstm-cell")
def check_lstm_cell(
    lstm_cell: Callable,
    input_size: int = 3,
    hidden_size: int = 5,
    batch: int = 4,
    seed: int = 0,
    bias: bool = True,
) -> None:
    """`lstm_cell` against lstm_ref and nn.LSTMCell, batched and unbatched, graded
    with torch's gates in place of the learner's `lstm_gates`."""
    sizes = dict(input_size=input_size, hidden_size=hidden_size, batch=batch)
    with core.using(lstm_cell, lstm_gates=reference_gates):
        diagnose_lstm_cell(lstm_cell, **sizes, seed=seed, bias=bias)
        match_torch_cell(lstm_cell, input_size, hidden_size, seed, bias)
    core.passed(
        _(
            "lstm_cell matches lstm_ref.functional.lstm_cell and nn.LSTMCell, batched "
            "and unbatched ({sizes})"
        ).format(sizes=_sizes(input_size, hidden_size, batch, bias))
    )


# --- parameter counts -----------------------------------------------------------------

CELLS = {4: torch.nn.LSTMCell, 3: torch.nn.GRUCell, 1: torch.nn.RNNCell}


def torch_num_parameters(
    input_size: int, hidden_size: int, num_chunks: int, bias: bool
) -> int:
    module = CELLS[num_chunks](input_size, hidden_size, bias=bias)
    return sum(p.numel() for p in module.parameters())


def _count_mistake(got: object, I: int, H: int, G: int, bias: bool) -> core.Diagnosis:
    """The likely cause of a wrong parameter count, from known wrong formulas."""
    b = 2 * G * H if bias else 0
    known = [
        core.Known(
            "one-bias" if bias else "bias-counted",
            _("torch has two bias vectors, bias_ih and bias_hh, each of num_chunks*H")
            if bias
            else _("with bias=False there are no biases"),
            G * H * (I + H + 1),
        ),
        core.Known(
            "bias-counted",
            _("with bias=False there are no biases"),
            G * H * (I + H) + 2 * G * H,
        ),
        core.Known(
            "no-biases",
            _("the two biases (num_chunks*H each) are missing"),
            G * H * (I + H),
        ),
        core.Known(
            "one-chunk",
            _(
                "each of the num_chunks gates has its own rows: "
                "weight_ih is (num_chunks*H, H_in)"
            ),
            H * (I + H) + 2 * H * bias,
        ),
        core.Known(
            "one-chunk",
            _(
                "each of the num_chunks gates has its own rows: "
                "weight_ih is (num_chunks*H, H_in)"
            ),
            H * (I + H) + b,
        ),
        core.Known(
            "weight-hh-width",
            _("weight_hh is (num_chunks*H, H), not (num_chunks*H, H_in)"),
            G * H * 2 * I + b,
        ),
        core.Known(
            "weight-hh-size", _("weight_hh is (num_chunks*H, H)"), G * H * (I + 1) + b
        ),
    ]
    for mistake, why, value in known:
        if got == value:
            return core.Diagnosis(mistake, why)
    return core.Diagnosis(
        "differs",
        _(
            "count weight_ih (num_chunks*H, H_in), weight_hh (num_chunks*H, H) and, "
            "with bias, two biases (num_chunks*H,)"
        ),
    )


@core.exercise("num-parameters")
@core.forked_rng()  # torch's modules draw their initial weights
def check_num_parameters(num_parameters: Callable, sizes: tuple = ((3, 2),)) -> None:
    """num_parameters(I, H, num_chunks, bias) for each (I, H) in `sizes`, every cell
    kind (4, 3, 1 chunks) and bias True and False, against torch's modules."""
    for (I, H), chunks, bias in itertools.product(sizes, CELLS, (True, False)):
        got = core.call(
            "num_parameters", num_parameters, I, H, num_chunks=chunks, bias=bias
        )
        want = torch_num_parameters(I, H, chunks, bias)
        if got != want:
            why = _count_mistake(got, I, H, chunks, bias)
            core.fail(
                _(
                    "num_parameters({I}, {H}, num_chunks={chunks}, bias={bias}) "
                    "returned {got!r}, torch's {cell} has {want} — {why}"
                ).format(
                    I=I,
                    H=H,
                    chunks=chunks,
                    bias=bias,
                    got=got,
                    cell=CELLS[chunks].__name__,
                    want=want,
                    why=why.message,
                ),
                why.mistake,
            )
    shown = ", ".join(f"({I}, {H})" for I, H in sizes)
    core.passed(
        _(
            "num_parameters matches torch's LSTMCell, GRUCell and RNNCell, with and "
            "without bias, for (input_size, hidden_size) in {sizes}"
        ).format(sizes=shown)
    )


# --- the hand-set memory cell ---------------------------------------------------------

MEMORY_KEYS = ("i", "f", "g", "o")


def pack_memory_params(params: object) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """{"i": ([w_write, w_value], [w_h], b), ...} -> weight_ih (4, 2), weight_hh (4, 1),
    bias_ih (4,), bias_hh (4,) zeros, in torch's order i, f, g, o."""
    if not isinstance(params, dict) or set(params) != set(MEMORY_KEYS):
        got = sorted(params) if isinstance(params, dict) else core.describe(params)
        core.fail(
            _(
                'memory_params should be a dict with the keys "i", "f", "g", "o", '
                "got {got}"
            ).format(got=got),
            "malformed",
        )
    rows_x, rows_h, biases = [], [], []
    for gate in MEMORY_KEYS:
        entry = params[gate]
        try:
            w_x, w_h, b = entry
            w_x = torch.as_tensor(w_x, dtype=torch.float64).reshape(2)
            w_h = torch.as_tensor(w_h, dtype=torch.float64).reshape(1)
            b = torch.as_tensor(b, dtype=torch.float64).reshape(())
        except (TypeError, ValueError, RuntimeError):
            core.fail(
                _(
                    'memory_params["{gate}"] should be ([w_write, w_value], [w_h], '
                    "bias) — three entries of 2, 1 and 1 numbers, got {entry!r}"
                ).format(gate=gate, entry=entry),
                "malformed",
            )
        rows_x.append(w_x)
        rows_h.append(w_h)
        biases.append(b)
    return (
        torch.stack(rows_x),
        torch.stack(rows_h),
        torch.stack(biases),
        torch.zeros(4, dtype=torch.float64),
    )


def memory_sequence(
    bit: int, steps: int = 50, seed: int = 0, write_at: int = 0, noise: float = 1.0
) -> Tensor:
    """(write_at + 1 + steps, 2) inputs (write, value): the bit ±1 written once,
    then `steps` distractor values in [-noise, noise] with write = 0."""
    gen = core.generator(seed)
    length = write_at + 1 + steps
    values = (torch.rand(length, generator=gen, dtype=torch.float64) * 2 - 1) * noise
    write = torch.zeros(length, dtype=torch.float64)
    write[write_at], values[write_at] = 1.0, float(bit)
    return torch.stack([write, values], dim=1)


def memory_trace(params: object, xs: Tensor) -> dict[str, Tensor]:
    """Run the hand-set cell along `xs` (T, 2): gates, c and h, each (T,)."""
    weight_ih, weight_hh, bias_ih, bias_hh = pack_memory_params(params)
    h = c = torch.zeros(1, dtype=torch.float64)
    rows = {k: [] for k in ("i", "f", "g", "o", "c", "h")}
    for x in xs:
        gates = reference_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
        h, c = ref.lstm_cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
        for key, value in zip(
            ("i", "f", "g", "o", "c", "h"), (*gates, c, h), strict=True
        ):
            rows[key].append(float(value))
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in rows.items()}


def _memory_failure(
    trace: dict[str, Tensor], bit: int, write_at: int
) -> core.Diagnosis:
    """Why h_T does not show the bit: the first gate that misbehaves."""
    Diagnosis = core.Diagnosis
    w = write_at
    later = slice(w + 1, None)
    written = float(trace["i"][w] * trace["g"][w])
    kept = float(trace["f"][later].prod())
    leak = float((trace["i"][later] * trace["g"][later].abs()).sum())
    if abs(written) < 0.5:
        return Diagnosis(
            "not-written",
            _(
                "at the write step i·g = {written:.2f}: the bit barely enters c — "
                "open the input gate when write = 1 and make g = tanh(large × value)"
            ).format(written=written),
        )
    if written * bit < 0:
        return Diagnosis(
            "wrong-sign",
            _("at the write step g has the wrong sign: g should follow the value"),
        )
    if kept < 0.5:
        low, high = float(trace["f"][later].min()), float(trace["f"][later].max())
        fields = dict(low=low, high=high, kept=kept, steps=len(trace["f"]) - w - 1)
        if f"{low:.3f}" == f"{high:.3f}":
            message = _(
                "the forget gate is not open enough: f ≈ {high:.3f}, and multiplied "
                "over {steps} steps it leaves only {kept:.2g} of the bit in c — hold "
                "f near 1 with a large positive bias"
            )
        else:
            message = _(
                "the forget gate is not open enough: f is between {low:.3f} and "
                "{high:.3f}, and multiplied over {steps} steps it leaves only "
                "{kept:.2g} of the bit in c — hold f near 1 with a large positive bias"
            )
        return Diagnosis("forget-closed", message.format(**fields))
    if leak > 0.5:
        return Diagnosis(
            "input-leaks",
            _(
                "distractors leak into c: the input gate reaches {high:.2f} after the "
                "write — keep it closed unless write = 1 (a negative bias)"
            ).format(high=float(trace["i"][later].max())),
        )
    c_end, o_end = float(trace["c"][-1]), float(trace["o"][-1])
    if o_end < 0.9:
        return Diagnosis(
            "output-closed",
            _(
                "the output gate hides it: h = o · tanh(c) = {o:.2f} · {tanh_c:.2f} at "
                "the end — hold o near 1 with a large positive bias"
            ).format(o=o_end, tanh_c=float(torch.tanh(torch.tensor(c_end)))),
        )
    return Diagnosis(
        "candidate-small",
        _(
            "c ends at {c:.2f}: write a larger candidate, g = tanh(large × value)"
        ).format(c=c_end),
    )


@core.exercise("memory-cell")
def check_memory_cell(
    memory_params: object, seeds: tuple = (0,), write_at: tuple = (0,)
) -> None:
    """The hand-set cell must keep a written bit (+1 and -1) for 50 steps of
    distractors, for each seed of the distractors and each write step:
    sign(h_T) = bit and |h_T| ≥ 0.5."""
    for seed, w, bit in itertools.product(seeds, write_at, (1, -1)):
        xs = memory_sequence(bit, 50, seed, w)
        trace = memory_trace(memory_params, xs)
        h_end, c_end = float(trace["h"][-1]), float(trace["c"][-1])
        if h_end * bit >= 0.5:
            continue
        if c_end * bit >= 0.5:
            message = _(
                "the bit {bit:+d} written at step {step} is still in the cell state "
                "after 50 steps (c = {c:.2f}), but h = {h:.2f} does not show it (want "
                "sign {bit:+d} and |h| ≥ 0.5): {cause}"
            )
        else:
            message = _(
                "the bit {bit:+d} written at step {step} is lost after 50 steps "
                "(c = {c:.2f}, h = {h:.2f}, want sign {bit:+d} and |h| ≥ 0.5): {cause}"
            )
        cause = _memory_failure(trace, bit, w)
        fields = dict(bit=bit, step=w, c=c_end, h=h_end, cause=cause.message)
        core.fail(message.format(**fields), cause.mistake)
    core.passed(
        _(
            "the hand-set cell keeps the bit for 50 steps (distractor seeds {seeds}; "
            "written at step {steps})"
        ).format(seeds=", ".join(map(str, seeds)), steps=", ".join(map(str, write_at)))
    )
