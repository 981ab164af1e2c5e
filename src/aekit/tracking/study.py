"""`MLflowStudy`: a hyperparameter search in MLflow, a parent run and a run per trial."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from .mlflow_logger import MLflowLogger, experiment_id
from .values import import_mlflow, param_values

# Optuna's trial states as MLflow run statuses: a pruned trial was stopped
TRIAL_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


class MLflowStudy:
    """One parent run for a search (`aekit.tune`), one nested run per trial.

    The parent run holds the search's setup as parameters and, at the end,
    the best trial and the test scores; each trial's run (an `MLflowLogger`
    of the trial's fit, nested under the parent) holds its parameters and
    epochs, its value (``validation_mse``) and the tag ``aekit.trial_state``:
    COMPLETE, PRUNED (status KILLED) or FAIL (status FAILED).

    Parameters
    ----------
    tracking_uri, experiment, run_name : str, optional
        As for `MLflowLogger`; `run_name` names the parent run.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        run_name: str | None = None,
    ) -> None:
        import_mlflow()
        self.tracking_uri, self.experiment, self.run_name = (
            tracking_uri,
            experiment,
            run_name,
        )
        self.run_id: str | None = None
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The `mlflow.tracking.MlflowClient` of `tracking_uri`."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(self.tracking_uri)
        return self._client

    def begin(self, study_name: str, setup: Mapping[str, Any]) -> None:
        """Open the parent run, with the search's setup as parameters."""
        from mlflow.entities import Param

        from ..version import __version__

        run = self.client.create_run(
            experiment_id(self.client, self.experiment),
            run_name=self.run_name or study_name,
            tags={"aekit.version": __version__, "aekit.study": study_name},
        )
        self.run_id = str(run.info.run_id)
        params = [Param(k, v) for k, v in param_values(setup).items()]
        self.client.log_batch(self.run_id, params=params)

    def trial_logger(self, number: int) -> MLflowLogger:
        """The callback that logs trial `number`'s fit as a nested run."""
        return MLflowLogger(
            self.tracking_uri,
            self.experiment,
            run_name=f"trial {number}",
            tags={"aekit.trial": str(number)},
            parent_run_id=self.run_id,
        )

    def end_trial(
        self, logger: MLflowLogger, state: str, value: float | None = None
    ) -> None:
        """Mark the trial's run: `state` COMPLETE, PRUNED or FAIL, and its value."""
        if logger.run_id is None:
            return
        if value is not None:
            self.client.log_metric(logger.run_id, "validation_mse", value)
        self.client.set_tag(logger.run_id, "aekit.trial_state", state)
        self.client.set_terminated(logger.run_id, TRIAL_STATUS[state])

    def end(self, summary: Mapping[str, Any], status: str = "FINISHED") -> None:
        """Close the parent run with the best trial and the test scores."""
        if self.run_id is None:
            return
        values = {"best_value": summary.get("best_value")}
        for k, v in (summary.get("test_mse") or {}).items():
            values[f"test_mse/{k}"] = v
        for k, v in (summary.get("test_ratios") or {}).items():
            values[f"test_ratio/{k}"] = v
        for k, v in values.items():
            if isinstance(v, (int, float)):
                self.client.log_metric(self.run_id, k, float(v))
        self.client.set_tag(self.run_id, "aekit.best_trial", summary.get("best_trial"))
        for state, n in (summary.get("trials_by_state") or {}).items():
            self.client.set_tag(self.run_id, f"aekit.trials.{state}", n)
        self.client.set_terminated(self.run_id, status)

    def log_artifacts(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Add files and folders (the best model, the study report) to the parent."""
        if self.run_id is None:
            return
        for p in paths:
            path = os.fspath(p)
            if os.path.isdir(path):
                name = os.path.basename(os.path.normpath(path))
                self.client.log_artifacts(self.run_id, path, name)
            else:
                self.client.log_artifact(self.run_id, path)
