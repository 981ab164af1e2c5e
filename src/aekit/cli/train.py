"""`aekit train`: fit on a table, save the model folder, report; stop and resume."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shlex
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from .config import _check_resume_options, checkpoint_options, resolve_train_options
from .options import (
    DATA_OPTIONS,
    ESTIMATOR_OPTIONS,
    EXIT_OK,
    HISTORY_FILE,
    TRAIN_CONFIG_FILE,
    CommandError,
)

if TYPE_CHECKING:
    from ..data import Features
    from ..errors import TrainingInterrupted
    from ..estimator import AutoEncoder


def _cmd_train(args: argparse.Namespace) -> int:
    from .. import distributed
    from ..errors import DivergenceError

    options = resolve_train_options(args)
    ckpt = checkpoint_options(args)
    if "resume_from" in ckpt:
        _check_resume_options(options, ckpt["params"], ckpt["resume_from"])
    out = _check_model_dir(Path(args.output), ckpt.get("checkpoint_dir"))
    features = read_features(
        args.data,
        out,
        key=options.get("key"),
        label_column=options.get("label_column"),
        exclude_columns=options.get("exclude_columns") or (),
        quiet=not options.get("verbose", 1),
    )
    est = _make_estimator(options, ckpt.get("params"))
    fit_kwargs = {k: v for k, v in ckpt.items() if k != "params"}
    try:
        seconds = _fit(est, features, _train_callbacks(args), **fit_kwargs)
    except DivergenceError as e:
        raise _diverged(e, args, ckpt.get("checkpoint_dir"), est.lr) from None
    if not distributed.world().is_main:  # under torchrun, rank 0 alone writes
        return EXIT_OK
    _save_model(est, out, options, args)
    if est.verbose:
        print(_train_summary(est, out, seconds))
    return EXIT_OK


def read_features(
    path: str,
    out: Path,
    *,
    key: str | None,
    label_column: str | None,
    exclude_columns: Sequence[str],
    quiet: bool = False,
) -> Features:
    """The features to train on; a large CSV/TSV/Parquet table via its .npy cache."""
    from .. import data

    data.check_input(path)
    if key is None and data.wants_cache(path):
        return data.cached_features(
            path,
            out,
            label_column=label_column,
            exclude_columns=exclude_columns,
            say=(lambda _: None) if quiet else print,
        )
    return data.select_features(
        data.read_table(path, key=key),
        label_column=label_column,
        exclude_columns=exclude_columns,
    )


def _check_model_dir(out: Path, checkpoint_dir: Path | None = None) -> Path:
    """Refuse to train into a file, or into a folder that holds something else.

    A checkpoint folder inside `out` (``-o run --checkpoint-dir run/ckpt``) is
    no reason to refuse.
    """
    from ..io import CONFIG_FILE, model_target

    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; -o needs a folder to save the model in")
    try:
        out = model_target(out)  # follows a symlink; refuses a dangling one, a loop
    except FileExistsError as e:
        raise CommandError(f"-o {e}") from None
    ignored = checkpoint_dir.resolve() if checkpoint_dir is not None else None
    held = [p for p in out.iterdir() if p.resolve() != ignored] if out.is_dir() else []
    if held and not (out / CONFIG_FILE).is_file():
        raise CommandError(
            f"{out} is not empty and holds no aekit model; choose a new or empty "
            "folder so that nothing in it is overwritten"
        )
    return out


def _make_estimator(
    options: dict[str, Any], saved: dict[str, Any] | None = None
) -> AutoEncoder:
    """The AutoEncoder of `options`; resuming, of the checkpoint's `saved` params.

    Options given (flags or --config) override the saved ones (those a resumed
    run may not change were refused before). verbose is this command's, not
    the checkpoint's.
    """
    from ..estimator import AutoEncoder
    from ..params import check_params

    params = {k: v for k, v in (saved or {}).items() if k in ESTIMATOR_OPTIONS}
    params.pop("verbose", None)
    params.update({k: v for k, v in options.items() if k in ESTIMATOR_OPTIONS})
    params.setdefault("verbose", 1)
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    try:
        check_params(params, label=lambda name: "--" + name.replace("_", "-"))
    except ValueError as e:
        raise CommandError(str(e)) from None
    return AutoEncoder(**params)


def _train_callbacks(args: argparse.Namespace) -> list[Any]:
    """Callbacks for `fit`: SIGINT/SIGTERM stop training at the next step."""
    from ..checkpoint import StopOnSignal

    return [StopOnSignal()]


def resume_command(
    args: argparse.Namespace, directory: str | os.PathLike[str], **override: str
) -> str:
    """The `aekit train` command line that resumes this run from `directory`.

    Data options and --config are repeated as given; the estimator's options
    come back from the checkpoint. `override` adds flags, e.g. ``lr="1e-4"``.
    """
    argv = ["aekit", "train", args.data, "-o", args.output, "--resume", directory]
    if args.config:
        argv += ["--config", args.config]
    if args.key is not None:
        argv += ["--key", args.key]
    if args.label_column is not None:
        argv += ["--label-column", args.label_column]
    if args.exclude_columns:
        argv += ["--exclude-columns", ",".join(args.exclude_columns)]
    if args.verbose is not None:
        argv.append({0: "--quiet", 2: "--verbose"}[args.verbose])
    for name, value in override.items():
        argv += ["--" + name.replace("_", "-"), value]
    return shlex.join(str(a) for a in argv)


def _interrupted_text(e: TrainingInterrupted, args: argparse.Namespace) -> str:
    """One line on a TrainingInterrupted: where, what was saved, how to go on."""
    name = signal.Signals(e.signal).name
    where = f"at epoch {e.epoch + 1}, step {e.step}"
    if e.step == 0:  # stopped between two epochs
        where = f"after epoch {e.epoch}"
    if e.checkpoint is None:
        return (
            f"interrupted by {name} {where}; no checkpoint was saved (train with "
            "--checkpoint-dir DIR to be able to resume)"
        )
    return (
        f"interrupted by {name} {where}; checkpoint saved to {e.checkpoint}; "
        f"resume with: {resume_command(args, Path(e.checkpoint).parent)}"
    )


def _diverged(
    e: Exception, args: argparse.Namespace, directory: Path | None, lr: float
) -> Exception:
    """The DivergenceError, naming the last good checkpoint and how to resume it."""
    from ..checkpoint import divergence_note, latest_checkpoint
    from ..errors import DivergenceError

    last = latest_checkpoint(directory) if directory is not None else None
    if last is None or not isinstance(e, DivergenceError):
        return e
    how = (
        "resume with a smaller --lr: "
        f"{resume_command(args, last.parent, lr=f'{lr / 10:g}')}"
    )
    return divergence_note(e, directory, how)


def _fit(
    est: AutoEncoder, features: Features, callbacks: list[Any], **fit_kwargs: Any
) -> float:
    """Fit `est` on the features (recording their names); return the seconds taken.

    `fit_kwargs` go to `AutoEncoder.fit` as they are (e.g. checkpoint options).
    """
    import numpy as np

    t0 = time.perf_counter()
    est.fit(features.X, callbacks=callbacks, **fit_kwargs)
    if features.names is not None:
        # fitted on a plain array: record the columns' names as pandas input would
        est.feature_names_in_ = np.asarray(features.names, dtype=object)
        est.fitted_.feature_names = [str(n) for n in features.names]
    return time.perf_counter() - t0


def _save_model(
    est: AutoEncoder, out: Path, options: dict[str, Any], args: argparse.Namespace
) -> None:
    """The model, the resolved configuration and the history, in one atomic save.

    All three go into the same temporary folder, renamed into place whole, so
    an interrupt, a full disk or a concurrent run never leaves a mixture.
    """
    from ..io import saving_with
    from ..jsonable import jsonable

    resolved = {
        "aekit_version": __version__,
        "data": os.path.abspath(args.data),
        **{k: options.get(k) for k in DATA_OPTIONS},
        **{k: v for k, v in est.get_params().items() if k in ESTIMATOR_OPTIONS},
        "seed": est.seed_,  # drawn from random_state; for the record
    }
    files = {
        TRAIN_CONFIG_FILE: (json.dumps(jsonable(resolved), indent=2) + "\n").encode(),
        HISTORY_FILE: history_csv(est.history_).encode(),
    }
    with saving_with(files):
        est.save(out)


def history_csv(history: list[dict[str, Any]]) -> str:
    """Per-epoch history as CSV: losses, seconds, dead share per layer, switches."""
    layers = list(history[0]["dead_fraction"]) if history else []
    parts = list(history[0].get("train_parts") or {}) if history else []
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(
        [
            "epoch",
            "train_loss",
            "val_loss",
            "seconds",
            *(f"dead_{n}" for n in layers),
            *(f"train_{p}" for p in parts),
            *(f"val_{p}" for p in parts),
            "switched",
        ]
    )
    for h in history:
        dead = [h["dead_fraction"].get(n, 0.0) for n in layers]
        val = "" if h["val_loss"] is None else h["val_loss"]
        tp, vp = h.get("train_parts") or {}, h.get("val_parts") or {}
        w.writerow(
            [
                h["epoch"],
                h["train_loss"],
                val,
                f"{h['seconds']:.4f}",
                *dead,
                *(tp.get(p, "") for p in parts),
                *(vp.get(p, "") for p in parts),
                ";".join(h["switched"]),
            ]
        )
    return text.getvalue()


def _train_summary(est: AutoEncoder, out: Path, seconds: float) -> str:
    last = est.history_[-1] if est.history_ else {}
    which = "validation" if last.get("val_loss") is not None else "training"
    stop = (
        "stopped early: no better validation loss for the patience's epochs"
        if est.stopped_early_
        else "reached max_epochs"
    )
    return "\n".join(
        [
            f"trained {est.n_epochs_} epochs in {seconds:.1f} s ({stop})",
            f"best {which} loss: {est.best_loss_:.5g} ({est.loss}, "
            + (
                "the starting point"
                if est.best_epoch_ == 0
                else f"epoch {est.best_epoch_}"
            )
            + ")",
            f"dead units: {_dead_text(last.get('dead_fraction', {}))}",
            f"model saved to {out}",
        ]
    )


def _dead_text(dead: dict[str, float]) -> str:
    parts = [f"{name} {frac:.0%}" for name, frac in dead.items() if frac > 0]
    return ", ".join(parts) if parts else "none"
