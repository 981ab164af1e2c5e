"""Where a model computes: "auto", "cpu", "cuda" or "cuda:N" as a torch device.

Also what a device is, for decisions measured on it and cached
(`device_identity`), and whether it has bf16 arithmetic of its own
(`has_bf16_units`): where it has none, bf16 is emulated and slower than fp32.
"""

from __future__ import annotations

import platform

import torch

DEVICES = ("auto", "cpu", "cuda")

# CPU flags (/proc/cpuinfo, lscpu) of bf16 arithmetic: AVX-512 BF16 dot products,
# AMX tiles, AVX-NE-CONVERT; "bf16" on Arm (FEAT_BF16). Without any of them
# PyTorch's bf16 matrix products convert to fp32 and back.
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "avx_ne_convert", "bf16")


def resolve_device(device: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is refused."""
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {list(DEVICES)}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but no CUDA GPU is available; use device='cpu'"
        )
    return torch.device(device)


def cpu_model_and_flags() -> tuple[str, tuple[str, ...]]:
    """The CPU's model name and feature flags, from /proc/cpuinfo ("" and () if unread)."""
    name, flags = "", tuple[str, ...]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "model name" and not name:
                    name = value.strip()
                elif key in ("flags", "features") and not flags:
                    flags = tuple(sorted(set(value.split())))
                if name and flags:
                    break
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), flags


def has_bf16_units(device: torch.device) -> bool:
    """Whether `device` computes in bf16 natively (a CPU's flags; CUDA's own check)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return True  # unknown accelerators: let a measurement decide
    _, flags = cpu_model_and_flags()
    return any(f in flags for f in BF16_FLAGS)


def device_identity(device: torch.device) -> dict[str, object]:
    """What a timing measured on `device` depends on, besides the work itself.

    The CPU model and flags and torch's thread count, or the GPU's name and
    compute capability; and torch's version.
    """
    ident: dict[str, object] = {"torch": torch.__version__, "type": device.type}
    if device.type == "cuda":
        index = (
            device.index if device.index is not None else torch.cuda.current_device()
        )
        ident["gpu"] = torch.cuda.get_device_name(index)
        ident["capability"] = list(torch.cuda.get_device_capability(index))
    else:
        name, flags = cpu_model_and_flags()
        ident.update(cpu=name, flags=list(flags), threads=torch.get_num_threads())
    return ident
