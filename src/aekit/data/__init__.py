"""Tables in and out: .npy, .npz, .csv/.tsv with a header, and .parquet, validated.

`read_table` gives a `Table` (columns in file order, with names where the format
has them); `select_features` turns it into the float32 matrix a model needs, or
raises `DataError` naming the first bad cell (non-numeric, empty, missing, NaN,
inf). `write_table` writes a whole output to a temporary file next to the target
and renames it, so a failed write never leaves a partial file. pyarrow is
imported only for .parquet; pandas is never needed.

Where a message points at a cell, CSV/TSV rows are given as file lines (the
header is line 1) and the other formats as 0-based row indices.

The modules: `table` (Table, Features, the formats), `read` (whole or a block at
a time), `select` (choosing and validating the features), `write` (whole or a
block at a time), `cache` (a large text or Parquet table converted once to .npy).
"""

from __future__ import annotations

from .cache import cached_features, wants_cache
from .read import check_input, iter_table, read_table
from .select import select_features
from .table import OUTPUT_SUFFIXES, TABLE_SUFFIXES, Features, Table
from .write import TableWriter, check_output, write_table

__all__ = [
    "OUTPUT_SUFFIXES",
    "TABLE_SUFFIXES",
    "Features",
    "Table",
    "TableWriter",
    "cached_features",
    "check_input",
    "check_output",
    "iter_table",
    "read_table",
    "select_features",
    "wants_cache",
    "write_table",
]
