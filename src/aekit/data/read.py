"""Reading tables: .npy, .npz, .csv/.tsv with a header (standard library), .parquet.

pyarrow is imported only for .parquet; pandas is never needed.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
import zipfile
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import DataError
from .table import (
    DELIMITERS,
    NUMERIC_KINDS,
    TABLE_SUFFIXES,
    Table,
    import_pyarrow,
    short,
    suggest,
)


def check_input(path: str | os.PathLike[str]) -> Path:
    """Return `path` as a Path if it names an existing file of a known table format."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p} does not exist")
    if p.is_dir():
        raise DataError(
            f"{p} is a folder; pass a data file ({', '.join(TABLE_SUFFIXES)})"
        )
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(
            f"{p} has an unknown extension {p.suffix or '(none)'!r}; aekit reads "
            f"{', '.join(TABLE_SUFFIXES)}"
        )
    if not os.access(p, os.R_OK):
        raise DataError(f"{p} cannot be read: permission denied")
    return p


def read_table(path: str | os.PathLike[str], *, key: str | None = None) -> Table:
    """Read a table from ..npy, .npz (array `key`), .csv/.tsv with a header, or .parquet.

    Parameters
    ----------
    path : str or PathLike
        The file; its extension picks the format.
    key : str, optional
        The array to read from an .npz holding several.

    Raises
    ------
    DataError
        The file is missing, a folder, of an unknown format, unreadable or empty.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n1,2\\n3,4\\n")
    >>> t = read_table(p)
    >>> t.names, t.n_rows
    (['a', 'b'], 2)
    """
    p = check_input(path)
    suffix = p.suffix.lower()
    if key is not None and suffix != ".npz":
        raise DataError(f"--key only applies to .npz files, not to {p.name}")
    try:
        if suffix in DELIMITERS:
            table = _read_csv(p, DELIMITERS[suffix])
        elif suffix == ".parquet":
            table = _read_parquet(p)
        else:
            table = _from_array(p, _load_array(p, key))
    except OSError as e:
        raise DataError(f"{p} cannot be read: {e.strerror or e}") from None
    if not table.columns:
        raise DataError(f"{p} has no columns")
    if table.n_rows == 0:
        raise DataError(f"{p} has no data rows")
    return table


def iter_table(
    path: str | os.PathLike[str], rows: int, *, key: str | None = None
) -> Generator[Table, None, None]:
    """The table at `path`, at most `rows` rows at a time, in file order.

    Blocks hold `rows` rows but the last, except a Parquet file's, which also
    end where its row groups end.

    A CSV/TSV is parsed and a Parquet file read (by record batches) a block at a
    time, and a .npy is memory-mapped, so a table larger than memory streams;
    an .npz array is read whole. Each block is a `Table` whose `where` names
    rows of the whole file. The checks are those of `read_table`: a file with
    no columns or no data rows raises `DataError` before any block is given.
    """
    p = check_input(path)
    suffix = p.suffix.lower()
    if key is not None and suffix != ".npz":
        raise DataError(f"--key only applies to .npz files, not to {p.name}")
    if suffix in DELIMITERS:
        blocks = _csv_blocks(p, DELIMITERS[suffix], rows)
    elif suffix == ".parquet":
        blocks = _parquet_blocks(p, rows)
    else:
        blocks = _array_blocks(read_table(p, key=key), rows)
    try:
        first = next(blocks)
        if not first.columns:
            raise DataError(f"{p} has no columns")
        if first.n_rows == 0:
            raise DataError(f"{p} has no data rows")
        yield first
        yield from blocks
    except OSError as e:
        raise DataError(f"{p} cannot be read: {e.strerror or e}") from None


def _array_blocks(table: Table, rows: int) -> Iterator[Table]:
    A = table.matrix
    assert A is not None
    for i in range(0, len(A), rows):
        block = A[i : i + rows]
        yield Table(table.source, None, list(block.T), matrix=block, offset=i)


def _load_array(p: Path, key: str | None) -> np.ndarray:
    with open(p, "rb") as f:
        magic = f.read(6)
    if magic[: 6 if p.suffix.lower() == ".npy" else 2] not in (b"\x93NUMPY", b"PK"):
        raise DataError(
            f"{p} is not a valid {p.suffix} file (its header is not {p.suffix}'s)"
        )
    try:
        if magic == b"\x93NUMPY":
            with open(p, "rb") as f:
                _check_npy(f, os.fstat(f.fileno()).st_size, str(p))
            # a memory map: the rows stay in the page cache, not in the process's
            # own memory, so a table larger than memory can be trained on
            return np.asarray(np.load(p, mmap_mode="r", allow_pickle=False))
        with zipfile.ZipFile(p) as z:
            return _read_npz_member(p, z, key)
    except DataError:
        raise
    except (EOFError, OSError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{p} is not a valid {p.suffix} file ({e})") from None


def _check_npy(f: IO[bytes], size: int, where: str) -> None:
    """Check the header of a .npy stream of `size` bytes against that size.

    A forged shape in the header would otherwise make numpy allocate the whole
    claimed array before finding the data missing. Pickled objects are refused.
    """
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = fmt.read_array_header_2_0(f)
    if dtype.hasobject:
        raise DataError(
            f"{where} holds Python objects (pickled data); aekit reads numeric "
            "arrays only"
        )
    claimed = math.prod(shape) * dtype.itemsize
    held = size - f.tell()
    if claimed != held:
        raise DataError(
            f"{where} is not a valid .npy file (its header claims shape {shape} of "
            f"{dtype}, {claimed:,} bytes, but it holds {max(held, 0):,}): it was "
            "not fully written or is damaged"
        )


def _read_npz_member(p: Path, z: zipfile.ZipFile, key: str | None) -> np.ndarray:
    members = {
        n[: -len(".npy")]: info
        for info in z.infolist()
        if (n := info.filename).endswith(".npy")
    }
    names = list(members)
    if key is None:
        if len(names) != 1:
            found = ", ".join(names)[:200] if names else "none"
            raise DataError(
                f"{p} holds {len(names)} arrays ({found}); choose one with --key NAME"
            )
        key = names[0]
    if key not in members:
        raise DataError(f"{p} has no array {short(key)}{suggest(key, names)}")
    info = members[key]
    try:
        with z.open(info) as f:
            _check_npy(f, info.file_size, f"{p}: array {key!r}")
        with z.open(info) as f:  # a member stream is read from its start
            return np.asarray(np.lib.format.read_array(f, allow_pickle=False))
    except DataError:
        raise
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{p}: array {key!r} cannot be read ({e})") from None


def _from_array(p: Path, a: np.ndarray) -> Table:
    if a.ndim != 2:
        raise DataError(
            f"{p} holds a {a.ndim}-D array of shape {a.shape}; aekit needs a 2-D table "
            "(rows x features)"
        )
    if a.dtype.kind not in NUMERIC_KINDS:
        raise DataError(f"{p} holds {a.dtype} values, not numbers")
    return Table(str(p), None, list(a.T), matrix=a)


def _read_csv(p: Path, delimiter: str) -> Table:
    blocks = list(_csv_blocks(p, delimiter, None))
    if len(blocks) == 1:
        return blocks[0]
    first = blocks[0]
    columns = [
        np.concatenate(c) for c in zip(*(b.columns for b in blocks), strict=True)
    ]
    lines = np.concatenate([b.lines for b in blocks if b.lines is not None])
    return Table(str(p), first.names, columns, lines=lines)


def _csv_blocks(p: Path, delimiter: str, rows: int | None) -> Iterator[Table]:
    """The data rows of a CSV/TSV, `rows` at a time (all at once when None).

    Cells stay text; `select_features` makes numbers of those used as features.
    A header alone gives one table of no rows.
    """
    block: list[list[str]] = []
    lines: list[int] = []
    sent = False
    try:
        with open(p, newline="", encoding="utf-8-sig") as f, _any_field_size():
            reader = csv.reader(f, delimiter=delimiter)
            try:
                header = next(reader, None)
                if header is None:
                    raise DataError(
                        f"{p} is empty; aekit needs a header line and data rows"
                    )
                names = [h.strip() for h in header]
                _check_names(p, names)
                for row in reader:
                    if not row:  # a blank line
                        continue
                    if len(row) != len(header):
                        raise DataError(
                            f"{p}: line {reader.line_num} has {len(row)} fields "
                            f"but the header has {len(header)}"
                        )
                    block.append(row)
                    lines.append(reader.line_num)
                    if rows is not None and len(block) == rows:
                        yield _text_table(p, names, block, lines)
                        block, lines, sent = [], [], True
            except csv.Error as e:
                raise DataError(f"{p}: line {reader.line_num}: {e}") from None
    except UnicodeDecodeError:
        raise DataError(f"{p} is not UTF-8 text; save it as UTF-8") from None
    if block or not sent:
        yield _text_table(p, names, block, lines)


def _text_table(
    p: Path, names: list[str], rows: list[list[str]], lines: list[int]
) -> Table:
    if not rows:
        return Table(str(p), names, [np.array([], dtype=str) for _ in names])
    columns = [np.array(c) for c in zip(*rows, strict=True)]
    return Table(str(p), names, columns, lines=np.asarray(lines, dtype=np.int64))


@contextlib.contextmanager
def _any_field_size() -> Iterator[None]:
    """Lift the csv module's 128 KiB cell limit: a long text cell is no error."""
    previous = csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _check_names(p: Path, names: list[str]) -> None:
    for j, n in enumerate(names):
        if not n:
            raise DataError(f"{p}: column {j} has no name in the header")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataError(f"{p}: column {n!r} appears more than once in the header")
        seen.add(n)


def _read_parquet(p: Path) -> Table:
    pa = import_pyarrow()
    try:
        t = pa.parquet.read_table(p)
    except (pa.ArrowException, ValueError) as e:
        raise DataError(f"{p} is not a valid Parquet file ({e})") from None
    return _arrow_table(p, t, 0)


def _parquet_blocks(p: Path, rows: int) -> Iterator[Table]:
    """A Parquet file's rows, `rows` at a time, read by record batches.

    One row group at a time: pyarrow's reader over the whole file holds several
    row groups' pages at once (twice the memory, measured), one per group only
    that group's.
    """
    pa = import_pyarrow()
    try:
        f = pa.parquet.ParquetFile(p)
        offset = 0
        for group in range(f.num_row_groups):
            for batch in f.iter_batches(batch_size=rows, row_groups=[group]):
                yield _arrow_table(p, batch, offset)
                offset += batch.num_rows
        if offset == 0:  # no row group at all: the schema alone
            yield _arrow_table(p, f.schema_arrow.empty_table(), 0)
    except (pa.ArrowException, ValueError) as e:
        raise DataError(f"{p} is not a valid Parquet file ({e})") from None


def _arrow_table(p: Path, t: Any, offset: int) -> Table:
    """Columns of a pyarrow Table or RecordBatch whose first row is file row `offset`."""
    names = [str(n) for n in t.column_names]
    _check_names(p, names)
    columns, missing = [], {}
    for j, col in enumerate(t.columns):
        if col.null_count:
            missing[j] = int(np.argmax(np.asarray(col.is_null())))
        columns.append(np.asarray(col.to_numpy(zero_copy_only=False)))
    return Table(str(p), names, columns, missing=missing, offset=offset)
