"""Data-parallel training on torch.distributed, launched by ``torchrun``.

A process started by ``torchrun`` finds RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT in its environment; `setup` then joins the process
group (gloo on the CPU, NCCL on CUDA, one GPU per local rank). Alone, every
function here is a no-op: `world()` is rank 0 of 1, reductions return their
input, `share` returns the whole batch.

How a global batch is shared: every rank draws the same seeded permutation and
takes a contiguous share of each batch of ``batch_size`` rows (shares differ by
at most one row). Each rank's loss is weighted by ``rows_here * world / rows``
before backward, so that DistributedDataParallel's gradient average is the
gradient of the global batch's mean loss: ``batch_size`` is the global batch,
whatever the number of ranks.
"""

from __future__ import annotations

import atexit
import ctypes
import datetime
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .families.base import Family

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
AGENT_ENV = "TORCHELASTIC_RUN_ID"  # set by torchrun's agent for the ranks it starts
PR_SET_PDEATHSIG = 1  # linux/prctl.h
TIMEOUT_ENV = "AEKIT_DIST_TIMEOUT"  # seconds a collective may wait; default 1800


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a data-parallel run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when there are other ranks to talk to."""
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes checkpoints, model folders and reports."""
        return self.rank == 0


def launched() -> bool:
    """True when torchrun (or an equivalent launcher) started this process."""
    return all(v in os.environ for v in ENV_VARS)


def world() -> World:
    """The current process group as a `World`; rank 0 of 1 when there is none."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(
        dist.get_rank(),
        dist.get_world_size(),
        int(os.environ.get("LOCAL_RANK", "0")),
    )


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join torchrun's process group when launched by it; return (world, device).

    gloo on the CPU, NCCL on CUDA; a CUDA device becomes ``cuda:LOCAL_RANK``.
    Called again, or alone, it changes nothing.
    """
    import torch.distributed as dist

    if not launched() or int(os.environ["WORLD_SIZE"]) < 2:
        return world(), device
    local = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        stop_with_launcher()
        backend = "nccl" if device.type == "cuda" else "gloo"
        seconds = float(os.environ.get(TIMEOUT_ENV, "1800"))
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=seconds))
        atexit.register(shutdown)
    return world(), device


def stop_with_launcher() -> None:
    """Ask Linux for SIGTERM when torchrun's agent, this rank's parent, dies.

    A rank outlives a launcher killed with SIGKILL: it keeps training and
    writing checkpoints and model files while a relaunch starts new ranks on
    the same folders. With this, the ranks get SIGTERM instead, which
    `aekit train` turns into a stop at the same step on every rank and a
    checkpoint of that point. Only for ranks whose parent is torchrun's agent
    (other launchers may exit normally while their ranks run); elsewhere, and
    off Linux, it does nothing.
    """
    if AGENT_ENV not in os.environ or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return  # not fatal: the rank only loses this safeguard
    if os.getppid() == 1:  # the agent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def shutdown() -> None:
    """Leave the process group (after a barrier), if this process is in one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def _comm_device() -> torch.device:
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def share(n: int, w: World) -> tuple[int, int]:
    """(start, count) of this rank's contiguous share of `n` rows.

    >>> [share(5, World(r, 2)) for r in range(2)]
    [(0, 3), (3, 2)]
    """
    base, extra = divmod(n, w.size)
    start = w.rank * base + min(w.rank, extra)
    return start, base + (1 if w.rank < extra else 0)


def local_batch(positions: torch.Tensor, w: World) -> tuple[torch.Tensor, float]:
    """This rank's share of a global batch and the weight of its loss.

    The weight ``count * world / len(positions)`` makes the average of the
    ranks' weighted losses the global batch's mean. A rank with no row gets
    one (so that its forward and backward still run) with weight 0.
    """
    if not w.enabled:
        return positions, 1.0
    start, count = share(len(positions), w)
    if count == 0:
        return positions[:1], 0.0
    return positions[start : start + count], count * w.size / len(positions)


def all_sum(values: Sequence[float], w: World) -> list[float]:
    """Sum `values` element-wise over the ranks (float64); alone, the values."""
    if not w.enabled:
        return list(values)
    import torch.distributed as dist

    t = torch.tensor(list(values), dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_max(values: Sequence[int], w: World) -> list[int]:
    """Element-wise maximum of integers over the ranks; alone, the values."""
    if not w.enabled:
        return list(values)
    import torch.distributed as dist

    t = torch.tensor(list(values), dtype=torch.int64, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [int(v) for v in t.tolist()]


def all_or(masks: dict[str, torch.Tensor], w: World) -> dict[str, torch.Tensor]:
    """Element-wise OR of boolean masks over the ranks (same keys and shapes on all)."""
    if not w.enabled or not masks:
        return masks
    import torch.distributed as dist

    names = sorted(masks)
    flat = torch.cat([masks[k].to(torch.uint8).flatten() for k in names])
    flat = flat.to(_comm_device())
    dist.all_reduce(flat, op=dist.ReduceOp.MAX)
    out, i = {}, 0
    for k in names:
        m = masks[k]
        out[k] = flat[i : i + m.numel()].view_as(m).to(m.device).bool()
        i += m.numel()
    return out


def broadcast_int(value: int, w: World) -> int:
    """Rank 0's `value` on every rank."""
    if not w.enabled:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.int64, device=_comm_device())
    dist.broadcast(t, src=0)
    return int(t.item())


def sync_generator(gen: torch.Generator | None, w: World) -> None:
    """Give every rank rank 0's state of `gen` (so a checkpoint holds all ranks')."""
    if gen is None or not w.enabled:
        return
    import torch.distributed as dist

    t = gen.get_state().to(_comm_device())
    dist.broadcast(t, src=0)
    gen.set_state(t.cpu())


class _Objective(nn.Module):
    """The family's objective as a module's forward, so DDP can wrap it."""

    def __init__(self, module: nn.Module, family: Family, loss: str) -> None:
        super().__init__()
        self.module, self.family, self.loss = module, family, loss

    def forward(
        self, xb: torch.Tensor, rng: torch.Generator | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.family.objective(self.module, xb, loss=self.loss, rng=rng)


Objective = Callable[
    [torch.Tensor, "torch.Generator | None"],
    tuple[torch.Tensor, dict[str, Any]],
]


def objective(module: nn.Module, family: Family, loss: str, w: World) -> Objective:
    """The training objective ``(xb, rng) -> (loss, parts)``.

    Alone, the family's objective itself; among ranks, the same wrapped in
    DistributedDataParallel, which averages the gradients during backward.
    """
    if not w.enabled:

        def plain(
            xb: torch.Tensor, rng: torch.Generator | None
        ) -> tuple[torch.Tensor, dict[str, Any]]:
            return family.objective(module, xb, loss=loss, rng=rng)

        return plain
    from torch.nn.parallel import DistributedDataParallel

    device = next(module.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    ddp = DistributedDataParallel(_Objective(module, family, loss), device_ids=ids)
    return ddp  # type: ignore[no-any-return]
