"""Rows of a float32 table as training and encoding read them: scaled a batch at a time.

`ScaledRows` holds the table as given (no copy), with the rows selected and
their order for an epoch (a permutation, or a block shuffle for a table on
disk); `split_rows` is the seeded train/validation split; `as_float32` refuses
values float32 cannot hold.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..scaling import MinMaxScaling


def as_float32(X: np.ndarray) -> np.ndarray:
    """X as float32, refusing values beyond float32's range (they would become inf)."""
    with np.errstate(over="ignore"):
        X32 = np.asarray(X, dtype=np.float32)
    if X32 is not X and not np.isfinite(X32).all():
        j = int(np.flatnonzero(~np.isfinite(X32).all(axis=0))[0])
        raise DataError(
            f"X has values too large for float32 in column {j} (up to "
            f"{float(np.abs(X[:, j]).max()):g}); aekit computes in float32, whose "
            f"largest value is {float(np.finfo(np.float32).max):.4g}: rescale that "
            "column"
        )
    return X32


SHUFFLE_BLOCK_ROWS = 4096  # rows per block of the block shuffle
SHUFFLE_BUFFER_BLOCKS = 64  # blocks mixed at a time


def block_order(
    n: int, block: int, buffer: int, generator: torch.Generator
) -> torch.Tensor:
    """range(n) shuffled by blocks: blocks in random order, `buffer` at a time mixed.

    >>> g = torch.Generator().manual_seed(0)
    >>> o = block_order(10, 2, 2, g)
    >>> sorted(o.tolist()) == list(range(10))
    True
    """
    blocks = torch.randperm(math.ceil(n / block), generator=generator)
    out = []
    for w in range(0, len(blocks), buffer):
        rows = torch.cat(
            [
                torch.arange(b * block, min((b + 1) * block, n))
                for b in blocks[w : w + buffer].tolist()
            ]
        )
        out.append(rows[torch.randperm(len(rows), generator=generator)])
    return torch.cat(out)


def is_mapped(A: np.ndarray) -> bool:
    """Whether A's memory is a memory-mapped file (np.load(mmap_mode=...))."""
    import mmap

    base: Any = A
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


class ScaledRows:
    """Rows of a float32 table as the network sees them, scaled a batch at a time.

    Holds the table as given, with no copy of the data: a batch costs a gather
    (or a slice) and one subtract-and-divide, the same float32 arithmetic as
    `MinMaxScaling.transform`, so results are bitwise those of scaling first.
    ``rows`` selects and orders the rows used (all of them when None).
    """

    def __init__(
        self,
        X: torch.Tensor,
        rows: torch.Tensor | None = None,
        scaling: MinMaxScaling | None = None,
    ) -> None:
        self.X, self.rows = X, rows
        self.lo = self.divisor = None
        if scaling is not None:
            self.lo = torch.from_numpy(scaling.data_min).to(X.device)
            self.divisor = torch.from_numpy(scaling.divisor).to(X.device)

    # rows of a block and blocks of the shuffle buffer of `order`; None: a
    # plain permutation (set for a memory-mapped table, see `is_mapped`)
    block_rows: int | None = None
    buffer_blocks: int = SHUFFLE_BUFFER_BLOCKS

    def __len__(self) -> int:
        return len(self.X) if self.rows is None else len(self.rows)

    def order(self, generator: torch.Generator) -> torch.Tensor:
        """An epoch's order of the positions: every one once, drawn from `generator`.

        A plain permutation, or with `block_rows`, a block shuffle: the blocks
        of consecutive positions in a random order, a buffer of
        `buffer_blocks` of them at a time, its rows permuted. Reads then go
        to a few runs of consecutive rows at a time, which a table on disk
        serves far faster than rows scattered over all of it.
        """
        n = len(self)
        if self.block_rows is None or n <= self.block_rows * self.buffer_blocks:
            return torch.randperm(n, generator=generator)
        return block_order(n, self.block_rows, self.buffer_blocks, generator)

    @property
    def device(self) -> torch.device:
        return self.X.device

    def take(self, positions: torch.Tensor) -> torch.Tensor:
        """The rows at `positions` (of this selection), scaled: a new tensor."""
        idx = positions if self.rows is None else self.rows[positions]
        # index_select: the same rows as X[idx], at a third of the time on the CPU
        return self._scale(self.X.index_select(0, idx), fresh=True)

    def chunks(self, size: int) -> Iterator[torch.Tensor]:
        """Consecutive chunks of at most `size` rows, scaled."""
        for i in range(0, len(self), size):
            if self.rows is None:
                yield self._scale(self.X[i : i + size], fresh=False)
            else:
                rows = self.rows[i : i + size]
                yield self._scale(self.X.index_select(0, rows), fresh=True)

    def subset(self, positions: np.ndarray) -> ScaledRows:
        """The rows at `positions` of this selection, still unscaled and uncopied."""
        pos = torch.from_numpy(positions).to(self.device)
        new = ScaledRows(self.X, pos if self.rows is None else self.rows[pos])
        new.lo, new.divisor = self.lo, self.divisor
        return new

    def numpy(self) -> np.ndarray:
        """All selected rows, scaled, as one new float32 array (on the CPU)."""
        if len(self) == 0:
            return np.zeros((0, self.X.shape[1]), np.float32)
        return next(self.chunks(len(self))).cpu().numpy().copy()

    def _scale(self, xb: torch.Tensor, fresh: bool) -> torch.Tensor:
        if self.lo is None or self.divisor is None:
            return xb
        out = xb.sub_(self.lo) if fresh else torch.sub(xb, self.lo)
        return out.div_(self.divisor)


def as_tensor(A: np.ndarray, device: torch.device) -> torch.Tensor:
    """A as a tensor on `device`; on the CPU it shares A's memory (aekit never writes it)."""
    with warnings.catch_warnings():  # a read-only array is fine: it is only read
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        return torch.from_numpy(A).to(device)


def split_rows(
    n: int, validation_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of range(n) into (train, validation) row indices; train keeps >= 1 row."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(int(round(n * validation_fraction)), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def refuse_categorical(X: Any) -> None:
    """A DataFrame's categorical columns are refused, numeric categories too."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
    for name, dtype in zip(X.columns, dtypes, strict=False):
        if str(dtype) == "category":
            raise DataError(
                f"column {name!r} is categorical; aekit takes numbers only: convert "
                "it (e.g. one-hot with pandas.get_dummies) or drop it"
            )
