"""What training a module needs in memory, and what the machine can give.

`check_training_memory` builds the module on the meta device (shapes only,
nothing allocated), counts its parameters and refuses, before any work, a
network whose training state alone cannot fit: the weights, their gradients,
Adam's two moments and the copy of the best weights, five float32 copies of
every parameter (activations come on top).
"""

from __future__ import annotations

import os
import resource
from typing import Any

import torch

from .errors import InvalidParameterError

TRAINING_COPIES = 5  # weights, gradients, two Adam moments, best-weights copy


def free_memory(device: torch.device) -> int | None:
    """Bytes this process may still allocate for `device`, or None where unknown.

    On the CPU: the smaller of the system's available memory and what the
    address-space limit (ulimit -v) leaves. GPUs are not checked here.
    """
    if device.type != "cpu":
        return None
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit != resource.RLIM_INFINITY:
        used = 0
        try:
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            pass
        free = limit - used if free is None else min(free, limit - used)
    return free


def training_memory(family: Any, config: Any) -> tuple[int, int]:
    """(parameters, bytes of the training state) of the module `config` describes.

    The bytes are what `check_training_memory` compares with the free memory:
    `TRAINING_COPIES` float32 copies of every parameter.
    """
    try:
        with torch.device("meta"):  # shapes only
            n = sum(p.numel() for p in family.build(config).parameters())
    except (RuntimeError, OverflowError, MemoryError) as e:
        raise InvalidParameterError(
            f"the {family.name} network of these sizes cannot be built ({e}); choose "
            "smaller hidden_dims or latent_dim"
        ) from None
    return n, TRAINING_COPIES * 4 * n


def check_training_memory(family: Any, config: Any, device: torch.device) -> int:
    """Refuse a module whose training state cannot fit; return its parameter count."""
    n, need = training_memory(family, config)
    free = free_memory(device)
    if free is not None and need > free:
        raise InvalidParameterError(
            f"the {family.name} network ({family.architecture_of(config)}) has "
            f"{n:,} parameters and needs at least {_gib(need)} of memory to train, "
            f"more than the {_gib(free)} available; choose smaller hidden_dims or "
            "latent_dim"
        )
    return n


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"
