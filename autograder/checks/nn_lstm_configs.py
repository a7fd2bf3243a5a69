"""The configurations of notebook 04's checks: one `nn.LSTM(...)` each (`Config`).

A test cell's configurations are dicts of `nn.LSTM`'s arguments (`_configs` turns them
into `Config`s); the visible ones are built with `lstm(...)`. A `Config` names its
sizes (D, H, H_out, layers), prints as the constructor call a learner would type, and
gives the rules it exercises (`hint`), the likely cause when nothing more specific was
found. Shared by `nn_lstm_predictions`, `nn_lstm_parameters` and `my_lstm`.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.i18n import _


@dataclass(frozen=True)
class Config:
    """One `nn.LSTM(...)` and the shape of the input it is given."""

    kwargs: dict
    input_shape: tuple = ()

    @property
    def shape_kwargs(self) -> dict:
        return {k: v for k, v in self.kwargs.items() if k != "dropout"}

    @property
    def D(self) -> int:
        return 2 if self.kwargs.get("bidirectional") else 1

    @property
    def H(self) -> int:
        return self.kwargs["hidden_size"]

    @property
    def H_out(self) -> int:
        return self.kwargs.get("proj_size", 0) or self.H

    @property
    def layers(self) -> int:
        return self.kwargs.get("num_layers", 1)

    @property
    def arguments(self) -> str:
        """The constructor call's arguments as a learner would type them."""
        args = dict(self.kwargs)
        head = f"{args.pop('input_size')}, {args.pop('hidden_size')}"
        return head + "".join(f", {k}={v}" for k, v in args.items())

    @property
    def hint(self) -> str:
        """The rules this configuration exercises: the likely cause when it fails
        and nothing more specific was found."""
        kw, rules = self.kwargs, []
        if self.layers > 1:
            rules.append(_("layer k > 0 reads layer k-1's output, D·H_out features"))
        if self.D == 2:
            rules.append(
                _(
                    "the reverse direction has its own _reverse parameters, "
                    "runs t = L-1 … 0 and its outputs go back in time order"
                )
            )
        if self.H_out != self.H:
            rules.append(
                _(
                    "proj_size: h shrinks to P (weight_hh is (4H, P)), c keeps "
                    "H, weight_hr is (P, H)"
                )
            )
        if not kw.get("bias", True):
            rules.append(_("bias=False removes bias_ih and bias_hh"))
        if kw.get("batch_first"):
            rules.append(
                _(
                    "batch_first swaps L and N in the input and the output, "
                    "never in the states"
                )
            )
        if kw.get("dropout"):
            rules.append(_("dropout acts between layers, in training mode only"))
        return "; ".join(rules) or _(
            "one layer, one direction: weight_ih (4H, input_size), weight_hh (4H, H), "
            "two biases (4H,), one lstm_step per time step"
        )

    def __str__(self) -> str:
        text = f"nn.LSTM({self.arguments})"
        if not self.input_shape:
            return text
        return _("{lstm}, input {shape}").format(lstm=text, shape=self.input_shape)


def lstm(input_size, hidden_size, input_shape=(), **kwargs) -> Config:
    kwargs = {"input_size": input_size, "hidden_size": hidden_size, **kwargs}
    return Config(kwargs, tuple(input_shape))


def _configs(given: list[dict] | None, default: list[Config]) -> list[Config]:
    """A test cell's configurations, each a dict of nn.LSTM's arguments (and, for
    MyLSTM, `input_shape`), or the visible test's `default`."""
    if given is None:
        return default
    return [lstm(**config) for config in given]
