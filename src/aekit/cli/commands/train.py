"""`aekit train`: fit on a table, save the model folder, report; stop and resume."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...version import __version__
from ..arguments import (
    TABLE_HELP,
    add_checkpoint_options,
    add_data_options,
    add_estimator_options,
    add_tracking_options,
)
from ..config import check_resume_options, checkpoint_options, resolve_train_options
from ..inputs import read_features
from ..model_dir import check_model_dir, history_csv
from ..options import (
    DATA_OPTIONS,
    DEFAULT_VERBOSE,
    ESTIMATOR_OPTIONS,
    EXIT_OK,
    HISTORY_FILE,
    TRAIN_CONFIG_FILE,
    CommandError,
)
from ..resume import diverged
from ..text import dead_text
from ..track import log_artifacts, log_probes, make_trackers

if TYPE_CHECKING:
    from ...data import Features
    from ...estimator import AutoEncoder

NAME = "train"
HELP = "train a model on a table and save it to a folder"
EXAMPLE = """\
example:
  aekit train digits.csv -o model --label-column label --latent-dim 16 \\
      --max-epochs 30 --random-state 0
  aekit train features.npy -o model --config train.yaml --lr 3e-4
  aekit train features.npy -o model --checkpoint-dir ckpt   # then, if stopped:
  aekit train features.npy -o model --resume ckpt
  aekit train digits.csv -o model --track mlflow --track tensorboard:runs

A config file (.json, .yaml) maps option names (latent_dim: 16) to values; flags
given on the command line win. The resolved configuration is written to
MODEL_DIR/train_config.json, which can be passed back as --config.

SIGINT (Ctrl-C) or SIGTERM stops training after the current batch; with
--checkpoint-dir that exact point is saved, and the command that resumes it is
printed. --resume takes the options from the checkpoint; options given
(e.g. --max-epochs, --lr) override them where a resumed run allows it.

--track logs parameters, every epoch and the final scores to MLflow (with the
model folder and its report as artifacts) or TensorBoard; a resumed run with
the same --track continues the same MLflow run and TensorBoard curves."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """DATA, -o MODEL_DIR, --config, and the data, estimator and checkpoint options."""
    p.add_argument("data", metavar="DATA", help=TABLE_HELP)
    p.add_argument(
        "-o",
        "--output",
        metavar="MODEL_DIR",
        required=True,
        help="folder to save the model in (created, or an aekit model replaced)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="options from a .json or .yaml file"
    )
    add_data_options(p)
    add_estimator_options(p)
    add_checkpoint_options(p)
    add_tracking_options(p, tensorboard=True)


def run(args: argparse.Namespace) -> int:
    """Train on DATA with the resolved options; save the model to -o."""
    from ... import distributed
    from ...errors import DivergenceError

    options = resolve_train_options(args)
    ckpt = checkpoint_options(args)
    if "resume_from" in ckpt:
        check_resume_options(options, ckpt["params"], ckpt["resume_from"])
    out = check_model_dir(Path(args.output), ckpt.get("checkpoint_dir"))
    trackers = make_trackers(args, run_name=out.name)
    features = read_features(
        args.data,
        out,
        key=options.get("key"),
        label_column=options.get("label_column"),
        exclude_columns=options.get("exclude_columns") or (),
        quiet=not options.get("verbose", DEFAULT_VERBOSE),
    )
    est = make_estimator(options, ckpt.get("params"))
    fit_kwargs = {k: v for k, v in ckpt.items() if k != "params"}
    try:
        seconds = fit(est, features, [*_callbacks(), *trackers], **fit_kwargs)
    except DivergenceError as e:
        raise diverged(e, args, ckpt.get("checkpoint_dir"), est.lr) from None
    if not distributed.world().is_main:  # under torchrun, rank 0 alone writes
        return EXIT_OK
    save_model(est, out, options, args)
    if features.label is not None:
        log_probes(trackers, est, features.X, features.label)
    if any(hasattr(t, "log_artifacts") for t in trackers):
        with tempfile.TemporaryDirectory() as tmp:
            log_artifacts(trackers, [out, *_report(est, Path(tmp))])
    if est.verbose:
        print(train_summary(est, out, seconds))
    return EXIT_OK


def _report(est: AutoEncoder, folder: Path) -> list[Path]:
    """The HTML report of the fit in `folder` (none without aekit[report])."""
    try:
        from ...report import write_report

        return [write_report(est.fitted_, folder / "report.html", record=est.record_)]
    except ImportError:
        return []


def make_estimator(
    options: dict[str, Any], saved: dict[str, Any] | None = None
) -> AutoEncoder:
    """The AutoEncoder of `options`; resuming, of the checkpoint's `saved` params.

    Options given (flags or --config) override the saved ones (those a resumed
    run may not change were refused before). verbose is this command's
    (`DEFAULT_VERBOSE` unless --verbose, --quiet or --config say otherwise),
    not the checkpoint's nor the estimator's default.
    """
    from ...estimator import AutoEncoder
    from ...params import check_params

    params = {k: v for k, v in (saved or {}).items() if k in ESTIMATOR_OPTIONS}
    params.pop("verbose", None)
    params.update({k: v for k, v in options.items() if k in ESTIMATOR_OPTIONS})
    params.setdefault("verbose", DEFAULT_VERBOSE)
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    try:
        check_params(params, label=lambda name: "--" + name.replace("_", "-"))
    except ValueError as e:
        raise CommandError(str(e)) from None
    return AutoEncoder(**params)


def _callbacks() -> list[Any]:
    """Callbacks for `fit`: SIGINT/SIGTERM stop training at the next step."""
    from ...checkpoint import StopOnSignal

    return [StopOnSignal()]


def fit(
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


def save_model(
    est: AutoEncoder, out: Path, options: dict[str, Any], args: argparse.Namespace
) -> None:
    """The model, the resolved configuration and the history, in one atomic save.

    All three go into the same temporary folder, renamed into place whole, so
    an interrupt, a full disk or a concurrent run never leaves a mixture.
    """
    from ...jsonable import jsonable

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
    est.save(out, extra_files=files)


def train_summary(est: AutoEncoder, out: Path, seconds: float) -> str:
    """The lines printed after training: epochs, best loss, dead units, where saved."""
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
            f"dead units: {dead_text(last.get('dead_fraction', {}))}",
            f"model saved to {out}",
        ]
    )
