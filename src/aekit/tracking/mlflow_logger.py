"""`MLflowLogger`: a fit as an MLflow run: parameters, epochs, scores, artifacts."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .. import distributed
from ..errors import TrainingInterrupted
from ..record import FitRecord
from ..train import Callback, TrainState
from .values import epoch_values, fit_values, import_mlflow, param_values


class MLflowLogger(Callback):
    """Log a fit to an MLflow run: parameters, every epoch, the scores, artifacts.

    The run gets the estimator's parameters, each epoch's losses and dead-unit
    shares (step = epoch; names in `aekit.tracking.values`), at the end the
    fit-time scores (``final/...``) and its status (FINISHED; KILLED when
    interrupted, FAILED when the fit raised). `log_artifacts` adds files after
    the fit, e.g. the saved model folder and its HTML report. Rank 0 alone
    logs under torchrun. The client is used directly: no active run is left
    in mlflow's global state.

    Resuming from a checkpoint continues the same run: the run's id is this
    callback's state, saved with every checkpoint. The resumed run logs the
    epochs of the checkpoint's history that the run lacks and then goes on;
    an epoch already in the run (logged after the checkpoint, before the kill)
    is not logged again, so each epoch has exactly one value.

    Parameters
    ----------
    tracking_uri : str, optional
        Where runs are stored: ``sqlite:///mlflow.db``, ``http://host:5000``, ...;
        None: mlflow's default (``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).
    experiment : str, optional
        The experiment's name, created when missing; None: mlflow's default
        (``MLFLOW_EXPERIMENT_NAME``, else "Default").
    run_name : str, optional
        The run's name; None: mlflow draws one.
    tags : mapping, optional
        Tags of the run.
    parent_run_id : str, optional
        Make the run a nested run of this one (`aekit tune`'s trials).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((64, 8))
    >>> uri = f"sqlite:///{tempfile.mkdtemp()}/mlflow.db"
    >>> logger = MLflowLogger(uri, experiment="digits")  # doctest: +SKIP
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2).fit(X, callbacks=[logger])  # doctest: +SKIP
    >>> logger.log_artifacts([ae.save("model")])  # doctest: +SKIP
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        run_name: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> None:
        import_mlflow()
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self._client: Any = None
        self._params: dict[str, str] = {}
        self._in_fit = False
        self._active = False  # this rank logs, and a run is open
        self._logged: set[int] = set()  # epochs the run already has (resumed)
        self._restored = False  # run_id came from the checkpoint being resumed

    @property
    def client(self) -> Any:
        """The `mlflow.tracking.MlflowClient` of `tracking_uri`."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(self.tracking_uri)
        return self._client

    @property
    def state_key(self) -> str:
        return f"MLflowLogger:{self.tracking_uri or ''}"

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id} if self.run_id else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_id = state.get("run_id") or None
        self._restored = True

    def on_fit_begin(self, params: Mapping[str, Any]) -> None:
        self._in_fit = True
        self._params = param_values(params)

    def on_train_begin(self, state: TrainState) -> None:
        self._active = distributed.world().is_main
        if not self._active:
            return
        client = self.client
        if not self._restored:
            self.run_id = None  # not resumed: a new run
        self._restored = False
        if self.run_id is not None and self._run_exists(self.run_id):
            client.update_run(self.run_id, status="RUNNING")
            history = client.get_metric_history(self.run_id, "train_loss")
            self._logged = {m.step for m in history}
            logged = client.get_run(self.run_id).data.params
        else:
            self.run_id = self._create_run()
            self._logged, logged = set(), {}
        self._log_params(logged)
        for record in state.history:  # what the checkpoint has and the run lacks
            self._log_epoch(record)

    def on_epoch_end(self, state: TrainState) -> None:
        if self._active:
            self._log_epoch(state.history[-1])

    def on_train_end(self, state: TrainState) -> None:
        if self._active and not self._in_fit:  # train() alone: the run ends here
            self._end("FINISHED")

    def on_fit_end(self, record: FitRecord) -> None:
        self._in_fit = False
        if not self._active:
            return
        from mlflow.entities import Metric

        now, step = _now(), record.n_epochs or 0
        values = fit_values(record.metrics)
        if record.best_epoch is not None:
            values["best_epoch"] = float(record.best_epoch)
        metrics = [Metric(k, v, now, step) for k, v in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)
        self.client.set_tag(self.run_id, "aekit.stopped_early", record.stopped_early)
        self._end("FINISHED")

    def on_exception(self, error: BaseException) -> None:
        self._in_fit = False
        if not self._active or self.run_id is None:  # failed before a run began
            return
        stopped = isinstance(error, (KeyboardInterrupt, TrainingInterrupted))
        self.client.set_tag(self.run_id, "aekit.error", str(error)[:5000])
        self._end("KILLED" if stopped else "FAILED")

    def log_metrics(self, values: Mapping[str, float], step: int = 0) -> None:
        """Add values to the run after the fit (e.g. `probe_values`), at `step`."""
        from mlflow.entities import Metric

        if self.run_id is None or not distributed.world().is_main:
            return
        now = _now()
        metrics = [Metric(k, float(v), now, step) for k, v in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def log_artifacts(
        self, paths: Iterable[str | os.PathLike[str]], artifact_path: str | None = None
    ) -> None:
        """Add files and folders to the run (a folder under its own name).

        Call it after the fit, e.g. with the saved model folder and its report;
        on a rank other than 0, or before any run, it does nothing.
        """
        if self.run_id is None or not distributed.world().is_main:
            return
        for path in map(Path, paths):
            if path.is_dir():
                where = (
                    path.name
                    if artifact_path is None
                    else f"{artifact_path}/{path.name}"
                )
                self.client.log_artifacts(self.run_id, os.fspath(path), where)
            else:
                self.client.log_artifact(self.run_id, os.fspath(path), artifact_path)

    def _create_run(self) -> str:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        from ..version import __version__

        tags = {"aekit.version": __version__, **self.tags}
        if self.parent_run_id is not None:
            tags[MLFLOW_PARENT_RUN_ID] = self.parent_run_id
        run = self.client.create_run(
            experiment_id(self.client, self.experiment),
            run_name=self.run_name,
            tags=tags,
        )
        return str(run.info.run_id)

    def _run_exists(self, run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            return bool(self.client.get_run(run_id).info.lifecycle_stage == "active")
        except MlflowException:
            return False

    def _log_params(self, logged: Mapping[str, str]) -> None:
        """Log the parameters the run lacks; a resumed run's changed ones as tags."""
        from mlflow.entities import Param

        new = [Param(k, v) for k, v in self._params.items() if k not in logged]
        changed = {
            f"aekit.resumed_with.{k}": v
            for k, v in self._params.items()
            if k in logged and logged[k] != v
        }
        if new:
            self.client.log_batch(self.run_id, params=new)
        for k, v in changed.items():
            self.client.set_tag(self.run_id, k, v)

    def _log_epoch(self, record: Mapping[str, Any]) -> None:
        from mlflow.entities import Metric

        epoch = int(record["epoch"])
        if epoch in self._logged:
            return
        now = _now()
        metrics = [Metric(k, v, now, epoch) for k, v in epoch_values(record).items()]
        self.client.log_batch(self.run_id, metrics=metrics)  # one epoch at once
        self._logged.add(epoch)

    def _end(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status)
        self._active = False


def experiment_id(client: Any, name: str | None) -> str:
    """The id of the experiment called `name`, created when missing (None: default)."""
    name = name or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if name is None:
        return "0"  # mlflow's "Default"
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name))


def _now() -> int:
    return int(time.time() * 1000)
