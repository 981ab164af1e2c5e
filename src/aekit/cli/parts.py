"""`aekit encode | score` under torchrun: one Parquet part per rank, and a manifest.

Each rank reads the table (a .npy is memory-mapped, so only its share of the
rows is touched), computes its contiguous share of the rows and writes it,
rows in input order, as ``OUT/part-RRRRR.parquet`` (atomically, as every
output). When every part is written, rank 0 writes ``OUT/_manifest.json``:
the parts in row order, each with its first row and its number of rows. The
manifest is written last, so its presence says the dataset is complete; a
reader of the folder (``pyarrow.parquet.read_table(OUT)``, pandas, Spark)
ignores files starting with ``_`` and gets every row once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .inputs import FeatureChoice, load_model, model_features
from .options import EXIT_OK, CommandError
from .stream import Columns

MANIFEST = "_manifest.json"
_PART = re.compile(r"^part-\d{5}\.parquet$")


def in_parts() -> bool:
    """True when launched by torchrun with more than one rank."""
    import os

    from .. import distributed

    return distributed.launched() and int(os.environ["WORLD_SIZE"]) > 1


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise CommandError(
            f"-o {out} is a file; under torchrun, -o names a folder that receives "
            "one Parquet part per rank"
        )
    if out.is_dir():
        other = [p.name for p in out.iterdir() if not _ours(p.name)]
        if other:
            raise CommandError(
                f"-o {out} holds {other[0]!r}, which is not a part of an aekit "
                "dataset; choose a new or empty folder"
            )


def _ours(name: str) -> bool:
    return bool(_PART.match(name)) or name == MANIFEST or name.startswith(".")


def write_parts(
    model: str,
    data_path: str,
    output: str,
    what: str,
    columns: Columns,
    choice: FeatureChoice,
    key: str | None = None,
) -> int:
    """Compute `columns` on this rank's share of the rows; write part and manifest.

    `what` names the rows' output in the manifest and the message ("codes").
    """
    import numpy as np
    import torch
    import torch.distributed as dist

    from .. import distributed
    from ..data import Features, write_table
    from ..io import write_atomic

    out = Path(output)
    _check_folder(out)  # on every rank, before any writes
    world, _ = distributed.setup(torch.device("cpu"))
    dist.barrier()
    if world.is_main:  # a previous dataset's manifest and parts go first
        out.mkdir(parents=True, exist_ok=True)
        for p in out.iterdir():
            if _PART.match(p.name) or p.name == MANIFEST:
                p.unlink()
    dist.barrier()
    est = load_model(model)
    features = model_features(est, data_path, choice, key)
    n = len(features.X)
    start, count = distributed.share(n, world)
    here = Features(
        features.X[start : start + count],
        features.names,
        {k: v[start : start + count] for k, v in features.carried.items()},
    )
    cols = columns(est, here, start)
    part = out / f"part-{world.rank:05d}.parquet"
    write_table(part, np.empty((count, 0), np.float32), [], cols)
    dist.barrier()
    if world.is_main:
        parts = []
        for r in range(world.size):
            s, c = distributed.share(n, distributed.World(r, world.size))
            parts.append({"file": f"part-{r:05d}.parquet", "first_row": s, "rows": c})
        manifest = {"what": what, "rows": n, "columns": list(cols), "parts": parts}
        write_atomic(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        print(f"wrote {what} of {n} rows to {out} ({world.size} parts and {MANIFEST})")
    distributed.shutdown()
    return EXIT_OK
