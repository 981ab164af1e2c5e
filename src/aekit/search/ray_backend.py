"""`aekit.tune(..., backend="ray")`: the search's trials as Ray Tune trials.

Optuna stays the searcher (Ray's ``OptunaSearch``, the same define-by-run
space and TPE sampler, the default configuration first); ASHA schedules
(Ray's median stopping rule for ``pruner="median"``, none for ``"none"``),
fed every epoch through `fit_trial`'s ``report`` and judging no trial before
`MIN_EPOCHS`, as the Optuna pruners; each trial asks for its
share of the cluster (``tune.with_resources``) and sets torch's threads from
its CPUs. Every epoch the trial's aekit checkpoint folder goes to Ray
(``Checkpoint.from_directory``): a trial whose worker dies is retried from it
(``FailureConfig``), and a driver killed and rerun restores the experiment
under ``OUT/ray`` (``Tuner.restore``). At the end the Ray trials become an
in-memory Optuna study, the default trial marked and each completed trial's
per-row validation errors kept, so the final pick (`pick_trial`), the refit,
the test and the files are the Optuna backend's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .result import jsonable
from .space import default_point, sample_params
from .study import MIN_EPOCHS, PRUNERS, make_sampler
from .trial import fit_trial

METRIC = "val_mse"


def import_ray() -> Any:
    """The ``ray`` module with Tune; ImportError naming the extra when missing."""
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError:
        raise ImportError(
            "the Ray backend needs Ray Tune: pip install aekit[ray]"
        ) from None
    return ray


def parse_resources(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """``"cpu=2,gpu=0.5"`` (or a mapping) as Ray's per-trial resources; default 1 CPU."""
    if text is None:
        return {"cpu": 1.0, "gpu": 0.0}
    if isinstance(text, Mapping):
        items = dict(text)
    else:
        items = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, val = part.partition("=")
            try:
                items[key.strip()] = float(val)
            except ValueError:
                sep = ""
            if not sep:
                raise ValueError(
                    f"trial resources: {part!r} is not NAME=NUMBER; "
                    f"write e.g. cpu=2,gpu=0.5"
                ) from None
    bad = sorted(k for k in items if k not in ("cpu", "gpu"))
    if bad or any(v < 0 for v in items.values()) or items.get("cpu", 1) <= 0:
        raise ValueError(
            f"trial resources must be cpu > 0 and gpu >= 0, got {items!r}; "
            f"write e.g. cpu=2,gpu=0.5"
        )
    return {"cpu": float(items.get("cpu", 1.0)), "gpu": float(items.get("gpu", 0.0))}


@dataclass
class DefineByRun:
    """The search space as Ray's ``OptunaSearch`` asks for it: draw on the Optuna trial.

    A class, not a closure, so that Ray can pickle the searcher with it.
    """

    space: dict[str, Any]
    latent_dim: int

    def __call__(self, trial: Any) -> None:
        sample_params(trial, self.space, self.latent_dim)


def _trainable(
    config: dict[str, Any],
    *,
    X_search: Any,
    base: Mapping[str, Any],
    space: Mapping[str, Any],
    latent_dim: int,
    cpus: float,
    folds: Any = None,
) -> None:
    """One Ray trial: `fit_trial` with aekit checkpoints handed to Ray each epoch.

    With `folds` (a small table's k-fold values, as on the Optuna backend)
    each fold checkpoints into its own folder of the one handed to Ray; after
    fold 1 the last reported epoch and value are reported again with each
    checkpoint, so the scheduler sees no new epoch. A retried trial resumes
    every fold from its folder: the finished ones as they ended.
    """
    import optuna
    import torch
    from ray import tune

    torch.set_num_threads(max(1, int(cpus)))
    params = {
        **base,
        **sample_params(optuna.trial.FixedTrial(config), space, latent_dim),
    }
    ckpt_dir = Path(tempfile.mkdtemp(prefix="aekit-trial-"))
    # the worker this attempt runs in, for whoever must find it (a test kills it)
    Path(tune.get_context().get_trial_dir(), "pid").write_text(str(os.getpid()))
    out = ckpt_dir / "out" / "aekit"
    out.mkdir(parents=True)
    restored = tune.get_checkpoint()
    resume = None
    if restored is not None:
        resume = Path(restored.to_directory(str(ckpt_dir / "from"))) / "aekit"
        if folds is not None:  # the folds resume from their folders in `out`
            shutil.copytree(resume, out, dirs_exist_ok=True)
            resume = None
    last = out / "last_report.json"  # fold 1's last (epoch, value), kept with it

    t0 = time.perf_counter()

    def send(epoch: int, value: float) -> None:
        tune.report(
            {
                METRIC: value,
                "epoch": epoch,
                "params": jsonable(params),
                "seconds": time.perf_counter() - t0,
            },
            checkpoint=tune.Checkpoint.from_directory(str(ckpt_dir / "out")),
        )

    def report(epoch: int, value: float) -> bool:
        last.write_text(json.dumps([epoch, value]))
        send(epoch, value)
        return False  # ASHA ends a trial it stops at its report

    def saved() -> None:
        if last.exists():
            send(*json.loads(last.read_text()))

    fit = fit_trial(
        params,
        X_search,
        report,
        folds=folds,
        fit_kwargs={
            "checkpoint_dir": out,
            "keep_last": 1,
            "resume_from": None if resume is None else str(resume),
        },
        saved=saved,
    )
    tune.report(
        {
            METRIC: fit.value,
            "epoch": fit.epochs + 1,
            "final": True,
            "seconds": fit.seconds,
            "params": jsonable(params),
            "curve": fit.curve,
            "best_loss": float(fit.estimator.best_loss_),
            # per validation row, for the paired test of the final pick
            "val_errors": None if fit.errors is None else fit.errors.tolist(),
        }
    )


def make_scheduler(pruner: Any, max_t: int) -> Any:
    """Ray's trial scheduler for the search's `pruner` name; None for ``"none"``.

    Hyperband and successive halving both become ASHA (asynchronous successive
    halving, Ray's own pick for Hyperband); every one waits `MIN_EPOCHS`.
    """
    from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule

    if not isinstance(pruner, str) or pruner not in PRUNERS:
        raise ValueError(
            f"the Ray backend takes a pruner by name, one of {list(PRUNERS)}; "
            f"got {pruner!r}"
        )
    if pruner == "none":
        return None
    if pruner == "median":
        return MedianStoppingRule(
            time_attr="epoch", grace_period=MIN_EPOCHS, min_samples_required=3
        )
    return ASHAScheduler(
        time_attr="epoch", max_t=max_t, grace_period=MIN_EPOCHS, reduction_factor=3
    )


@contextlib.contextmanager
def quiet_tune() -> Iterator[None]:
    """Ray Tune's console tables off (its older reporter, silent at ``verbose=0``).

    aekit prints its own line per trial; Ray's box of the experiment and its
    TensorBoard hint would come between them. The variable is put back after.
    """
    before = os.environ.get("RAY_AIR_NEW_OUTPUT")
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
        else:
            os.environ["RAY_AIR_NEW_OUTPUT"] = before


def run_ray(
    plan: Any,
    latent_dim: int,
    n_trials: int | None,
    timeout: float | None,
    out: str | os.PathLike[str] | None,
    trial_resources: Any,
    address: str | None,
    pruner: Any = "hyperband",
    max_failures: int = 3,
    say: Callable[[str], None] = print,
) -> Any:
    """Run the search's trials on Ray; an in-memory Optuna study of what they gave."""
    ray = import_ray()
    import optuna
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    resources = parse_resources(trial_resources)
    # the value comes one step after the last epoch: ASHA must not end a trial there
    max_t = int(plan.base.get("max_epochs", 200)) + 1
    scheduler = make_scheduler(pruner, max_t)
    if not ray.is_initialized():
        if address is None:
            ray.init(
                num_cpus=os.cpu_count(),
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
        else:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    space, seed = plan.space, plan.setup["random_state"]

    define = DefineByRun(dict(space), latent_dim)
    start = default_point(space, latent_dim)
    searcher = OptunaSearch(
        space=define,
        metric=METRIC,
        mode="min",
        sampler=make_sampler(optuna, seed),
        points_to_evaluate=None if start is None else [start],
    )
    trainable = tune.with_resources(
        tune.with_parameters(
            _trainable,
            X_search=plan.X_search,
            base=dict(plan.base),
            space=space,
            latent_dim=latent_dim,
            cpus=resources["cpu"],
            folds=plan.folds,
        ),
        {"cpu": resources["cpu"], "gpu": resources["gpu"]},
    )
    root = Path(
        out if out is not None else tempfile.mkdtemp(prefix="aekit-ray-")
    ).resolve()
    path = root / "ray" / "aekit"
    if tune.Tuner.can_restore(str(path)):
        say(f"resuming the Ray experiment in {path}")
        tuner = tune.Tuner.restore(str(path), trainable, resume_errored=True)
    else:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                metric=METRIC,
                mode="min",
                scheduler=scheduler,
                num_samples=n_trials if n_trials is not None else -1,
                time_budget_s=timeout,
            ),
            run_config=tune.RunConfig(
                name="aekit",
                storage_path=str(root / "ray"),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )
    with quiet_tune():
        grid = tuner.fit()
    return _as_study(optuna, grid, seed, start, say)


def _as_study(
    optuna: Any,
    grid: Any,
    seed: int,
    start: Mapping[str, Any] | None,
    say: Callable[[str], None],
) -> Any:
    """The Ray results as an in-memory Optuna study: completed trials with their value.

    The trial whose configuration is the default point (`start`) is marked
    ``default``, as `start_from_default` marks it on the Optuna backend.
    """
    from optuna.distributions import FloatDistribution

    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    marked = False
    for i, r in enumerate(grid):
        m = r.metrics or {}
        final = bool(m.get("final")) and m.get(METRIC) is not None and r.error is None
        attrs = {
            k: m[k]
            for k in ("params", "seconds", "epoch", "curve", "best_loss", "val_errors")
            if m.get(k) is not None
        }
        if "epoch" in attrs:
            attrs["epochs"] = attrs.pop("epoch") - (1 if final else 0)
        state = (
            optuna.trial.TrialState.COMPLETE
            if final
            else (
                optuna.trial.TrialState.FAIL
                if r.error is not None
                else optuna.trial.TrialState.PRUNED
            )
        )
        config = {
            k: v
            for k, v in (r.config or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if start is not None and not marked and dict(r.config or {}) == dict(start):
            attrs["default"] = marked = True
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=float(m[METRIC]) if final else None,
                params=config,
                distributions={
                    k: FloatDistribution(min(v, 0.0) - 1, max(v, 0.0) + 1)
                    for k, v in config.items()
                },
                user_attrs=attrs,
            )
        )
        say(
            f"ray trial {i}: {state.name.lower()}"
            + (f", validation MSE {m[METRIC]:.5g}" if final else "")
        )
    return study
