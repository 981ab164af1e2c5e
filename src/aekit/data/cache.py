"""A columnar cache: a large CSV/TSV or Parquet table, converted once to a float32 .npy.

Training visits every row many times in a shuffled order; a memory-mapped
float32 .npy serves that from the page cache, while a CSV must be parsed and a
Parquet file decoded. So `aekit train` and `aekit tune` convert a text or
Parquet table larger than `CACHE_ABOVE` bytes once, a block of rows at a time
(`iter_table`; memory stays that of one block), into
``aekit-cache/<name>-<key>/`` next to the output, and train on the map. The
key covers the file (path, size, modification time) and the columns chosen,
so a changed file or other options make a new cache, and an unchanged one is
reused. ``meta.json`` is written last: a cache without it is incomplete and
is made again. Delete the folder to reclaim the space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .read import check_input, iter_table
from .select import select_features
from .table import DELIMITERS, Features
from .write import TableWriter

CACHE_ABOVE = 64 * 2**20  # bytes on disk: a larger CSV/TSV/Parquet table is cached
CACHE_FOLDER = "aekit-cache"
BLOCK_VALUES = 2**22  # values converted at a time: 16 MB of float32
CACHED_SUFFIXES = (*DELIMITERS, ".parquet")


def wants_cache(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a CSV/TSV/Parquet table larger than CACHE_ABOVE bytes."""
    p = Path(path)
    return p.suffix.lower() in CACHED_SUFFIXES and p.stat().st_size > CACHE_ABOVE


def cached_features(
    path: str | os.PathLike[str],
    next_to: str | os.PathLike[str],
    *,
    label_column: str | None = None,
    exclude_columns: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> Features:
    """The features of `path` as a memory-mapped float32 array, converted once.

    The cache goes to ``aekit-cache/`` in the folder holding `next_to` (the
    output); `say` is told when a table is converted and when a cache is reused.
    The label column is left out of the features, not kept.

    Raises
    ------
    DataError
        As `select_features` would on the whole table, naming the same cell.
    """
    p = check_input(path)
    stat = p.stat()
    ident = {
        "source": str(p.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "label_column": label_column,
        "exclude_columns": list(exclude_columns),
    }
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(next_to).resolve().parent / CACHE_FOLDER / f"{p.stem}-{key}"
    meta_file = folder / "meta.json"
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text())
        say(f"reading {p.name} from its cache {folder} (made when it was converted)")
    else:
        meta = _convert(p, folder, ident, label_column, exclude_columns, say)
    X = np.load(folder / "features.npy", mmap_mode="r", allow_pickle=False)
    return Features(X=X, names=meta["names"], carried={})


def _convert(
    p: Path,
    folder: Path,
    ident: dict[str, object],
    label_column: str | None,
    exclude_columns: Sequence[str],
    say: Callable[[str], None],
) -> dict[str, object]:
    from ..io import write_atomic

    say(
        f"converting {p.name} ({p.stat().st_size / 2**20:,.0f} MiB) once to a float32 "
        f"cache in {folder}, a block at a time; later runs on the unchanged file "
        "reuse it"
    )
    with contextlib.closing(iter_table(p, 1)) as peek:
        rows = max(1, BLOCK_VALUES // max(1, len(next(peek).columns)))
    names: list[str] | None = None
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with TableWriter(folder / "features.npy") as w:
            for block in iter_table(p, rows):
                f = select_features(
                    block, label_column=label_column, exclude_columns=exclude_columns
                )
                names = f.names
                w.write_matrix(f.X)
    except BaseException:
        with contextlib.suppress(OSError):  # a bad cell: no empty cache left behind
            folder.rmdir()
            folder.parent.rmdir()
        raise
    meta = {**ident, "rows": w.rows, "names": names}
    write_atomic(folder / "meta.json", (json.dumps(meta, indent=2) + "\n").encode())
    return meta
