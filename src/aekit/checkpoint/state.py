"""What a checkpoint holds: a TrainState as tensors and JSON, and back.

`encode_state` turns a TrainState (and the caller's meta and tensors) into the
two files of a checkpoint; `decode_state` checks what was read and gives a
`Checkpoint`, whose `train_state` loads it into a module and optimizer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ModelFormatError
from ..jsonable import jsonable
from ..train import TrainState, callback_states

FORMAT = "aekit-checkpoint"
FORMAT_VERSION = 1


def encode_state(
    state: TrainState,
    meta: dict[str, Any] | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
) -> tuple[bytes, bytes]:
    """The two files of a checkpoint of `state`: (state.safetensors, state.json).

    The tensors go to safetensors; everything else, with `meta` and the SHA-256
    of the tensors, to JSON. `tensors` are stored as ``extra.*``.
    """
    from safetensors.torch import save

    from ..version import __version__

    blobs: dict[str, torch.Tensor] = {}
    for k, v in state.module.state_dict().items():
        blobs[f"model.{k}"] = v
    for k, v in (state.best_weights or {}).items():
        blobs[f"best.{k}"] = v
    optim_tensors, groups = _optimizer_tensors(state.optimizer)
    blobs.update(optim_tensors)
    blobs["rng.generator"] = state.generator.get_state()
    if state.noise is not None:
        blobs["rng.noise"] = state.noise.get_state()
    if state.epoch_rng_state is not None:
        blobs["rng.epoch"] = state.epoch_rng_state
    for k, v in (tensors or {}).items():
        blobs[f"extra.{k}"] = v
    blob = save({k: v.detach().cpu().contiguous() for k, v in blobs.items()})
    config = getattr(state.module, "config", None)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "aekit_version": __version__,
        "meta": meta or {},
        "architecture": (
            jsonable(dataclasses.asdict(config))
            if dataclasses.is_dataclass(config) and not isinstance(config, type)
            else None
        ),
        "state": {
            "epoch": state.epoch,
            "step": state.step,
            "loss_sum": state.loss_sum,
            "part_sums": jsonable(state.part_sums),
            "history": jsonable(state.history),
            "best_loss": jsonable(state.best_loss),
            "best_epoch": state.best_epoch,
            "bad_epochs": state.bad_epochs,
            "warned_layers": list(state.warned_layers),
            "callbacks": jsonable(callback_states(state)),
        },
        "optimizer": {"param_groups": groups},
        "tensors_sha256": hashlib.sha256(blob).hexdigest(),
    }
    return blob, json.dumps(doc, indent=1, allow_nan=False).encode()


def _optimizer_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Adam's per-parameter tensors by name, and its param_groups as JSON values."""
    sd = optimizer.state_dict()
    tensors = {}
    for idx, per_param in sd["state"].items():
        for key, value in per_param.items():
            if not isinstance(value, torch.Tensor):  # pragma: no cover - not Adam
                value = torch.tensor(value)
            tensors[f"optim.{int(idx)}.{key}"] = value
    groups = []
    for g in sd["param_groups"]:
        group = {k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
        groups.append(group)
    return tensors, groups


@dataclass
class Checkpoint:
    """A loaded checkpoint: the estimator's settings and the pieces of a TrainState."""

    path: Path  # the ckpt-* folder read
    meta: dict[str, Any]  # what the writer stored, e.g. params, seed, data fingerprint
    architecture: dict[str, Any] | None  # the module's config as a dict
    epoch: int  # epochs completed
    step: int  # batches completed in the next epoch
    loss_sum: float
    part_sums: dict[str, float]
    history: list[dict[str, Any]]
    best_loss: float
    best_epoch: int
    bad_epochs: int
    warned_layers: list[str]
    model_state: dict[str, torch.Tensor]
    best_weights: dict[str, torch.Tensor] | None
    optimizer_state: dict[str, Any]  # in torch's Optimizer.state_dict() form
    generator_state: torch.Tensor
    noise_state: torch.Tensor | None
    epoch_rng_state: torch.Tensor | None
    tensors: dict[str, torch.Tensor]  # the `tensors` given to save_checkpoint
    # the callbacks' `state_dict`s by `state_key` (none in older checkpoints)
    callback_states: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The AutoEncoder parameters of the run (empty when not saved by one)."""
        params = self.meta.get("params")
        return dict(params) if isinstance(params, dict) else {}

    def train_state(
        self, module: nn.Module, optimizer: torch.optim.Optimizer, patience: int | None
    ) -> TrainState:
        """Load weights and optimizer state; return the TrainState to resume from."""
        device = next(module.parameters()).device
        try:
            module.load_state_dict(self.model_state)
            optimizer.load_state_dict(self.optimizer_state)
            generator = torch.Generator(device="cpu")
            generator.set_state(self.generator_state)
            noise = None
            if self.noise_state is not None:
                noise = torch.Generator(device=device)
                noise.set_state(self.noise_state.to("cpu"))
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
            raise ModelFormatError(
                f"checkpoint {self.path} does not fit the model being resumed: {e}"
            ) from None
        for group in optimizer.param_groups:
            for p in group["params"]:
                st = optimizer.state.get(p, {})
                if st and not all(
                    isinstance(st.get(k), torch.Tensor) and st[k].shape == p.shape
                    for k in ("exp_avg", "exp_avg_sq")
                ):
                    raise ModelFormatError(
                        f"checkpoint {self.path} is corrupted: the optimizer state of a "
                        f"parameter of shape {tuple(p.shape)} is incomplete"
                    )
        best = None
        if self.best_weights is not None:
            best = {k: v.to(device) for k, v in self.best_weights.items()}
        return TrainState(
            module=module,
            optimizer=optimizer,
            generator=generator,
            noise=noise,
            epoch=self.epoch,
            step=self.step,
            epoch_rng_state=self.epoch_rng_state,
            loss_sum=self.loss_sum,
            part_sums=dict(self.part_sums),
            history=self.history,
            best_loss=self.best_loss,
            best_epoch=self.best_epoch,
            best_weights=best,
            bad_epochs=self.bad_epochs,
            warned_layers=self.warned_layers,
            callback_states={k: dict(v) for k, v in self.callback_states.items()},
            stopped_early=self.step == 0
            and patience is not None
            and self.bad_epochs >= patience,
        )


def decode_state(
    folder: Path, doc: Any, tensors: dict[str, torch.Tensor]
) -> Checkpoint:
    """The Checkpoint that the parsed state.json `doc` and its `tensors` describe.

    Raises ModelFormatError naming `folder` when a field is missing or malformed.
    """
    s, meta, arch = doc.get("state"), doc.get("meta"), doc.get("architecture")
    opt = doc.get("optimizer")
    require(isinstance(s, dict) and isinstance(meta, dict), folder, "no state or meta")
    require(arch is None or isinstance(arch, dict), folder, "architecture is not a dict")
    require(
        isinstance(opt, dict) and isinstance(opt.get("param_groups"), list),
        folder,
        "no optimizer param_groups",
    )
    _check_counters(folder, s)
    groups = _tensor_groups(folder, tensors)
    best_loss = s.get("best_loss")
    return Checkpoint(
        path=folder,
        meta=meta,
        architecture=arch,
        epoch=s["epoch"],
        step=s["step"],
        loss_sum=float(s["loss_sum"]),
        part_sums={str(k): float(v) for k, v in (s.get("part_sums") or {}).items()},
        history=s["history"],
        best_loss=math.inf if best_loss is None else float(best_loss),
        best_epoch=s["best_epoch"],
        bad_epochs=s["bad_epochs"],
        warned_layers=s["warned_layers"],
        model_state=groups["model"],
        best_weights=groups["best"] or None,
        optimizer_state={
            "state": _optimizer_state(folder, groups["optim"]),
            "param_groups": _param_groups(folder, opt["param_groups"]),
        },
        generator_state=groups["rng"]["generator"],
        noise_state=groups["rng"].get("noise"),
        epoch_rng_state=groups["rng"].get("epoch"),
        tensors=groups["extra"],
        callback_states=s.get("callbacks") or {},
    )


def _check_counters(folder: Path, s: dict[str, Any]) -> None:
    """Refuse a "state" section whose counters, sums or lists are malformed."""
    for key in ("epoch", "step", "best_epoch", "bad_epochs"):
        require(is_count(s.get(key)), folder, f"{key} is not a count")
    loss_sum, best_loss = s.get("loss_sum"), s.get("best_loss")
    require(
        isinstance(loss_sum, (int, float)) and not isinstance(loss_sum, bool),
        folder,
        "loss_sum is not a number",
    )
    require(
        best_loss is None or isinstance(best_loss, (int, float)),
        folder,
        "best_loss is not a number",
    )
    part_sums = s.get("part_sums") or {}
    require(
        isinstance(part_sums, dict)
        and all(isinstance(v, (int, float)) for v in part_sums.values()),
        folder,
        "part_sums is not a mapping of numbers",
    )
    history, warned = s.get("history"), s.get("warned_layers")
    require(
        isinstance(history, list) and all(isinstance(h, dict) for h in history),
        folder,
        "history is not a list of records",
    )
    require(
        isinstance(warned, list) and all(isinstance(w, str) for w in warned),
        folder,
        "warned_layers is not a list of names",
    )
    states = s.get("callbacks") or {}
    require(
        isinstance(states, dict) and all(isinstance(v, dict) for v in states.values()),
        folder,
        "callbacks is not a mapping of callback states",
    )


def _tensor_groups(
    folder: Path, tensors: dict[str, torch.Tensor]
) -> dict[str, dict[str, torch.Tensor]]:
    """The tensors by prefix (model, best, optim, extra, rng), prefix removed."""
    require("rng.generator" in tensors, folder, "the random generator state is missing")
    groups: dict[str, dict[str, torch.Tensor]] = {
        "model": {},
        "best": {},
        "optim": {},
        "extra": {},
        "rng": {},
    }
    for name, t in tensors.items():
        prefix, _, rest = name.partition(".")
        require(prefix in groups and bool(rest), folder, f"unexpected tensor {name!r}")
        groups[prefix][rest] = t
    return groups


def _optimizer_state(
    folder: Path, optim: dict[str, torch.Tensor]
) -> dict[int, dict[str, torch.Tensor]]:
    """Adam's per-parameter state from its tensors named ``INDEX.KEY``."""
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in optim.items():
        idx, _, key = name.partition(".")
        require(idx.isdigit() and bool(key), folder, f"bad optimizer tensor {name!r}")
        per_param.setdefault(int(idx), {})[key] = t
    return per_param


def _param_groups(folder: Path, groups: list[Any]) -> list[dict[str, Any]]:
    """The optimizer's param_groups from JSON (betas back to a tuple)."""
    param_groups = []
    for g in groups:
        require(
            isinstance(g, dict) and isinstance(g.get("params"), list),
            folder,
            "bad optimizer param_group",
        )
        param_groups.append(
            {
                k: tuple(v) if k == "betas" and isinstance(v, list) else v
                for k, v in g.items()
            }
        )
    return param_groups


def require(cond: bool, path: Path, what: str) -> None:
    """Raise ModelFormatError saying checkpoint `path` is corrupted unless `cond`."""
    if not cond:
        raise ModelFormatError(f"checkpoint {path} is corrupted: {what}")


def is_count(v: Any) -> bool:
    """True for an int >= 0 (not a bool): an epoch, step or version number."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0
