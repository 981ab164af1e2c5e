"""Fast paths for the linear layers, with a start-up probe and a silent fallback.

On CPUs, torch's default fp32 matmul goes through MKL, which on some processors
(AMD Zen among them) reaches well under half the machine's fp32 peak; oneDNN's
AVX-512 kernels reach close to it. `DenseFn` routes a linear layer's three
products (forward, input gradient, weight gradient) through oneDNN's linear
primitive. That operator (``torch.ops.mkldnn._linear_pointwise``) is private, so
it is used only after a probe has checked, on a small case, that it gives the
same output and gradients as ``torch.nn.functional.linear``; otherwise, or
when ``AEKIT_KERNELS=off`` or ``set_fast_linear(False)``, every layer uses
``F.linear``. By default it is used on non-Intel CPUs only, where MKL is slow
(`_wanted`); ``AEKIT_KERNELS=on`` forces it.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_enabled: bool | None = None  # None: not probed yet


def _lp(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """x @ w.T + b through oneDNN; accepts transposed (strided) views."""
    return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")


class DenseFn(torch.autograd.Function):
    """y = x @ W.T + b, with all three products computed by oneDNN."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return _lp(x, weight, bias)  # (batch, out)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        gx = (
            _lp(grad, weight.t(), None) if ctx.needs_input_grad[0] else None
        )  # (batch, in)
        gw = (
            _lp(grad.t(), x.t(), None) if ctx.needs_input_grad[1] else None
        )  # (out, in)
        gb = grad.sum(0) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def _cpu_vendor() -> str:
    """'GenuineIntel', 'AuthenticAMD', ... from /proc/cpuinfo; '' where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _wanted() -> bool:
    """AEKIT_KERNELS: 'on', 'off', or 'auto' (default): on for non-Intel x86 CPUs.

    MKL, torch's default CPU matmul, is fast on Intel CPUs (on the Xeon of
    benchmarks/RESULTS.md the oneDNN path was 0.8x of it on workload S) and
    takes slow paths elsewhere (on an AMD Zen 5, oneDNN reached ~2x MKL).
    """
    setting = os.environ.get("AEKIT_KERNELS", "auto").lower()
    if setting in ("off", "0", "false"):
        return False
    if setting in ("on", "1", "true"):
        return True
    return _cpu_vendor() not in ("GenuineIntel", "")


def _probe() -> bool:
    """Does the oneDNN path exist here and agree with F.linear (values and grads)?"""
    if not _wanted():
        return False
    if not (
        torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    ):
        return False
    try:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(37, 53, generator=g, dtype=torch.float64).float()
        w = torch.randn(29, 53, generator=g).requires_grad_()
        b = torch.randn(29, generator=g).requires_grad_()
        xr = x.clone().requires_grad_()
        xf = x.clone().requires_grad_()
        up = torch.randn(37, 29, generator=g)
        ref = F.linear(xr, w, b)
        (ref * up).sum().backward()
        ref_grads = [xr.grad, w.grad, b.grad]
        w.grad = b.grad = None
        out = DenseFn.apply(xf, w, b)
        (out * up).sum().backward()
        grads = [xf.grad, w.grad, b.grad]
    except (RuntimeError, AttributeError, TypeError, NotImplementedError):
        return False
    return torch.allclose(out, ref, rtol=1e-4, atol=1e-4) and all(
        a is not None and r is not None and torch.allclose(a, r, rtol=1e-4, atol=1e-4)
        for a, r in zip(grads, ref_grads)
    )


def fast_linear_enabled() -> bool:
    """Whether linear layers on the CPU in fp32 take the oneDNN path (probed once)."""
    global _enabled
    if _enabled is None:
        # grads on and autocast off, whatever context asks first (e.g. transform)
        with torch.inference_mode(False), torch.enable_grad():
            with torch.autocast("cpu", enabled=False):
                _enabled = _probe()
    return _enabled


def set_fast_linear(enabled: bool | None) -> None:
    """Turn the oneDNN path off (False), back on if the probe passes (True/None)."""
    global _enabled
    _enabled = None if enabled or enabled is None else False


class Dense(nn.Linear):
    """``nn.Linear`` (same parameters and state dict) with the oneDNN fast path.

    The fast path is taken for fp32 CPU tensors outside autocast; everything
    else (CUDA, bf16 autocast, float64) goes through ``F.linear``, and so does
    a trace (``torch.jit.trace``, the ONNX export), which must see a standard
    operator rather than a private one.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type == "cpu"
            and x.dtype == torch.float32
            and x.dim() == 2
            and not torch.is_autocast_enabled("cpu")
            and not torch.jit.is_tracing()
            and fast_linear_enabled()
        ):
            return DenseFn.apply(x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)
