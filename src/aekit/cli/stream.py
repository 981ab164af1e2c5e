"""`aekit encode | reconstruct | score` on one process: input to output a block at a time.

The input is read a block of rows at a time (`aekit.data.iter_table`: a CSV
parsed, a Parquet file read by record batches, a .npy memory-mapped), each
block's features are checked and its output columns computed and appended to
the output (`aekit.data.TableWriter`), which appears whole when the last block
is written, or not at all. Memory stays that of one block, whatever the size
of the table; a progress bar counts the rows on a terminal. Under torchrun
the same columns go to one Parquet part per rank instead (`parts`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .inputs import FeatureChoice, load_model, select_features

if TYPE_CHECKING:
    import numpy as np

    from ..data import Features
    from ..estimator import AutoEncoder

BLOCK_VALUES = 2**22  # input values per block: 16 MB of float32 features

# (model, a block's or a rank's features, its first row) -> the output columns
Columns = Callable[["AutoEncoder", "Features", int], "dict[str, np.ndarray]"]


@dataclass
class Written:
    """What a streamed command wrote: rows, columns, the True count of each flag column."""

    rows: int = 0
    columns: list[str] = field(default_factory=list)
    flagged: dict[str, int] = field(default_factory=dict)
    model: Any = None  # the AutoEncoder that computed the columns


def write_streamed(
    model: str,
    data_path: str,
    output: str,
    columns: Columns,
    choice: FeatureChoice,
    key: str | None = None,
) -> Written:
    """Compute `columns` block by block over the table; write them to `output`.

    The model is loaded from the folder `model` once `output` is known to be
    writable; `choice` says which of the table's columns are features.
    """
    import numpy as np
    from tqdm.auto import tqdm

    from .. import data

    out = data.check_output(
        output, carried=bool(choice.carry_columns), inputs=(data_path, model)
    )
    est = load_model(model)
    rows = max(1, BLOCK_VALUES // max(1, int(est.n_features_in_)))
    done = Written(model=est)
    bar = tqdm(
        disable=not sys.stderr.isatty(), unit="row", leave=False, dynamic_ncols=True
    )
    with bar, data.TableWriter(out) as writer:
        for block in data.iter_table(data_path, rows, key=key):
            features = select_features(est, block, choice)
            cols = columns(est, features, done.rows)
            writer.write(cols)
            for name, col in cols.items():
                if col.dtype == np.bool_:
                    done.flagged[name] = done.flagged.get(name, 0) + int(col.sum())
            done.rows += len(features.X)
            bar.update(len(features.X))
    done.columns = writer.names or []
    return done
