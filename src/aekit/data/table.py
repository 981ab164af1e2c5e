"""A table as read from a file, the features taken from it, and how messages name them.

Where a message points at a cell, CSV/TSV rows are given as file lines (the
header is line 1) and the other formats as 0-based row indices.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError

TABLE_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")
OUTPUT_SUFFIXES = (".npy", ".csv", ".tsv", ".parquet")
DELIMITERS = {".csv": ",", ".tsv": "\t"}  # the text formats and their delimiters
NUMERIC_KINDS = "biuf"  # dtype kinds aekit learns from: bool, int, uint, float


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
    offset: int = 0  # the file's row index of this table's first row (a block's)

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def where(self, row: int) -> str:
        """'line 5' for CSV/TSV, else 'row 3' (0-based index)."""
        return (
            f"line {int(self.lines[row])}"
            if self.lines is not None
            else f"row {self.offset + row}"
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


def import_pyarrow() -> Any:
    """pyarrow and pyarrow.parquet, or a DataError naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise DataError(
            "Parquet files need pyarrow: pip install aekit[parquet]"
        ) from None
    return pyarrow


# -- messages --------------------------------------------------------------------


def suggest(name: str, choices: Sequence[str]) -> str:
    """'; did you mean 'x'?' or the list of choices, for a name not found."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; it has {few(list(choices))}"


def few(names: list[str], k: int = 5) -> str:
    """The first `k` names, quoted, and how many more: "'a', 'b' and 3 more"."""
    shown = ", ".join(repr(n) for n in names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


def short(value: Any, k: int = 30) -> str:
    """`value`'s repr (a numpy scalar's as a Python one), cut to `k` characters."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= k else text[: k - 3] + "..."
