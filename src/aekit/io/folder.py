"""Model folders: ``config.json`` + ``model.safetensors``, written whole, read checked.

Loading never unpickles: tensors come from safetensors, everything else from
JSON. ``config.json`` records the size and SHA-256 of ``model.safetensors``, so
a truncated, bit-flipped or mismatched pair is refused with `ModelFormatError`
(the size before anything is read, the hash while the file streams in).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelFormatError
from ..version import __version__
from .atomic import write_folder_atomic
from .layout import CONFIG_FILE, FORMAT, FORMAT_VERSION, MAX_CONFIG_BYTES, WEIGHTS_FILE
from .read import read_checked, read_config


def model_target(folder: str | os.PathLike[str]) -> Path:
    """The folder a model saved to `folder` goes to, or FileExistsError saying why not.

    A symlink to a folder is followed; a dangling symlink, a symlink loop and a
    file are refused, before any work.
    """
    folder = Path(folder)
    if folder.is_symlink():
        try:
            resolved = folder.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling, or a loop
            raise FileExistsError(
                f"{folder} is a symlink that leads nowhere (dangling or a loop); "
                "remove it or choose another path"
            ) from None
        folder = resolved
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(
            f"{folder} exists and is not a folder; choose another path"
        )
    return folder


def save_folder(
    folder: str | os.PathLike[str],
    config: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a model folder whole: into a hidden sibling, then renamed into place.

    `extra_files` (name -> bytes) are written into the folder too. Other entries of a folder being replaced (a
    checkpoint folder, a report) are moved into the new one.
    """
    from safetensors.torch import save

    folder = model_target(folder)
    files = dict(extra_files or {})
    blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **config,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "weights_bytes": len(blob),
    }
    text = json.dumps(config, indent=2, allow_nan=False).encode()
    # the config last: it vouches for the weights
    write_folder_atomic(folder, {WEIGHTS_FILE: blob, **files, CONFIG_FILE: text})
    return folder


def read_folder(
    folder: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check a model folder; return (config, tensors) or raise ModelFormatError."""
    folder = Path(folder)
    if not folder.exists():
        raise ModelFormatError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFormatError(
            f"{folder} is a file, not a model folder; pass the folder that holds "
            f"{CONFIG_FILE} and {WEIGHTS_FILE}"
        )
    cfg_path = folder / CONFIG_FILE
    config = _read_config_json(cfg_path)
    blob = read_checked(
        folder / WEIGHTS_FILE,
        sha256=str(config.get("weights_sha256")),
        size=config.get("weights_bytes"),
        mismatch=f"{folder / WEIGHTS_FILE} does not match the checksum in "
        f"{cfg_path}: the file is truncated, corrupted or from another save; save "
        "the model again",
    )
    return config, _load_tensors(folder / WEIGHTS_FILE, blob)


def _read_config_json(cfg_path: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a model folder of a format this aekit reads."""
    raw = read_config(cfg_path, MAX_CONFIG_BYTES)
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
    return config


def _load_tensors(path: Path, blob: bytes) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors `blob` read from `path`, every float finite."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as e:
        raise ModelFormatError(f"{path} is not a valid safetensors file: {e}") from None
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelFormatError(
                f"{path}: tensor {name!r} holds NaN or infinite "
                "values; the file is corrupted"
            )
    return tensors
