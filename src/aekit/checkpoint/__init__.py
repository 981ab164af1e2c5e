"""Checkpoints of a training run: saved at epoch boundaries, resumed bit for bit.

One folder per saved point, committed by an atomic rename, so a folder named
``ckpt-*`` is always complete (the layout is described in `store`).
Nothing is unpickled: tensors come from safetensors, the rest from JSON.

The modules: `state` (a TrainState as tensors and JSON, and back), `store`
(folders on disk: the atomic commit, pruning, listing, reading), `callback`
(saving while training runs), `signals` (StopOnSignal), `resume` (what
`AutoEncoder.fit` checks and restores when it resumes).
"""

from __future__ import annotations

from ..params import RESUME_MAY_CHANGE
from .callback import CheckpointCallback
from .resume import (
    check_resume,
    data_fingerprint,
    divergence_note,
    fit_meta,
    raise_if_interrupted,
    resume_state,
    stored_scaling,
)
from .signals import StopOnSignal
from .state import FORMAT, FORMAT_VERSION, Checkpoint, decode_state, encode_state
from .store import (
    MAX_STATE_BYTES,
    STATE_FILE,
    TENSORS_FILE,
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_STATE_BYTES",
    "RESUME_MAY_CHANGE",
    "STATE_FILE",
    "TENSORS_FILE",
    "Checkpoint",
    "CheckpointCallback",
    "StopOnSignal",
    "check_resume",
    "checkpoint_name",
    "data_fingerprint",
    "decode_state",
    "divergence_note",
    "encode_state",
    "fit_meta",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "raise_if_interrupted",
    "resume_state",
    "save_checkpoint",
    "stored_scaling",
]
