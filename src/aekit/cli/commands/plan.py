"""`aekit plan`: what `aekit train` would cost on a table, before any training."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ..arguments import TABLE_HELP, add_data_options, add_estimator_options
from ..config import resolve_train_options
from ..options import EXIT_OK
from .train import make_estimator

if TYPE_CHECKING:
    import numpy as np

NAME = "plan"
HELP = "estimate a training run before it starts: network, memory, seconds"
EXAMPLE = """\
example:
  aekit plan digits.csv --label-column label --latent-dim 16
  aekit plan features.npy --hidden-dims 2048 --latent-dim 1000 --batch-size 256 --json
  aekit plan features.npy --config train.yaml --precision auto

It takes the options of 'aekit train' (and its --config) and trains nothing:
it builds the network, counts its parameters and the memory its training
state needs (what the memory check compares with the free memory), says
whether the table would be streamed from disk, and times a few optimizer
steps and a validation pass on the table's first rows to give the seconds
of an epoch and of the whole budget (max_epochs; early stopping may end
sooner). The PCA baseline and the fit-time evaluation are not counted."""

SAMPLE_ROWS = 8192  # rows of a table train would convert that plan reads whole


def add_arguments(p: argparse.ArgumentParser) -> None:
    """DATA, --config, the data and estimator options of `train`, and --json."""
    p.add_argument("data", metavar="DATA", help=TABLE_HELP)
    p.add_argument(
        "--config", metavar="FILE", help="options from a .json or .yaml file"
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_data_options(p)
    add_estimator_options(p)


def run(args: argparse.Namespace) -> int:
    """Plan training on DATA with the resolved options; print the plan."""
    from ...planning import plan_rows

    options = resolve_train_options(args)
    est = make_estimator(options)
    X, n_rows, streamed = read_rows(args.data, options)
    result = plan_rows(X, est.get_params(), n_rows=n_rows, streamed=streamed)
    result["data"] = args.data
    print(json.dumps(result, indent=2) if args.json else plan_text(result))
    return EXIT_OK


def read_rows(path: str, options: dict[str, Any]) -> tuple[np.ndarray, int, bool]:
    """(rows to time on, the table's rows, whether train would stream it).

    A .npy is memory-mapped, as train maps it; a CSV/TSV/Parquet table that
    train would convert to a float32 cache is read a block at a time: its
    first SAMPLE_ROWS rows are kept, the others only counted.
    """
    import numpy as np

    from ... import data
    from ...data.rows import is_mapped

    data.check_input(path)
    key = options.get("key")
    choose: dict[str, Any] = {
        "label_column": options.get("label_column"),
        "exclude_columns": options.get("exclude_columns") or (),
    }
    if key is None and data.wants_cache(path):
        kept: list[np.ndarray] = []
        n = 0
        for block in data.iter_table(path, 4096):
            X = data.select_features(block, **choose).X
            if n < SAMPLE_ROWS:
                kept.append(X[: SAMPLE_ROWS - n])
            n += len(X)
        return np.concatenate(kept), n, True
    X = data.select_features(data.read_table(path, key=key), **choose).X
    return X, len(X), is_mapped(X)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def plan_text(p: dict[str, Any]) -> str:
    """The plan as the lines `aekit plan` prints."""
    rows = "streamed from disk" if p["streamed"] else "in memory"
    free = p["memory_available_bytes"]
    lines = [
        f"plan for {p.get('data', 'the rows')}: {p['family']}, {p['features']:,} "
        f"features, {p['rows']:,} rows ({p['train_rows']:,} training, "
        f"{p['validation_rows']:,} validation), {rows}",
        f"architecture: {p['architecture']}",
        f"parameters: {p['parameters']:,} ({p['trainable_parameters']:,} trained)",
        f"memory: {_size(p['peak_memory_bytes'])} of training state (weights, "
        "gradients, Adam's moments, the best weights; activations on top)"
        + ("" if free is None else f", {_size(free)} available"),
    ]
    if not p["fits_in_memory"]:
        lines.append(
            "training would be refused: the training state does not fit; choose "
            "smaller hidden_dims or latent_dim"
        )
        return "\n".join(lines)
    budget = p["epochs_budget"]
    stop = (
        "early stopping may end sooner"
        if p["patience"] is not None
        else "no early stopping"
    )
    lines += [
        f"precision: {p['precision']} ({p['precision_reason']})",
        f"an epoch: {p['steps_per_epoch']:,} steps of {p['batch_size']} rows at "
        f"{p['seconds_per_step'] * 1e3:.3g} ms and a validation pass of "
        f"{p['seconds_validation']:.3g} s: {p['seconds_per_epoch']:.3g} s",
        f"the budget: {budget:,} epochs, {p['seconds_budget']:,.1f} s at most "
        f"({stop}); the PCA baseline and the evaluation come on top",
    ]
    return "\n".join(lines)
