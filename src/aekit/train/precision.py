"""precision="auto": bf16 where a short probe shows it faster for this network, else fp32.

`choose_precision` decides for one network, batch size and device:

- on a device without bf16 arithmetic of its own (a CPU lacking the flags of
  `aekit.devices.BF16_FLAGS`, a GPU that is not bf16-capable), fp32 at once:
  bf16 there is emulated and slower;
- else from an earlier probe of the same network shapes, batch size, loss and
  device, cached in ``precision.json`` of the user's cache folder
  (`cache_dir`), so that the same seeded fit makes the same choice again;
- else it probes (`aekit.train.timing.time_steps`, a few interleaved steps in
  each precision on a copy of the module) and keeps bf16 only when its step
  is at most `BF16_MARGIN` of fp32's, then caches the answer.

The choice and its reason are what the fitted model records and `verbose`
prints. The probe leaves the module and every RNG as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.rows import ScaledRows
from ..devices import BF16_FLAGS, device_identity, has_bf16_units
from ..families.base import Family
from ..io.atomic import write_atomic
from .config import TrainConfig
from .timing import time_steps

AUTO_PRECISION = "auto"
BF16_MARGIN = 0.9  # bf16 is chosen when its step takes at most this share of fp32's
PROBE_STEPS = 3  # timed steps per precision (after PROBE_WARMUP untimed ones)
PROBE_WARMUP = 2
PROBE_SECONDS = 0.1  # ... and more, up to PROBE_MAX_STEPS, until they add up to this
PROBE_MAX_STEPS = 30
CACHE_FILE = "precision.json"
CACHE_ENV = "AEKIT_CACHE_DIR"  # overrides the cache folder; "" turns the cache off
MAX_CACHE_ENTRIES = 1000  # the oldest are dropped beyond this


@dataclass
class PrecisionChoice:
    """The precision training uses, why, and what was measured to decide it."""

    precision: str  # "fp32" or "bf16"
    reason: str  # one line, for verbose and the model's record
    source: str  # "given", "device", "cache" or "probe"
    step_seconds: dict[str, float] = field(default_factory=dict)  # per precision
    probe_seconds: float = 0.0  # what deciding cost, copies and warm-up included

    def to_dict(self) -> dict[str, Any]:
        """The record kept with a fitted model."""
        return {
            "precision": self.precision,
            "reason": self.reason,
            "source": self.source,
            "step_seconds": dict(self.step_seconds),
            "probe_seconds": self.probe_seconds,
        }


def cache_dir() -> Path | None:
    """The folder of aekit's measured decisions; None when caching is turned off.

    ``$AEKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/aekit``, else ``~/.cache/aekit``.
    """
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return Path(given) if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "aekit"


def choose_precision(
    precision: str,
    family: Family,
    config: Any,
    rows: ScaledRows,
    cfg: TrainConfig,
    seed: int = 0,
) -> PrecisionChoice:
    """The precision to train `family`'s network of `config` on `rows` in.

    "fp32" and "bf16" are kept as given; "auto" is decided as the module says.
    `cfg` gives the batch size, the loss and Adam's settings of the probe's
    steps; the probe's network is built from `seed` on the rows' device and
    freed before this returns.
    """
    if precision != AUTO_PRECISION:
        return PrecisionChoice(precision, f"precision={precision!r} as given", "given")
    device = rows.device
    if not has_bf16_units(device):
        what = (
            "this GPU is not bf16-capable"
            if device.type == "cuda"
            else f"this CPU has no bf16 instructions (none of {', '.join(BF16_FLAGS)})"
        )
        return PrecisionChoice(
            "fp32", f"precision='auto' chose fp32: {what}, so bf16 would be emulated",
            "device",
        )  # fmt: skip
    with torch.device("meta"):  # shapes only, for the cache key
        shapes = family.build(config)
    key = _key(shapes, cfg, family, device)
    cached = _read_cache().get(key)
    if isinstance(cached, dict) and cached.get("precision") in ("fp32", "bf16"):
        steps = {p: float(cached[p]) for p in ("fp32", "bf16") if p in cached}
        return PrecisionChoice(
            cached["precision"],
            _reason(cached["precision"], steps, "an earlier probe on this machine"),
            "cache",
            steps,
        )
    t = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        module = family.build(config).to(device)
    times = time_steps(
        module, rows, cfg, family, ("fp32", "bf16"),
        steps=PROBE_STEPS, warmup=PROBE_WARMUP, min_seconds=PROBE_SECONDS,
        max_steps=PROBE_MAX_STEPS,
    )  # fmt: skip
    del module
    steps = times.seconds
    picked = "bf16" if steps["bf16"] <= BF16_MARGIN * steps["fp32"] else "fp32"
    _write_cache(key, {"precision": picked, **steps})
    what = f"a probe of {times.steps} steps of {times.batch_rows} rows"
    return PrecisionChoice(
        picked, _reason(picked, steps, what), "probe", steps, time.perf_counter() - t
    )


def _reason(picked: str, steps: dict[str, float], what: str) -> str:
    ratio = steps["bf16"] / steps["fp32"] if steps.get("fp32") else float("nan")
    rule = (
        "faster"
        if picked == "bf16"
        else f"not faster (bf16 is chosen at {BF16_MARGIN:.2f}x or less)"
    )
    return (
        f"precision='auto' chose {picked}: {what} timed a bf16 step at "
        f"{steps.get('bf16', float('nan')) * 1e3:.3g} ms against "
        f"{steps.get('fp32', float('nan')) * 1e3:.3g} ms in fp32 ({ratio:.2f}x): "
        f"{rule}"
    )


def _key(
    module: nn.Module, cfg: TrainConfig, family: Family, device: torch.device
) -> str:
    """The cache key: device, torch, family, parameter shapes, batch size, loss."""
    shapes = [
        [name, list(p.shape), bool(p.requires_grad)]
        for name, p in module.named_parameters()
    ]
    what = {
        "device": device_identity(device),
        "family": family.name,
        "parameters": shapes,
        "batch_size": int(cfg.batch_size),
        "loss": cfg.loss,
    }
    text = json.dumps(what, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _read_cache() -> dict[str, Any]:
    """The cached decisions; empty when there is no cache or it cannot be read."""
    folder = cache_dir()
    if folder is None:
        return {}
    try:
        doc = json.loads((folder / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _write_cache(key: str, entry: dict[str, Any]) -> None:
    """Add one decision to the cache, atomically; a cache that cannot be written is skipped."""
    folder = cache_dir()
    if folder is None:
        return
    doc = _read_cache()
    doc.pop(key, None)
    doc[key] = entry
    while len(doc) > MAX_CACHE_ENTRIES:
        doc.pop(next(iter(doc)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / CACHE_FILE, (json.dumps(doc, indent=1) + "\n").encode())
    except OSError:
        pass
