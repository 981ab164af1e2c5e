"""`aekit tune`: search hyperparameters on a table, save the best model and the study."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .. import __version__
from .options import EXIT_OK, HISTORY_FILE, TRAIN_CONFIG_FILE, CommandError
from .train import _check_model_dir, history_csv, read_features

STUDY_FILE = "study.json"
STUDY_REPORT = "study.html"


def _cmd_tune(args: argparse.Namespace) -> int:
    from ..jsonable import jsonable

    try:
        import optuna
    except ImportError:
        raise CommandError("aekit tune needs Optuna: pip install aekit[tune]") from None
    from ..search import save_result, tune
    from ..search.space import read_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per trial instead
    out = _check_model_dir(Path(args.output))
    space = read_space(args.space) if args.space else None
    features = read_features(
        args.data,
        out,
        key=args.key,
        label_column=args.label_column,
        exclude_columns=args.exclude_columns or (),
    )
    fixed: dict[str, Any] = {}
    if args.max_epochs is not None:
        fixed["max_epochs"] = args.max_epochs
    if args.device is not None:
        fixed["device"] = args.device
    result = tune(
        features.X,
        latent_dim=args.latent_dim,
        n_trials=args.trials,
        timeout=args.timeout,
        storage=args.storage,
        study_name=args.study_name,
        space=space,
        random_state=args.random_state,
        test_fraction=args.test_fraction,
        pruner=args.pruner,
        fixed=fixed,
        compare_default=not args.no_default,
        verbose=1,
        progress=lambda line: print(line, flush=True),
    )
    est = result.best_estimator
    summary = result.summary()
    resolved = {
        "aekit_version": __version__,
        "data": os.path.abspath(args.data),
        **{k: v for k, v in est.get_params().items()},
        "seed": est.seed_,
        "tuned": True,
    }
    files = {
        TRAIN_CONFIG_FILE: (json.dumps(jsonable(resolved), indent=2) + "\n").encode(),
        HISTORY_FILE: history_csv(est.history_).encode(),
    }
    try:
        from ..report.study import build_study_report

        files[STUDY_REPORT] = build_study_report(summary, est.record_).encode("utf-8")
    except ImportError:
        pass  # the report needs matplotlib (aekit[report]); study.json has it all
    save_result(result, out, files)
    print(_final_lines(summary, out))
    return EXIT_OK


def _final_lines(summary: dict[str, Any], out: Path) -> str:
    t, r = summary["test_mse"], summary["test_ratios"]
    lines = [
        f"best trial {summary['best_trial']}: validation MSE "
        f"{summary['best_value']:.6g}; saved to {out} (with {STUDY_FILE})",
    ]
    if t:
        n = summary["setup"]["n_test_rows"]
        names = {"model": "tuned model", "pca": "PCA", "default": "default model"}
        for k in ("model", "pca", "default"):
            if k in t:
                lines.append(f"test MSE ({n} held-out rows), {names[k]}: {t[k]:.6g}")
        lines += [f"{k.replace('_', ' ')}: {v:.3f}" for k, v in r.items()]
    return "\n".join(lines)
