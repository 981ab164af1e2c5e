"""Checkpoints on disk: folder names, the atomic commit, pruning, listing, reading.

A checkpoint directory holds one folder per saved point::

    DIR/ckpt-000012/           12 epochs done
    DIR/ckpt-000012-000034/    34 steps into epoch 13 (written on an interrupt)
        state.safetensors      weights, best weights, Adam state, RNG states, scaling
        state.json             everything else, and the SHA-256 of state.safetensors

Both files are written into a hidden temporary folder, flushed to disk, and
only then is that folder renamed to its final name (the commit). A save killed
at any moment leaves at most a hidden ``.tmp-*`` folder, which loading ignores
and the next save removes; a folder named ``ckpt-*`` is always complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelFormatError
from ..io import folder_lock, fsync_dir
from ..train import TrainState
from .state import (
    FORMAT,
    FORMAT_VERSION,
    Checkpoint,
    decode_state,
    encode_state,
    is_count,
    require,
)

STATE_FILE = "state.json"
TENSORS_FILE = "state.safetensors"
MAX_STATE_BYTES = 256 * 2**20  # a state.json beyond this is not ours
_NAME = re.compile(r"^ckpt-(\d{6,})(?:-(\d{6,}))?$")
_TMP_PREFIX = ".tmp-ckpt-"
_TRASH_PREFIX = ".trash-ckpt-"


# -- writing -----------------------------------------------------------------


def checkpoint_name(epoch: int, step: int) -> str:
    """Folder name of the point `step` batches into the epoch after `epoch`."""
    return f"ckpt-{epoch:06d}" if step == 0 else f"ckpt-{epoch:06d}-{step:06d}"


def _write_file(path: Path, data: bytes) -> None:
    """Write and fsync one file of a checkpoint that is not committed yet."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(
    directory: str | os.PathLike[str],
    state: TrainState,
    meta: dict[str, Any] | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
    keep_last: int | None = None,
) -> Path:
    """Write `state` as a new checkpoint folder in `directory`; return its path.

    `meta` (JSON values, e.g. the estimator's parameters) and `tensors` (e.g.
    the scaling) are stored alongside and come back from `load_checkpoint`.
    Afterwards only the newest `keep_last` checkpoints are kept (None: all).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    blob, text = encode_state(state, meta, tensors)
    name = checkpoint_name(state.epoch, state.step)
    with folder_lock(directory):
        _remove_debris(directory)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=directory))
        _write_file(tmp / TENSORS_FILE, blob)
        _write_file(tmp / STATE_FILE, text)  # last: it vouches for the tensors
        fsync_dir(tmp)
        final = directory / name
        if final.exists():  # the same point saved again (e.g. after a replay)
            _discard(final)
        os.rename(tmp, final)  # the commit
        fsync_dir(directory)
        if keep_last is not None:
            for old in list_checkpoints(directory)[:-keep_last]:
                _discard(old)
    return final


def _discard(folder: Path) -> None:
    """Retire a checkpoint: one atomic rename out of sight, then delete."""
    trash = Path(tempfile.mkdtemp(prefix=_TRASH_PREFIX, dir=folder.parent))
    os.rename(folder, trash / folder.name)
    fsync_dir(folder.parent)
    shutil.rmtree(trash, ignore_errors=True)


def _remove_debris(directory: Path) -> None:
    """Delete what killed saves left behind (callers hold the folder lock)."""
    for p in directory.iterdir():
        if p.name.startswith((_TMP_PREFIX, _TRASH_PREFIX)):
            shutil.rmtree(p, ignore_errors=True)


# -- reading -----------------------------------------------------------------


def _point(folder: Path) -> tuple[int, int] | None:
    m = _NAME.match(folder.name)
    return None if m is None else (int(m.group(1)), int(m.group(2) or 0))


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """Committed checkpoint folders in `directory`, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        point = _point(p)
        if point is not None and p.is_dir():
            found.append((point, p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest committed checkpoint folder in `directory`, or None."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def _read_one(folder: Path) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.torch import load

    from ..io import read_checked

    raw = read_checked(
        folder / STATE_FILE, limit=MAX_STATE_BYTES, what="an aekit config"
    )
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFormatError(
            f"checkpoint {folder}: {STATE_FILE} is not valid JSON ({e})"
        ) from None
    require(
        isinstance(doc, dict) and doc.get("format") == FORMAT,
        folder,
        f"{STATE_FILE} is not an aekit checkpoint",
    )
    version = doc.get("format_version")
    if not is_count(version) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFormatError(
            f"checkpoint {folder} has format version {version!r} (written by aekit "
            f"{doc.get('aekit_version', '?')}); this aekit reads version "
            f"{FORMAT_VERSION}: resume with the aekit version that wrote it"
        )
    blob = read_checked(
        folder / TENSORS_FILE,
        sha256=str(doc.get("tensors_sha256")),
        size=doc.get("tensors_bytes"),
        mismatch=f"checkpoint {folder} is corrupted: {TENSORS_FILE} does not match "
        f"the checksum in {STATE_FILE}",
    )
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as e:
        raise ModelFormatError(
            f"checkpoint {folder}: {TENSORS_FILE} is unreadable: {e}"
        ) from None
    return decode_state(folder, doc, tensors)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint: a ``ckpt-*`` folder, or the newest good one in a directory.

    When the newest checkpoint of a directory cannot be read (damaged on disk
    after it was written), the next older one is used, with a warning.

    Raises
    ------
    ModelFormatError
        No readable checkpoint is there.
    """
    path = Path(path)
    if (path / STATE_FILE).exists() or _point(path) is not None:
        return _read_one(path)
    if not path.is_dir():
        raise ModelFormatError(f"checkpoint directory {path} does not exist")
    problems = []
    for folder in reversed(list_checkpoints(path)):
        try:
            ckpt = _read_one(folder)
        except ModelFormatError as e:
            problems.append(str(e))
            continue
        for p in problems:
            warnings.warn(f"{p}; resuming from the older {folder.name}", stacklevel=2)
        return ckpt
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise ModelFormatError(
        f"no complete checkpoint in {path}{detail}; start a new fit without resume_from"
    )
