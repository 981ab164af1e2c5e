"""The Optuna study of a search: creating or resuming it, its pruner, its trials' lines.

A study resumes only with the setup it was created with (rows, code size,
seed, test share, space and fixed parameters), which it keeps as a user
attribute. A new study's first trial is the default AutoEncoder, when the
space holds it.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..logs import get_logger, say
from .space import default_point
from .storage import fail_orphans, make_storage

PRUNERS = ("hyperband", "halving", "median", "none")
SETUP_KEYS = ("n_rows", "n_features", "latent_dim", "random_state", "test_fraction")
MIN_EPOCHS = 5
"""Epochs before any trial is judged: at epoch 1 a PCA-anchored trial is a PCA
already and a random-start one is not, and pruning there judges the start."""


TPE_OPTIONS: dict[str, Any] = {"multivariate": True, "group": True}
"""`optuna.samplers.TPESampler` options of every search (both backends):
multivariate TPE, one density over the parameters drawn together (``group``:
over each family's own set). In 10-minute searches it found configurations as
good or better than independent TPE on MNIST, COIL-20 and Yale (see
benchmarks/RESULTS.md); a benchmark empties it to compare."""


def make_sampler(optuna: Any, seed: int | None) -> Any:
    """The search's TPE sampler (`TPE_OPTIONS`), without Optuna's experimental-feature warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, **TPE_OPTIONS)


def import_optuna() -> Any:
    """The ``optuna`` module; ImportError naming the extra when it is missing."""
    try:
        import optuna
    except ImportError:
        raise ImportError(
            "the hyperparameter search needs Optuna: pip install aekit[tune]"
        ) from None
    return optuna


def make_pruner(optuna: Any, name: Any) -> Any:
    """The Optuna pruner called `name` (one of `PRUNERS`), or `name` itself if a pruner."""
    p = optuna.pruners
    if not isinstance(name, str):
        return name  # an Optuna pruner
    if name == "hyperband":
        return p.HyperbandPruner(min_resource=MIN_EPOCHS, reduction_factor=3)
    if name == "halving":
        return p.SuccessiveHalvingPruner(min_resource=MIN_EPOCHS, reduction_factor=3)
    if name == "median":
        return p.MedianPruner(n_startup_trials=3, n_warmup_steps=MIN_EPOCHS - 1)
    return p.NopPruner()


def open_study(
    optuna: Any,
    storage: str | None,
    study_name: str | None,
    pruner: Any,
    setup: dict[str, Any],
    say: Callable[[str], None],
) -> Any:
    """Create the study, or load it from `storage` when it has the same `setup`.

    In memory the sampler is seeded with the setup's ``random_state``; in a
    shared storage each worker's sampler is not, so that workers do not draw
    the same trials. Trials left running by a worker that is gone are failed
    (and `say` says so).
    """
    store = make_storage(storage)
    study = _create_or_load(
        optuna,
        storage=store,
        study_name=study_name or (None if storage is None else "aekit"),
        direction="minimize",
        sampler=make_sampler(
            optuna, setup["random_state"] if storage is None else None
        ),
        pruner=make_pruner(optuna, pruner),
        load_if_exists=True,
    )
    check_same_setup(study, setup)
    for n in fail_orphans(study, store):
        say(f"trial {n}: failed (its worker is gone)")
    return study


CREATE_TRIES = 5  # workers started at once on a new study: creation races


def _create_or_load(optuna: Any, **kwargs: Any) -> Any:
    """`optuna.create_study(load_if_exists=True)`, safe when workers race to create it.

    Two processes creating the same new study in one database can both miss
    it and both insert it; the loser gets the database's integrity error
    rather than Optuna's "already exists". Trying again loads the winner's.
    """
    import sqlalchemy.exc as sa

    for attempt in range(CREATE_TRIES):
        try:
            return optuna.create_study(**kwargs)
        except (sa.IntegrityError, optuna.exceptions.DuplicatedStudyError):
            if attempt == CREATE_TRIES - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def check_same_setup(study: Any, setup: dict[str, Any]) -> None:
    """Refuse to resume a study run on other rows, another code size or space."""
    before = study.user_attrs.get("setup")
    if before is None:
        study.set_user_attr("setup", setup)
        return
    keys = (*SETUP_KEYS, "space", "fixed", "validation")
    differ = [k for k in keys if before.get(k) != setup.get(k)]
    if differ:
        raise ValueError(
            f"study {study.study_name!r} was run with another {', '.join(differ)}; "
            "use another --study-name, or the same data and options to resume it"
        )


def start_from_default(study: Any, space: Mapping[str, Any], latent_dim: int) -> None:
    """Queue the default AutoEncoder as a new study's first trial, when `space` holds it."""
    start = default_point(space, latent_dim)
    if start is not None and not study.get_trials(deepcopy=False):
        study.enqueue_trial(start, user_attrs={"default": True}, skip_if_exists=True)


def importances(study: Any) -> dict[str, float]:
    """fANOVA importances of the parameters; empty when too few trials completed."""
    import optuna

    try:
        return {
            k: float(v)
            for k, v in optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
            ).items()
        }
    except (RuntimeError, ValueError):
        return {}


def trial_record(t: Any) -> dict[str, Any]:
    """A trial as the summary lists it: number, state, value, params, epochs, curve."""
    return {
        "number": t.number,
        "state": t.state.name.lower(),
        "value": t.value,
        "params": t.params,
        "epochs": t.user_attrs.get("epochs"),
        "seconds": t.user_attrs.get("seconds"),
        "curve": t.user_attrs.get("curve"),
        "default": bool(t.user_attrs.get("default")),
    }


def trial_line(study: Any, trial: Any) -> str:
    """One progress line: number, state, value, best so far."""
    state = trial.state.name.lower()
    epoch = max(trial.intermediate_values, default=None)
    if state == "complete":
        what = f"value {trial.value:.6g}"
    elif state == "pruned":
        last = trial.intermediate_values.get(epoch) if epoch is not None else None
        what = f"pruned at epoch {epoch} (val_loss {last:.6g})" if last else "pruned"
    else:
        what = state
    try:
        best = f"best {study.best_value:.6g} (trial {study.best_trial.number})"
    except ValueError:
        best = "no best yet"
    start = " (the default model)" if trial.user_attrs.get("default") else ""
    return f"trial {trial.number}{start}: {what}; {best}"


def progress_lines(
    verbose: int, progress: Callable[[str], None] | None
) -> Callable[[str], None]:
    """Where the search's lines go when `verbose`: `progress`, else the ``aekit.search`` logger.

    See `aekit.logs`: with no logging configured, the logger's lines are
    written to stderr as well.
    """
    log = get_logger("search")

    def line_out(line: str) -> None:
        if verbose:
            (progress or (lambda s: say(log, s)))(line)

    return line_out


@contextlib.contextmanager
def warnings_only(optuna: Any) -> Iterator[None]:
    """Optuna's own log at WARNING for the block, then as it was.

    Optuna logs an INFO line per trial through a handler of its own; inside a
    search aekit prints its own line per trial, and the two interleaved.
    """
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
