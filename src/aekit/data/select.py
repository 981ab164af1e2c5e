"""Choosing and validating the features of a table: the float32 matrix a model needs.

Every failure is a `DataError` naming the column and its first bad cell
(non-numeric, empty, missing, NaN, inf, beyond float32).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataError
from .table import NUMERIC_KINDS, Features, Table, few, short, suggest


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
    index = _column_index(table, named)
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
        chosen = _in_order(table, candidates, n_model_features)
    X = _feature_matrix(table, chosen)
    return Features(
        X=X,
        names=None if table.names is None else [table.names[j] for j in chosen],
        carried={n: table.columns[index[n]] for n in carry_columns},
        label=table.columns[index[label_column]] if label_column else None,
    )


def _column_index(table: Table, named: dict[str, list[str]]) -> dict[str, int]:
    """Column name -> index, once every column `named` by an option is found."""
    if table.names is None:
        for option, values in named.items():
            if values:
                raise DataError(
                    f"{table.source} has no column names, so {option} cannot be used; "
                    "use a table with a header (.csv, .tsv, .parquet)"
                )
        return {}
    index = {n: j for j, n in enumerate(table.names)}
    for values in named.values():
        for n in values:
            if n not in index:
                raise DataError(
                    f"{table.source} has no column {n!r}{suggest(n, table.names)}"
                )
    return index


def _in_order(
    table: Table, candidates: list[int], n_model_features: int | None
) -> list[int]:
    """The `candidates`, in table order, checked against the model's feature count."""
    if not candidates:
        raise DataError(
            f"{table.source}: no feature columns are left after --label-column and "
            "--exclude-columns"
        )
    if n_model_features is not None and len(candidates) != n_model_features:
        raise DataError(
            f"{table.source} has {len(candidates)} feature columns, but the model "
            f"expects {n_model_features}"
        )
    return candidates


def _match_names(
    table: Table, candidates: list[int], model_names: list[str]
) -> list[int]:
    """Indices of the model's features in `table`, in the model's order."""
    assert table.names is not None
    have = {table.names[j]: j for j in candidates}
    missing = [n for n in model_names if n not in have]
    if missing:
        unused = [n for n in have if n not in set(model_names)]
        hint = f"; columns the model does not use: {few(unused)}" if unused else ""
        raise DataError(
            f"{table.source} lacks {len(missing)} of the model's {len(model_names)} "
            f"feature columns: {few(missing)}{hint} (columns are matched by name)"
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
    first = _first_nonfinite_block(X)
    if first is not None:
        bad = ~np.isfinite(X[first:])
        out = int(np.argmax(bad.any(axis=0)))
        row = first + int(np.argmax(bad[:, out]))
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
    if X32 is X:  # float32 already, checked finite above
        return X32
    big = ~np.isfinite(X32)
    if big.any():
        out = int(np.argmax(big.any(axis=0)))
        row = int(np.argmax(big[:, out]))
        raise DataError(
            f"{table.source}: {table.label(chosen[out])} has {X[row, out]:g} at "
            f"{table.where(row)}, beyond float32's range (about 3.4e38); rescale it"
        )
    return X32


CHECK_ROWS_VALUES = 2**22  # values checked at once: a mask of at most 4 MB


def _first_nonfinite_block(X: np.ndarray) -> int | None:
    """First row of the first block of X holding a NaN or inf; None if all finite.

    A block at a time, so that a memory-mapped table is checked without a mask
    of its full size.
    """
    step = max(1, CHECK_ROWS_VALUES // max(1, X.shape[1]))
    for i in range(0, X.shape[0], step):
        if not np.isfinite(X[i : i + step]).all():
            return i
    return None


def _numeric(table: Table, j: int) -> np.ndarray:
    """Column `j` as numbers, or a DataError naming its first cell that is not one."""
    col = table.columns[j]
    if col.dtype.kind in NUMERIC_KINDS:
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
        f"{short(value)}); leave it out with --exclude-columns {name}"
    )


def _nonfinite(v: float) -> str:
    return "NaN" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
