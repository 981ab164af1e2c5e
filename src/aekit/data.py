"""Tables in and out: .npy, .npz, .csv/.tsv with a header, and .parquet, validated.

`read_table` gives a `Table` (columns in file order, with names where the format
has them); `select_features` turns it into the float32 matrix a model needs, or
raises `DataError` naming the first bad cell (non-numeric, empty, missing, NaN,
inf). `write_table` writes a whole output to a temporary file next to the target
and renames it, so a failed write never leaves a partial file. pyarrow is
imported only for .parquet; pandas is never needed.

Where a message points at a cell, CSV/TSV rows are given as file lines (the
header is line 1) and the other formats as 0-based row indices.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

TABLE_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")
OUTPUT_SUFFIXES = (".npy", ".csv", ".tsv", ".parquet")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}
_NUMERIC_KINDS = "biuf"  # dtype kinds aekit learns from: bool, int, uint, float


@dataclass
class Table:
    """Columns read from one file, in file order.

    Examples
    --------
    >>> t = Table("x.npy", None, [np.arange(3.0), np.ones(3)])
    >>> t.n_rows, t.where(2)
    (3, 'row 2')
    """

    source: str  # the file, for messages
    names: list[str] | None  # column names; None where the format has none (.npy/.npz)
    columns: list[np.ndarray]  # one 1-D array per column, all of length n_rows
    lines: np.ndarray | None = None  # CSV/TSV: the file line of each data row
    missing: dict[int, int] = field(default_factory=dict)  # column -> first null row
    matrix: np.ndarray | None = None  # (n_rows, n_columns) when read as one array

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def where(self, row: int) -> str:
        """'line 5' for CSV/TSV, else 'row 3' (0-based index)."""
        return (
            f"line {int(self.lines[row])}" if self.lines is not None else f"row {row}"
        )

    def label(self, j: int) -> str:
        """How messages name column `j`: 'age' or, without names, 'column 3'."""
        return f"column {j}" if self.names is None else f"column {self.names[j]!r}"


@dataclass
class Features:
    """What a model gets from a table: the feature matrix and the columns around it."""

    X: np.ndarray  # (n_rows, n_features) float32, every value finite
    names: list[str] | None  # X's column names, in order; None if the table has none
    carried: dict[str, np.ndarray]  # columns to pass through to an output, as asked
    label: np.ndarray | None = None  # the label column, when one was named


# -- reading ---------------------------------------------------------------------


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
    """Read a table from .npy, .npz (array `key`), .csv/.tsv with a header, or .parquet.

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
        if suffix in _DELIMITERS:
            table = _read_csv(p, _DELIMITERS[suffix])
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


def _load_array(p: Path, key: str | None) -> np.ndarray:
    with open(p, "rb") as f:
        magic = f.read(6)
    if magic[: 6 if p.suffix.lower() == ".npy" else 2] not in (b"\x93NUMPY", b"PK"):
        raise DataError(
            f"{p} is not a valid {p.suffix} file (its header is not {p.suffix}'s)"
        )
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):
            raise DataError(
                f"{p} holds Python objects (pickled data); aekit reads numeric "
                "arrays only"
            ) from None
        raise DataError(f"{p} is not a valid {p.suffix} file ({e})") from None
    except (EOFError, OSError, zipfile.BadZipFile) as e:
        raise DataError(f"{p} is not a valid {p.suffix} file ({e})") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:  # an NpzFile
        names = list(loaded.files)
        if key is None:
            if len(names) != 1:
                found = ", ".join(names) if names else "none"
                raise DataError(
                    f"{p} holds {len(names)} arrays ({found}); choose one with "
                    "--key NAME"
                )
            key = names[0]
        if key not in names:
            raise DataError(f"{p} has no array {key!r}{_suggest(key, names)}")
        try:
            return np.asarray(loaded[key])
        except ValueError as e:
            raise DataError(f"{p}: array {key!r} cannot be read ({e})") from None


def _from_array(p: Path, a: np.ndarray) -> Table:
    if a.ndim != 2:
        raise DataError(
            f"{p} holds a {a.ndim}-D array of shape {a.shape}; aekit needs a 2-D table "
            "(rows x features)"
        )
    if a.dtype.kind not in _NUMERIC_KINDS:
        raise DataError(f"{p} holds {a.dtype} values, not numbers")
    return Table(str(p), None, list(a.T), matrix=a)


def _read_csv(p: Path, delimiter: str) -> Table:
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            try:
                header = next(reader, None)
                if header is None:
                    raise DataError(
                        f"{p} is empty; aekit needs a header line and data rows"
                    )
                for row in reader:
                    if not row:  # a blank line
                        continue
                    if len(row) != len(header):
                        raise DataError(
                            f"{p}: line {reader.line_num} has {len(row)} fields "
                            f"but the header has {len(header)}"
                        )
                    rows.append(row)
                    lines.append(reader.line_num)
            except csv.Error as e:
                raise DataError(f"{p}: line {reader.line_num}: {e}") from None
    except UnicodeDecodeError:
        raise DataError(f"{p} is not UTF-8 text; save it as UTF-8") from None
    names = [h.strip() for h in header]
    _check_names(p, names)
    if not rows:
        return Table(str(p), names, [np.array([], dtype=str) for _ in names])
    # text columns; `select_features` makes numbers of those used as features
    columns = [np.array(c) for c in zip(*rows, strict=True)]
    return Table(str(p), names, columns, lines=np.asarray(lines, dtype=np.int64))


def _check_names(p: Path, names: list[str]) -> None:
    for j, n in enumerate(names):
        if not n:
            raise DataError(f"{p}: column {j} has no name in the header")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataError(f"{p}: column {n!r} appears more than once in the header")
        seen.add(n)


def _pyarrow() -> Any:
    """pyarrow and pyarrow.parquet, or a DataError naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise DataError(
            "Parquet files need pyarrow: pip install aekit[parquet]"
        ) from None
    return pyarrow


def _read_parquet(p: Path) -> Table:
    pa = _pyarrow()
    try:
        t = pa.parquet.read_table(p)
    except (pa.ArrowException, ValueError) as e:
        raise DataError(f"{p} is not a valid Parquet file ({e})") from None
    names = [str(n) for n in t.column_names]
    _check_names(p, names)
    columns, missing = [], {}
    for j, col in enumerate(t.columns):
        if col.null_count:
            missing[j] = int(np.argmax(np.asarray(col.is_null())))
        columns.append(np.asarray(col.to_numpy()))
    return Table(str(p), names, columns, missing=missing)


# -- choosing the features -------------------------------------------------------


def select_features(
    table: Table,
    *,
    label_column: str | None = None,
    exclude_columns: Sequence[str] = (),
    carry_columns: Sequence[str] = (),
    model_names: Sequence[str] | None = None,
    n_model_features: int | None = None,
) -> Features:
    """The feature matrix of `table`, checked and as float32.

    Every column is a feature except the label, the excluded columns and the
    carried ones (a carried column the model uses stays a feature too). With
    `model_names` and a table with names, features are matched by name and put
    in the model's order; columns the model does not use are left out. Without
    names they are taken in order and must number `n_model_features`.

    Raises
    ------
    DataError
        A named column is absent, a feature is missing or has the wrong count, or
        a feature cell is not a finite number (the column and first bad row named).

    Examples
    --------
    >>> t = Table("t.csv", ["id", "a", "b"], [np.array(["x", "y"]),
    ...           np.array(["1", "2"]), np.array(["3", "4.5"])])
    >>> f = select_features(t, carry_columns=["id"])
    >>> f.names, f.X.tolist(), f.carried["id"].tolist()
    (['a', 'b'], [[1.0, 3.0], [2.0, 4.5]], ['x', 'y'])
    """
    named = {
        "--label-column": [label_column] if label_column else [],
        "--exclude-columns": list(exclude_columns),
        "--carry-columns": list(carry_columns),
    }
    if table.names is None:
        for option, values in named.items():
            if values:
                raise DataError(
                    f"{table.source} has no column names, so {option} cannot be used; "
                    "use a table with a header (.csv, .tsv, .parquet)"
                )
        index: dict[str, int] = {}
    else:
        index = {n: j for j, n in enumerate(table.names)}
        for values in named.values():
            for n in values:
                if n not in index:
                    raise DataError(
                        f"{table.source} has no column {n!r}{_suggest(n, table.names)}"
                    )
    used = set(model_names or ())
    dropped = {
        *named["--label-column"],
        *exclude_columns,
        *(n for n in carry_columns if n not in used),
    }
    candidates = [
        j
        for j in range(len(table.columns))
        if table.names is None or table.names[j] not in dropped
    ]
    if model_names is not None and table.names is not None:
        chosen = _match_names(table, candidates, list(model_names))
    else:
        chosen = candidates
        if not chosen:
            raise DataError(
                f"{table.source}: no feature columns are left after --label-column and "
                "--exclude-columns"
            )
        if n_model_features is not None and len(chosen) != n_model_features:
            raise DataError(
                f"{table.source} has {len(chosen)} feature columns, but the model "
                f"expects {n_model_features}"
            )
    X = _feature_matrix(table, chosen)
    return Features(
        X=X,
        names=None if table.names is None else [table.names[j] for j in chosen],
        carried={n: table.columns[index[n]] for n in carry_columns},
        label=table.columns[index[label_column]] if label_column else None,
    )


def _match_names(
    table: Table, candidates: list[int], model_names: list[str]
) -> list[int]:
    """Indices of the model's features in `table`, in the model's order."""
    assert table.names is not None
    have = {table.names[j]: j for j in candidates}
    missing = [n for n in model_names if n not in have]
    if missing:
        unused = [n for n in have if n not in set(model_names)]
        hint = f"; columns the model does not use: {_few(unused)}" if unused else ""
        raise DataError(
            f"{table.source} lacks {len(missing)} of the model's {len(model_names)} "
            f"feature columns: {_few(missing)}{hint} (columns are matched by name)"
        )
    return [have[n] for n in model_names]


def _feature_matrix(table: Table, chosen: list[int]) -> np.ndarray:
    for j in chosen:
        if j in table.missing:
            raise DataError(
                f"{table.source}: {table.label(j)} has a missing value at "
                f"{table.where(table.missing[j])}; fill or drop those rows first"
            )
    if table.matrix is not None:
        X = (
            table.matrix[:, chosen]
            if len(chosen) < table.matrix.shape[1]
            else table.matrix
        )
    else:
        X = np.empty((table.n_rows, len(chosen)), dtype=np.float64)
        for out, j in enumerate(chosen):
            X[:, out] = _numeric(table, j)
    bad = ~np.isfinite(X)
    if bad.any():
        out = int(np.argmax(bad.any(axis=0)))
        row = int(np.argmax(bad[:, out]))
        more = int(bad.sum()) - 1
        others = (
            f" (and {more} more non-finite value{'s' * (more > 1)})" if more else ""
        )
        raise DataError(
            f"{table.source}: {table.label(chosen[out])} has {_nonfinite(X[row, out])} "
            f"at {table.where(row)}{others}; aekit needs finite numbers: fill or drop "
            "those rows"
        )
    with np.errstate(over="ignore"):
        X32 = X.astype(np.float32, copy=False)
    big = ~np.isfinite(X32)
    if big.any():
        out = int(np.argmax(big.any(axis=0)))
        row = int(np.argmax(big[:, out]))
        raise DataError(
            f"{table.source}: {table.label(chosen[out])} has {X[row, out]:g} at "
            f"{table.where(row)}, beyond float32's range (about 3.4e38); rescale it"
        )
    return X32


def _numeric(table: Table, j: int) -> np.ndarray:
    """Column `j` as numbers, or a DataError naming its first cell that is not one."""
    col = table.columns[j]
    if col.dtype.kind in _NUMERIC_KINDS:
        return col
    if col.dtype.kind in "OSU":
        try:
            return col.astype(np.float64)
        except (TypeError, ValueError):
            pass
    row = next((i for i, v in enumerate(col) if not _is_number(v)), 0)
    value = col[row]
    if isinstance(value, str) and not value.strip():
        raise DataError(
            f"{table.source}: {table.label(j)} has an empty cell at "
            f"{table.where(row)}; fill or drop those rows first"
        )
    name = table.names[j] if table.names is not None else str(j)
    raise DataError(
        f"{table.source}: {table.label(j)} is not numeric ({table.where(row)} has "
        f"{_short(value)}); leave it out with --exclude-columns {name}"
    )


def _nonfinite(v: float) -> str:
    return "NaN" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


# -- writing ---------------------------------------------------------------------


def check_output(path: str | os.PathLike[str], *, carried: bool = False) -> Path:
    """Return `path` as a Path if a table can be written there (checked before work)."""
    p = Path(path)
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
    from .io import write_atomic

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
        cols = {n: pa.array(c) for n, c in carried.items()}
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


# -- messages --------------------------------------------------------------------


def _suggest(name: str, choices: Sequence[str]) -> str:
    """'; did you mean 'x'?' or the list of choices, for a name not found."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; it has {_few(list(choices))}"


def _few(names: list[str], k: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


def _short(value: Any, k: int = 30) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= k else text[: k - 3] + "..."
