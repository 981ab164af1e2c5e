"""Dense stacks shared by the model families: activations, widths, initialisation.

A `DenseStack` is an ``nn.Sequential`` of alternating linear layers and
activations. Its hidden activations (every one but the last) are the units the
dead-unit monitor watches, named ``"<stack>.<index>"`` (e.g. ``"encoder.1"``),
and can be switched in place (ReLU -> LeakyReLU) without touching the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch import nn

from .kernels import Dense

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}
HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh")
RELU_LIKE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU)


def get_activation(name: str) -> nn.Module:
    """Return a new activation module for `name` (one of `ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def check_hidden_activation(name: str) -> str:
    """Validate a hidden-layer activation name and return it."""
    if name not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose from {sorted(HIDDEN_ACTIVATIONS)}"
        )
    return name


def halving_widths(n_features: int, latent_dim: int) -> list[int]:
    """Hidden widths n//2, n//4, ... while still greater than `latent_dim`.

    >>> halving_widths(4096, 1000)
    [2048, 1024]
    >>> halving_widths(784, 32)
    [392, 196, 98, 49]
    """
    widths = []
    w = n_features // 2
    while w > latent_dim:
        widths.append(w)
        w //= 2
    return widths


class DenseStack(nn.Sequential):
    """Linear layers between consecutive `widths`, an activation after each.

    ``activations`` maps a hidden activation's index to its name (overrides of
    `activation`); the last activation is `last` (identity for a linear code,
    sigmoid for an output in (0, 1)).
    """

    def __init__(
        self,
        widths: Sequence[int],
        activation: str,
        last: str,
        overrides: Mapping[int, str] | None = None,
    ) -> None:
        layers: list[nn.Module] = []
        n = len(widths) - 1
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(Dense(n_in, n_out))
            act = last if i == n - 1 else (overrides or {}).get(2 * i + 1, activation)
            layers.append(get_activation(act))
        super().__init__(*layers)

    def linears(self) -> list[nn.Linear]:
        return [m for m in self if isinstance(m, nn.Linear)]

    def hidden(self) -> Iterator[int]:
        """Indices of the hidden activations (the last one is the output's)."""
        yield from range(1, len(self) - 1, 2)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He-normal weights before ReLU-like units, Xavier-normal elsewhere, zero bias.

        PyTorch's default Linear init (uniform, std 1/sqrt(3 fan_in)) shrinks the
        signal at every ReLU layer; through the 4-7 layers a side that the halving
        rule gives, the first layer got ~3e-3 of the last layer's gradient, and the
        network lost to PCA (benchmarks/RESULTS.md, docs/sigmoid-gradients.md).
        """
        for i in range(0, len(self), 2):
            layer, act = self[i], self[i + 1]
            if not isinstance(layer, nn.Linear):  # pragma: no cover - by construction
                raise TypeError(f"layer {i} of a DenseStack is not linear")
            if isinstance(act, RELU_LIKE):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:  # tanh, a linear code, a sigmoid output
                nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)


def hidden_layers(module: nn.Module) -> Iterator[tuple[str, DenseStack, int]]:
    """(name, stack, index) of every hidden activation of the DenseStacks in `module`."""
    for prefix, stack in module.named_modules():
        if isinstance(stack, DenseStack):
            for i in stack.hidden():
                yield f"{prefix}.{i}", stack, i


def switch_activation(module: nn.Module, name: str, activation: str) -> None:
    """Replace the hidden activation `name` (e.g. "encoder.1") in place.

    The weights stay; the switch is recorded in the module's
    ``config.layer_activations`` (when it has one), so a rebuilt module has it.
    """
    for layer, stack, i in hidden_layers(module):
        if layer == name:
            stack[i] = get_activation(activation)
            overrides = getattr(
                getattr(module, "config", None), "layer_activations", None
            )
            if isinstance(overrides, dict):
                overrides[name] = activation
            return
    raise KeyError(f"no hidden activation {name!r}")


def stack_overrides(
    prefix: str, layer_activations: Mapping[str, str]
) -> dict[int, str]:
    """The per-index overrides of stack `prefix` from ``{"prefix.i": name}``."""
    out = {}
    for name, act in layer_activations.items():
        head, _, idx = name.rpartition(".")
        if head == prefix and idx.isdigit():
            out[int(idx)] = act
    return out


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
