"""Contractive autoencoder: the encoder's Jacobian, squared Frobenius norm, as a penalty.

The objective is ``reconstruction + contraction * mean_rows ||dz/dx||_F^2`` on
either base network (option ``base``, see `penalized`).

How the norm is computed: exactly, in closed form, as a batched product. For
an encoder stack ``z = W_n a_{n-1}(... a_1(W_1 x + b_1) ...) + b_n`` the
Jacobian of a row is ``J = W_n D_{n-1} W_{n-1} ... D_1 W_1`` with ``D_i`` the
diagonal of the activation's derivative at that row's pre-activations (the
pca_anchored base adds its PCA map's weight). It is built from the code side,
``M <- (M * D_i) @ W_i`` starting from ``M = W_n``, so every intermediate is
(batch, latent_dim, width): the cost is latent_dim forward passes of the
encoder as matrix products, with no per-row Python loop. The classic
one-hidden-layer formula ``sum_j (h_j (1 - h_j))^2 ||W_j||^2`` holds only when
the code is the sigmoid hidden layer itself; aekit's codes are linear after
hidden layers, so the product is needed. It is an ordinary differentiable
function of the weights (the derivative of ReLU is piecewise constant), so
training needs no double backward: the fast linear path (`aekit.kernels.Dense`,
which has none) stays on. Alternatives considered: double backward costs
latent_dim backward passes through autograd and would need plain
``nn.Linear`` layers; ``torch.func.vmap(jacrev)`` computes the same Jacobian
(the test checks the product against it) with more overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..layers import DenseStack
from .base import Parts, reconstruction_loss
from .options import number, option
from .penalized import PenalizedConfig, PenalizedFamily, hidden_inputs
from .registry import register_family


@dataclass
class ContractiveConfig(PenalizedConfig):
    """A base network's config with the weight of the contraction penalty."""

    # weight of the mean squared Frobenius norm of dz/dx
    contraction: float = option(1e-4, number(0, 100))


def activation_derivative(act: nn.Module, pre: torch.Tensor) -> torch.Tensor:
    """The derivative of the elementwise activation `act` at `pre`."""
    if isinstance(act, nn.ReLU):
        return (pre > 0).to(pre.dtype)
    if isinstance(act, nn.LeakyReLU):
        return torch.where(pre > 0, 1.0, act.negative_slope).to(pre.dtype)
    if isinstance(act, nn.ELU):
        return torch.where(pre > 0, torch.ones_like(pre), act.alpha * torch.exp(pre))
    if isinstance(act, nn.Tanh):
        return 1 - torch.tanh(pre) ** 2
    if isinstance(act, nn.GELU) and act.approximate == "none":
        cdf = 0.5 * (1 + torch.erf(pre / math.sqrt(2)))
        pdf = torch.exp(-0.5 * pre**2) / math.sqrt(2 * math.pi)
        return cdf + pre * pdf
    if isinstance(act, nn.Identity):
        return torch.ones_like(pre)
    raise TypeError(f"no derivative for activation {type(act).__name__}")


def stack_jacobian(
    stack: DenseStack, pre: list[torch.Tensor], batch: int
) -> torch.Tensor:
    """(batch, out, in) Jacobian of a stack with a linear last layer.

    `pre` holds the inputs of the stack's hidden activations for these rows.
    """
    linears = stack.linears()
    acts = [stack[i] for i in stack.hidden()]
    M = linears[-1].weight.float().expand(batch, -1, -1)
    for lin, act, p in zip(linears[-2::-1], acts[::-1], pre[::-1], strict=True):
        M = (
            M * activation_derivative(act, p.float()).unsqueeze(1)
        ) @ lin.weight.float()
    return M


def encoder_jacobian(module: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes, Jacobians (batch, latent_dim, n_features)) of a halving or pca_anchored net."""
    last = module.encoder[len(module.encoder) - 1]
    if not isinstance(last, nn.Identity):
        raise TypeError("the encoder's code must be linear")
    with hidden_inputs(module.encoder) as pre:
        z = module.encode(x)
    J = stack_jacobian(module.encoder, pre, len(x))
    pca = getattr(module, "pca_encoder", None)
    if pca is not None:
        J = J + pca.weight.float()
    return z, J


class Contractive(PenalizedFamily):
    name = "contractive"
    search_space = {"contraction": {"low": 1e-6, "high": 1e-2, "log": True}}
    config_class = ContractiveConfig
    summary = (
        "contractive: penalises the squared Frobenius norm of the encoder's "
        "Jacobian (exact, closed form), on the pca_anchored or halving network"
    )

    def objective(
        self, module: Any, xb: torch.Tensor, *, loss: str, rng: torch.Generator | None
    ) -> tuple[torch.Tensor, Parts]:
        c: ContractiveConfig = module.config
        z, J = encoder_jacobian(module, xb)
        recon = reconstruction_loss(module.decode(z), xb, loss)
        jac = J.pow(2).sum(dim=(1, 2)).mean()
        return recon + c.contraction * jac, {"reconstruction": recon, "jacobian": jac}


CONTRACTIVE = register_family(Contractive())
