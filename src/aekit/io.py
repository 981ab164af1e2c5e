"""Model folders on disk: ``config.json`` + ``model.safetensors``, written atomically.

Loading never unpickles: tensors come from safetensors, everything else from
JSON. ``config.json`` records the SHA-256 of ``model.safetensors``, so a
truncated, bit-flipped or mismatched pair is refused with `ModelFormatError`.
Saves to the same folder from several processes are serialised by a lock
file, so the folder always ends as one complete model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .errors import ModelFormatError

FORMAT = "aekit-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LOCK_FILE = ".aekit.lock"
MAX_CONFIG_BYTES = 64 * 2**20  # a config beyond this is not ours


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder, fsync, rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        _chmod_like_open(fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _chmod_like_open(fd: int) -> None:
    """Give a mkstemp file (0600) the mode open() would have given: 0666 less umask."""
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
        return
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in `folder` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock on `folder` across processes (POSIX flock; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / LOCK_FILE, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def save_folder(
    folder: str | os.PathLike[str],
    config: dict[str, Any],
    tensors: dict[str, torch.Tensor],
) -> Path:
    """Write a model folder: weights first, then the config that vouches for them."""
    from safetensors.torch import save

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(
            f"{folder} exists and is not a folder; choose another path"
        )
    folder.mkdir(parents=True, exist_ok=True)
    blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **config,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
    }
    text = json.dumps(config, indent=2, allow_nan=False).encode()
    with folder_lock(folder):
        write_atomic(folder / WEIGHTS_FILE, blob)
        write_atomic(folder / CONFIG_FILE, text)
    return folder


def _read(path: Path, limit: int | None = None) -> bytes:
    if not path.exists():
        raise ModelFormatError(f"{path} is missing; is this an aekit model folder?")
    if not path.is_file():
        raise ModelFormatError(f"{path} is not a file")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1 if limit else -1)
    except OSError as e:
        raise ModelFormatError(f"{path} cannot be read: {e.strerror}") from None
    if limit is not None and len(data) > limit:
        raise ModelFormatError(
            f"{path} is larger than {limit} bytes; not an aekit config"
        )
    return data


def read_folder(
    folder: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check a model folder; return (config, tensors) or raise ModelFormatError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    from . import __version__

    folder = Path(folder)
    if not folder.exists():
        raise ModelFormatError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFormatError(
            f"{folder} is a file, not a model folder; pass the folder that holds "
            f"{CONFIG_FILE} and {WEIGHTS_FILE}"
        )
    cfg_path = folder / CONFIG_FILE
    raw = _read(cfg_path, MAX_CONFIG_BYTES)
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # e.g. too deep
        raise ModelFormatError(
            f"{cfg_path} is not valid JSON ({e}); the file is corrupted"
        ) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFormatError(
            f'{cfg_path} is not an aekit model config (no "format": "{FORMAT}"); '
            "was this folder written by another tool?"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFormatError(
            f"{cfg_path}: format_version must be an integer, got {version!r}"
        )
    if version > FORMAT_VERSION or version < 1:
        raise ModelFormatError(
            f"{cfg_path} has format version {version} (written by aekit "
            f"{config.get('aekit_version', '?')}); this aekit {__version__} reads format "
            f"{FORMAT_VERSION}: install a matching aekit version"
        )
    blob = _read(folder / WEIGHTS_FILE)
    if hashlib.sha256(blob).hexdigest() != config.get("weights_sha256"):
        raise ModelFormatError(
            f"{folder / WEIGHTS_FILE} does not match the checksum in {cfg_path}: "
            "the file is truncated, corrupted or from another save; save the model again"
        )
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as e:
        raise ModelFormatError(
            f"{folder / WEIGHTS_FILE} is not a valid safetensors file: {e}"
        ) from None
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelFormatError(
                f"{folder / WEIGHTS_FILE}: tensor {name!r} holds NaN or infinite "
                "values; the file is corrupted"
            )
    return config, tensors
