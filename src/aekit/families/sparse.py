"""Sparse autoencoder: an L1 penalty on the code, a KL sparsity target on hidden units.

The objective is ``reconstruction + l1 * mean|z| + beta * KL``, on either base
network (option ``base``, see `penalized`):

- ``l1``: weight of the mean absolute code value (each row's code pulled
  towards few non-zero dimensions);
- ``beta`` and ``rho``: the classic sparsity target. A hidden unit's firing
  rate ``rho_hat`` is the batch mean of the sigmoid of its input (for a sigmoid
  unit, its mean activation; for a ReLU unit, near 0 only when its input is
  mostly well below 0, i.e. its output mostly exactly 0), and the penalty is
  ``KL(rho || rho_hat)`` averaged over the encoder's hidden units.

Both parts are recorded in the history (``l1``, ``kl``) whatever their weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .base import Parts, reconstruction_loss
from .options import number, option
from .penalized import PenalizedConfig, PenalizedFamily, hidden_inputs
from .registry import register_family


@dataclass
class SparseConfig(PenalizedConfig):
    """A base network's config with the sparsity penalties."""

    l1: float = option(1e-3, number(0, 100))  # weight of mean |code|
    # weight of the KL sparsity target on hidden units (0: off)
    beta: float = option(0.0, number(0, 100))
    # target firing rate of a hidden unit; float32 rates are clamped to 1e-6,
    # so a target beyond [1e-4, 0.9999] only makes the KL term overflow
    rho: float = option(0.05, number(1e-4, 0.9999))


def kl_sparsity(pre: list[torch.Tensor], rho: float) -> torch.Tensor:
    """Mean over units of KL(rho || rho_hat), rho_hat the batch mean of sigmoid(pre)."""
    if not pre:
        return torch.zeros(())
    eps = 1e-6
    rates = torch.cat([torch.sigmoid(p.float()).mean(0) for p in pre])
    rates = rates.clamp(eps, 1 - eps)
    kl = rho * torch.log(rho / rates) + (1 - rho) * torch.log((1 - rho) / (1 - rates))
    return kl.mean()


class Sparse(PenalizedFamily):
    name = "sparse"
    search_space = {"l1": {"low": 1e-5, "high": 1e-2, "log": True}}
    config_class = SparseConfig
    summary = (
        "sparse code: L1 penalty on the code (l1) and a KL target rate rho on "
        "hidden units (beta), on the pca_anchored or halving network"
    )

    def objective(
        self, module: Any, xb: torch.Tensor, *, loss: str, rng: torch.Generator | None
    ) -> tuple[torch.Tensor, Parts]:
        c: SparseConfig = module.config
        with hidden_inputs(module.encoder) as pre:
            z = module.encode(xb)
        recon = reconstruction_loss(module.decode(z), xb, loss)
        l1 = z.float().abs().mean()
        kl = kl_sparsity(pre, c.rho).to(recon.device)
        total = recon + c.l1 * l1 + c.beta * kl
        return total, {"reconstruction": recon, "l1": l1, "kl": kl}


SPARSE = register_family(Sparse())


@torch.no_grad()
def near_zero_shares(
    module: Any, x: torch.Tensor, tol: float = 1e-2
) -> dict[str, float]:
    """Shares of near-zero values in the codes and in the encoder's hidden units.

    A value is near zero when ``|a| <= tol * max|a|`` over these rows of its
    own unit: a measure that scaling a layer cannot change (an L1 penalty that
    only shrinks the code's scale, while the decoder grows to match, does not
    count as sparsity). Works for any module with ``encode`` and an ``encoder``
    `DenseStack` (the halving and pca_anchored networks and the variants on them).
    """
    outs: list[torch.Tensor] = []
    stack = module.encoder
    handles = [
        stack[i].register_forward_hook(lambda _m, _a, out: outs.append(out))
        for i in stack.hidden()
    ]
    try:
        z = module.encode(x)
    finally:
        for h in handles:
            h.remove()

    def share(values: list[torch.Tensor]) -> float:
        if not values:
            return 0.0
        a = torch.cat([v.float().abs() for v in values], dim=1)
        return float((a <= tol * a.amax(dim=0)).float().mean())

    return {"code": share([z]), "hidden": share(outs)}
