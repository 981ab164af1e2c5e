"""Writing tables (.npy, .csv/.tsv, .parquet) whole or a block at a time, or not at all.

`TableWriter` appends blocks of columns to a temporary file next to the
target, which is renamed when the writer closes without an error, so a failed
or interrupted write never leaves a partial file; `write_table` writes one
block. A .npy's header is written last, over room kept for it at the start,
so its row count need not be known in advance.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .table import DELIMITERS, OUTPUT_SUFFIXES, import_pyarrow, short


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
        import_pyarrow()
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
    carried = carried or {}
    p = check_output(path, carried=bool(carried))
    columns = join_columns(carried, {n: X[:, i] for i, n in enumerate(names)})
    with TableWriter(p) as w:
        if p.suffix.lower() == ".npy":  # the matrix as it is, whatever its columns
            w.write_matrix(X)
        else:
            w.write(columns)


def join_columns(
    carried: dict[str, np.ndarray], columns: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The carried columns, then `columns`; a DataError if a name is in both."""
    clash = sorted(set(carried) & set(columns))
    if clash:
        raise DataError(f"carried column {clash[0]!r} has the name of an output column")
    return {**carried, **columns}


NPY_HEADER = 128  # bytes kept for a .npy header: any 2-D shape's fits


class TableWriter:
    """Write a table a block of columns at a time; it appears whole when closed.

    Use it as a context manager: `write` appends a block (a dict of equally
    long columns, the same names every time); leaving the block without an
    error renames the file into place, an exception removes it. A .npy holds
    one numeric matrix, its dtype that of the first block's columns together.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "z.npy"
    >>> with TableWriter(p) as w:
    ...     for i in range(3):
    ...         w.write({"a": np.arange(2.0) + i, "b": np.ones(2)})
    >>> np.load(p).shape
    (6, 2)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        self.rows = 0
        self.names: list[str] | None = None
        self._dtype: np.dtype[Any] | None = None
        self._width = 0
        self._sink: Any = None  # the pyarrow ParquetWriter, once the schema is known
        self._header = False  # CSV/TSV: the header line is written

    def __enter__(self) -> TableWriter:
        from ..io import atomic_open

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._opened = atomic_open(self.path)
        self._file = self._opened.__enter__()
        if self.suffix == ".npy":
            self._file.write(b" " * NPY_HEADER)  # the header goes here at the end
        elif self.suffix in DELIMITERS:
            self._text = io.TextIOWrapper(
                self._file, encoding="utf-8", newline="", write_through=True
            )
            self._csv = csv.writer(
                self._text, delimiter=DELIMITERS[self.suffix], lineterminator="\n"
            )
        return self

    def write(self, columns: dict[str, np.ndarray]) -> None:
        """Append a block: the same column names, in the same order, every time."""
        names = list(columns)
        if self.names is None:
            self.names = names
        elif names != self.names:
            raise ValueError(f"a block has columns {names}, expected {self.names}")
        if self.suffix == ".npy":
            n = len(next(iter(columns.values()))) if columns else 0
            block = (
                np.column_stack(list(columns.values()))
                if columns
                else np.empty((n, 0), np.float32)
            )
            self.write_matrix(block)
        elif self.suffix == ".parquet":
            self._write_parquet(columns)
        else:
            if not self._header:
                self._csv.writerow(names)
                self._header = True
            # float32 -> the shortest text that reads back
            cells = [_as_text(c) for c in columns.values()]
            self._csv.writerows(zip(*cells, strict=True))
            self.rows += len(cells[0]) if cells else 0

    def write_matrix(self, X: np.ndarray) -> None:
        """Append the rows of a 2-D array to a .npy."""
        assert self.suffix == ".npy"
        if self._dtype is None:
            self._dtype, self._width = X.dtype, X.shape[1]
        if X.shape[1] != self._width:
            raise ValueError(
                f"a block has {X.shape[1]} columns, expected {self._width}"
            )
        self._file.write(np.ascontiguousarray(X, dtype=self._dtype).tobytes())
        self.rows += len(X)

    def _write_parquet(self, columns: dict[str, np.ndarray]) -> None:
        pa = import_pyarrow()
        arrays = [_arrow_column(pa, self.path, n, c) for n, c in columns.items()]
        if self._sink is None:
            batch = pa.record_batch(arrays, names=list(columns))
            self._sink = pa.parquet.ParquetWriter(self._file, batch.schema)
        else:
            schema = self._sink.schema
            try:
                batch = pa.record_batch(arrays, names=list(columns)).cast(schema)
            except (pa.ArrowException, TypeError, ValueError) as e:
                raise DataError(
                    f"a block of {self.path.name} does not have the types of the "
                    f"first ({short(str(e), 120)}); write .csv or .tsv instead"
                ) from None
        self._sink.write_batch(batch)
        self.rows += batch.num_rows

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        try:
            if error is None:
                self._finish()
        except BaseException as e:
            self._abandon()
            self._opened.__exit__(type(e), e, e.__traceback__)
            raise
        if error is not None:
            self._abandon()
        self._opened.__exit__(kind, error, tb)

    def _abandon(self) -> None:
        """Let go of the Parquet writer before its file is removed."""
        if self._sink is not None:
            with contextlib.suppress(Exception):
                self._sink.close()
            self._sink = None

    def _finish(self) -> None:
        if self.suffix == ".npy":
            dtype = self._dtype if self._dtype is not None else np.dtype(np.float32)
            header = _npy_header(dtype, (self.rows, self._width))
            self._file.seek(0)
            self._file.write(header)
            self._file.seek(0, os.SEEK_END)
        elif self.suffix == ".parquet":
            if self._sink is None:  # no block: an empty table of no columns
                pa = import_pyarrow()
                self._sink = pa.parquet.ParquetWriter(self._file, pa.schema([]))
            self._sink.close()
        else:
            if not self._header:
                self._csv.writerow(self.names or [])
            self._text.flush()
            self._text.detach()


def _npy_header(dtype: np.dtype[Any], shape: tuple[int, int]) -> bytes:
    """A version 1.0 .npy header of exactly NPY_HEADER bytes."""
    descr = np.lib.format.dtype_to_descr(dtype)
    text = repr({"descr": descr, "fortran_order": False, "shape": shape})
    size = NPY_HEADER - len(np.lib.format.MAGIC_PREFIX) - 4  # version, length
    body = text.encode("latin1").ljust(size - 1) + b"\n"  # padded as numpy pads
    assert len(body) == size, shape
    return np.lib.format.magic(1, 0) + len(body).to_bytes(2, "little") + body


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
            f"({short(str(e), 120)}); write .csv or .tsv, or leave it out of "
            "--carry-columns"
        ) from None
