"""`aekit tune`: search hyperparameters on a table, save the best model and the study."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...version import __version__
from ..arguments import (
    TABLE_HELP,
    ArgumentAdder,
    add_data_options,
    add_tracking_options,
)
from ..inputs import read_features
from ..model_dir import check_model_dir, history_csv
from ..options import (
    DEFAULT_VERBOSE,
    EXIT_OK,
    HISTORY_FILE,
    TRAIN_CONFIG_FILE,
    CommandError,
)
from ..track import make_study_tracker

if TYPE_CHECKING:
    from ...estimator import AutoEncoder

STUDY_FILE = "study.json"
STUDY_REPORT = "study.html"

NAME = "tune"
HELP = "search hyperparameters (Optuna) and save the best model with the study"
EXAMPLE = """\
example:
  aekit tune digits.npy -o best --latent-dim 32 --trials 30 --timeout 1200
  aekit tune digits.npy -o best --latent-dim 32 --trials 10 \\
      --storage journal:study.log --study-name digits   # run it in several shells
  aekit tune digits.npy -o best --latent-dim 32 --track mlflow:sqlite:///mlflow.db
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """DATA, -o MODEL_DIR, the search's options and the data options."""
    p.add_argument("data", metavar="DATA", help=TABLE_HELP)
    p.add_argument(
        "-o",
        "--output",
        metavar="MODEL_DIR",
        required=True,
        help="folder for the best model, study.json and study.html",
    )
    _add_search_options(p.add_argument_group("search"))
    add_data_options(p)
    add_tracking_options(p, tensorboard=False)


def _add_search_options(g: ArgumentAdder) -> None:
    g.add_argument(
        "--latent-dim", type=int, required=True, metavar="K", help="size of the code"
    )
    g.add_argument(
        "--trials",
        type=int,
        default=20,
        metavar="N",
        help="trials this process runs (default: 20)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="start no trial after this many seconds",
    )
    g.add_argument(
        "--storage",
        metavar="URL",
        help="journal:PATH (processes of one machine) or a database URL such as "
        "sqlite:///study.db or postgresql://user:pass@host/db (many machines); "
        "default: in memory",
    )
    g.add_argument(
        "--study-name", metavar="NAME", help="the study in --storage (default: aekit)"
    )
    g.add_argument(
        "--space", metavar="FILE", help="search space overrides, .json or .yaml"
    )
    g.add_argument(
        "--pruner",
        choices=["hyperband", "halving", "median", "none"],
        default="hyperband",
        help="stops bad trials early (default: hyperband)",
    )
    g.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="share of rows held out from the search and scored at the end "
        "(default: 0.2)",
    )
    g.add_argument(
        "--cv",
        type=cv_value,
        default="auto",
        metavar="K",
        help="how a trial is valued: K-fold cross-validation on the search rows "
        "(K >= 2), 1 for one validation split, or auto: 5-fold below 1000 "
        "search rows, one split above (default: auto)",
    )
    _add_trial_options(g)
    _add_ray_options(g)


def cv_value(text: str) -> int | str:
    """--cv's value: "auto" or a whole number of folds >= 1."""
    if text == "auto":
        return text
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise argparse.ArgumentTypeError(
            f"expected auto or a whole number of folds >= 1, got {text!r}"
        )
    return k


def _add_ray_options(g: ArgumentAdder) -> None:
    g.add_argument(
        "--backend",
        choices=["optuna", "ray"],
        default="optuna",
        help="who runs the trials: optuna here, or ray on a Ray cluster "
        "(pip install aekit[ray]; --storage is then the Ray experiment folder, "
        "default OUT.ray, restored when rerun)",
    )
    g.add_argument(
        "--trial-resources",
        metavar="SPEC",
        help="ray: each trial's share, e.g. cpu=2,gpu=0.5 (default cpu=1)",
    )
    g.add_argument(
        "--address",
        metavar="ADDR",
        help="ray: the cluster to join, auto or ray://host:10001 "
        "(default: a local Ray on this machine's CPUs)",
    )


def _add_trial_options(g: ArgumentAdder) -> None:
    g.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the test split and of every trial (default: 0)",
    )
    g.add_argument(
        "--max-epochs",
        type=int,
        metavar="N",
        help="epochs per trial at most (default: the estimator's 'auto' budget)",
    )
    g.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    g.add_argument(
        "--no-default",
        action="store_true",
        help="skip fitting the default model for the test comparison",
    )


def run(args: argparse.Namespace) -> int:
    """Search on DATA; save the best model, study.json and study.html to -o."""
    try:
        import optuna  # noqa: F401  (the install message before any work)
    except ImportError:
        raise CommandError("aekit tune needs Optuna: pip install aekit[tune]") from None
    if args.backend == "ray":
        try:
            import ray.tune  # noqa: F401
        except ImportError:
            raise CommandError(
                "the Ray backend needs Ray Tune: pip install aekit[ray]"
            ) from None
    from ...search import save_result, tune
    from ...search.space import read_space

    check_budget_flags(args.trials, args.timeout)
    out = check_model_dir(Path(args.output))
    storage = args.storage
    if args.backend == "ray" and storage is None:
        storage = str(out.with_name(out.name + ".ray"))
    tracker = make_study_tracker(args, run_name=args.study_name or out.name)
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
        storage=storage,
        study_name=args.study_name,
        space=space,
        random_state=args.random_state,
        test_fraction=args.test_fraction,
        pruner=args.pruner,
        fixed=fixed,
        cv=args.cv,
        compare_default=not args.no_default,
        verbose=DEFAULT_VERBOSE,
        progress=lambda line: print(line, flush=True),
        tracker=tracker,
        backend=args.backend,
        trial_resources=args.trial_resources,
        address=args.address,
    )
    summary = result.summary()
    save_result(result, out, _study_files(result.best_estimator, summary, args.data))
    if tracker is not None:
        tracker.log_artifacts([out])
    print(final_lines(summary, out))
    return EXIT_OK


def _study_files(
    est: AutoEncoder, summary: dict[str, Any], data: str
) -> dict[str, bytes]:
    """The files saved with the best model: its record, history and study report."""
    from ...jsonable import jsonable

    resolved = {
        "aekit_version": __version__,
        "data": os.path.abspath(data),
        **{k: v for k, v in est.get_params().items()},
        "seed": est.seed_,
        "tuned": True,
    }
    files = {
        TRAIN_CONFIG_FILE: (json.dumps(jsonable(resolved), indent=2) + "\n").encode(),
        HISTORY_FILE: history_csv(est.history_).encode(),
    }
    try:
        from ...report.study import build_study_report

        files[STUDY_REPORT] = build_study_report(summary, est.record_).encode("utf-8")
    except ImportError:
        pass  # the report needs matplotlib (aekit[report]); study.json has it all
    return files


def final_lines(summary: dict[str, Any], out: Path) -> str:
    """The lines printed at the end: the best trial, and the test comparison."""
    t, r = summary["test_mse"], summary["test_ratios"]
    lines = [
        f"picked trial {summary['best_trial']} ({pick_words(summary.get('pick', {}))})"
        f": validation MSE {summary['best_value']:.6g}; saved to {out} "
        f"(with {STUDY_FILE})",
    ]
    if t:
        n = summary["setup"]["n_test_rows"]
        names = {"model": "tuned model", "pca": "PCA", "default": "default model"}
        for k in ("model", "pca", "default"):
            if k in t:
                lines.append(f"test MSE ({n} held-out rows), {names[k]}: {t[k]:.6g}")
        lines += [f"{k.replace('_', ' ')}: {v:.3f}" for k, v in r.items()]
    return "\n".join(lines)


def pick_words(pick: dict[str, Any]) -> str:
    """Why the saved trial is the answer, in a few words (see `pick_trial`)."""
    what = pick.get("picked")
    if what == "tuned":
        if "mean_gain" not in pick:
            return "tuned"
        return (
            f"tuned: beats the default trial {pick['default_trial']} by "
            f"{pick['mean_gain']:.3g} +- {pick['standard_error']:.3g} per row"
        )
    if what == "default" and pick.get("best_trial") != pick.get("default_trial"):
        return (
            f"the default: best trial {pick['best_trial']} gains only "
            f"{pick['mean_gain']:.3g} +- {pick['standard_error']:.3g} per row"
        )
    if what == "default":
        return "the default, best on validation"
    return "the best; no default trial"


def check_budget_flags(trials: int | None, timeout: float | None) -> None:
    """--trials and --timeout as a search can use them, before any work."""
    import math

    if trials is not None and trials < 1:
        raise CommandError(f"--trials must be >= 1, got {trials}")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise CommandError(f"--timeout must be a number of seconds > 0, got {timeout}")
