"""Writing tables (.npy, .csv/.tsv, .parquet) whole, or not at all.

The output goes to a temporary file next to the target, which is then renamed,
so a failed write never leaves a partial file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .table import _DELIMITERS, OUTPUT_SUFFIXES, _pyarrow, _short


def check_output(
    path: str | os.PathLike[str],
    *,
    carried: bool = False,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Return `path` as a Path if a table can be written there (checked before work).

    `inputs` are the files (or folders, meaning every file in them) the command
    reads: writing over one of them is refused.
    """
    p = Path(path)
    for source in inputs:
        if _overwrites(p, Path(source)):
            raise DataError(
                f"-o {p} would overwrite the input {source}; write the output to "
                "another file"
            )
    if p.is_dir():
        raise DataError(f"{p} is a folder; give a file name such as {p / 'out.csv'}")
    suffix = p.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise DataError(
            f"{p} has an unknown extension {p.suffix or '(none)'!r}; aekit writes "
            f"{', '.join(OUTPUT_SUFFIXES)}"
        )
    if carried and suffix == ".npy":
        raise DataError(
            f"{p}: .npy holds numbers only, so carried columns cannot go there; "
            "write .csv, .tsv or .parquet"
        )
    if suffix == ".parquet":
        _pyarrow()
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(f"cannot write {p}: {parent} is a file, not a folder")
            break
    return p


def _overwrites(out: Path, source: Path) -> bool:
    """Whether writing `out` replaces `source`, or a model file in folder `source`."""
    from ..io import MODEL_FILES

    if not out.exists():
        return False
    if source.is_dir():
        return out.name in MODEL_FILES and out.parent.resolve() == source.resolve()
    try:
        return out.samefile(source)
    except OSError:
        return False


def write_table(
    path: str | os.PathLike[str],
    X: np.ndarray,
    names: Sequence[str],
    carried: dict[str, np.ndarray] | None = None,
) -> None:
    """Write columns `names` of X, after any `carried` columns, to `path` at once.

    The format follows the extension (.npy, .csv, .tsv, .parquet); rows keep their
    order. The file appears complete or not at all; missing folders are created.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "z.csv"
    >>> write_table(p, np.array([[0.5, 1.0]], np.float32), ["z0", "z1"],
    ...             {"id": np.array(["a"])})
    >>> p.read_text().splitlines()
    ['id,z0,z1', 'a,0.5,1.0']
    """
    from ..io import write_atomic

    carried = carried or {}
    p = check_output(path, carried=bool(carried))
    clash = sorted(set(carried) & set(names))
    if clash:
        raise DataError(f"carried column {clash[0]!r} has the name of an output column")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, X)
        blob = buf.getvalue()
    elif suffix == ".parquet":
        pa = _pyarrow()
        cols = {n: _arrow_column(pa, p, n, c) for n, c in carried.items()}
        cols.update({n: pa.array(X[:, i]) for i, n in enumerate(names)})
        sink = pa.BufferOutputStream()
        pa.parquet.write_table(pa.table(cols), sink)
        blob = sink.getvalue().to_pybytes()
    else:
        text = io.StringIO(newline="")
        writer = csv.writer(text, delimiter=_DELIMITERS[suffix], lineterminator="\n")
        writer.writerow([*carried, *names])
        cells = [_as_text(c) for c in carried.values()]
        cells += list(X.T.astype(str))  # float32 -> the shortest text that reads back
        writer.writerows(zip(*cells, strict=True))
        blob = text.getvalue().encode("utf-8")
    p.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(p, blob)


def _as_text(col: np.ndarray) -> np.ndarray:
    if col.dtype.kind == "O":
        return np.array(["" if v is None else str(v) for v in col])
    return col.astype(str)


def _arrow_column(pa: Any, p: Path, name: str, col: np.ndarray) -> Any:
    """A carried column for Parquet, or a DataError naming it (e.g. a map column)."""
    try:
        return pa.array(col)
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise DataError(
            f"carried column {name!r} cannot be written to {p.name} as Parquet "
            f"({_short(str(e), 120)}); write .csv or .tsv, or leave it out of "
            "--carry-columns"
        ) from None
