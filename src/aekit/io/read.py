"""Reading what we wrote, checked: its size before reading, its SHA-256 while streaming.

The one reader of model folders and checkpoints; anything else refuses with
`ModelFormatError` saying what is wrong with the file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError

CHUNK = 2**20  # bytes hashed at a time


def read_config(path: Path, limit: int | None = None) -> bytes:
    """A whole small file (a config), refused beyond `limit` bytes."""
    return read_checked(path, limit=limit, what="an aekit config")


def read_checked(
    path: Path,
    *,
    sha256: Any = None,
    size: Any = None,
    limit: int | None = None,
    mismatch: str = "",
    what: str = "ours",
) -> bytes:
    """Read `path`, checking its size before reading and its SHA-256 while streaming.

    The one reader of model folders and checkpoints. With `sha256`, the file is
    hashed in chunks first and read only if it matches, so a huge or sparse
    file costs no memory; with `size` (bytes recorded at save), a file of
    another size is refused before reading. Either mismatch raises
    ModelFormatError(`mismatch`); a file over `limit` bytes is not `what`.
    """
    if not path.exists():
        raise ModelFormatError(f"{path} is missing; is this an aekit model folder?")
    if not path.is_file():
        raise ModelFormatError(f"{path} is not a file")
    try:
        with open(path, "rb") as f:
            actual = os.fstat(f.fileno()).st_size
            if limit is not None and actual > limit:
                raise ModelFormatError(
                    f"{path} is larger than {limit} bytes; not {what}"
                )
            if sha256 is not None:
                if _is_size(size) and actual != size:
                    raise ModelFormatError(
                        f"{mismatch} ({path} holds {actual} bytes, {size} were saved)"
                    )
                digest = hashlib.sha256()
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    digest.update(chunk)
                if digest.hexdigest() != sha256:
                    raise ModelFormatError(mismatch)
                f.seek(0)
            data = f.read() if limit is None else f.read(limit + 1)
    except OSError as e:
        raise ModelFormatError(f"{path} cannot be read: {e.strerror}") from None
    if limit is not None and len(data) > limit:  # grew, or not a regular file
        raise ModelFormatError(f"{path} is larger than {limit} bytes; not {what}")
    return data


def _is_size(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0
