"""Experiment tracking against the real libraries: what MLflow and TensorBoard hold.

Every test reads back what was logged (MlflowClient on a SQLite store in a
temporary folder, TensorBoard's EventAccumulator on the event files), also
after a fit killed and resumed from a checkpoint: one value per epoch, none
missing or repeated, equal to the uninterrupted run's.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from aekit import AutoEncoder
from aekit.checkpoint import latest_checkpoint
from aekit.cli import main
from aekit.cli.commands import train as train_command
from aekit.train import Callback, TrainState

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

from aekit.callbacks import MLflowLogger, TensorBoardLogger  # noqa: E402
from aekit.tracking import MLflowStudy, fit_values  # noqa: E402

KW = dict(
    latent_dim=2,
    max_epochs=4,
    batch_size=16,
    patience=None,
    random_state=3,
    verbose=0,
    dead_units="ignore",
)
_names = itertools.count()


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(7).random((80, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def reference(X) -> AutoEncoder:
    """The uninterrupted run that every resumed run's logged values must equal."""
    return AutoEncoder(**KW).fit(X)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """(tracking URI, client, artifact root) of one SQLite store for the module.

    Creating the store's tables takes seconds, so the tests share it, each in
    an experiment of its own whose artifacts stay in the temporary folder.
    """
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    return uri, MlflowClient(uri), root / "artifacts"


@pytest.fixture
def experiment(store) -> str:
    """A new experiment's name, its artifacts under the store's temporary folder."""
    uri, client, artifacts = store
    name = f"exp{next(_names)}"
    client.create_experiment(name, artifact_location=(artifacts / name).as_uri())
    return name


def runs(store, experiment):
    _, client, _ = store
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id])


def steps_and_values(client, run_id: str, key: str) -> list[tuple[int, float]]:
    history = client.get_metric_history(run_id, key)
    return sorted((m.step, m.value) for m in history)


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of the event files in `log_dir`: (step, value) in order."""
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {
        tag: [(e.step, e.value) for e in acc.Scalars(tag)]
        for tag in acc.Tags()["scalars"]
    }


class Crash(Callback):
    """Die after epoch `epoch` has been logged: what a kill leaves behind."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch == self.epoch:
            raise RuntimeError("killed")


class StopAt(Callback):
    """Request a stop (as a signal would) after `step` batches of epoch `epoch`+1."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_batch_end(self, state: TrainState) -> None:
        if (state.epoch, state.step) == self.at:
            state.stop_requested = True


# -- what one fit logs -----------------------------------------------------------


def test_mlflow_holds_the_params_every_epoch_the_scores_and_the_artifacts(
    X, store, experiment, tmp_path
):
    uri, client, _ = store
    logger = MLflowLogger(uri, experiment=experiment, run_name="digits")
    ae = AutoEncoder(**KW).fit(X, callbacks=[logger])
    ae.save(tmp_path / "model")
    logger.log_artifacts([tmp_path / "model"])

    (run,) = runs(store, experiment)
    assert run.info.run_id == logger.run_id and run.info.run_name == "digits"
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["latent_dim"] == "2" and params["batch_size"] == "16"
    assert params["max_epochs"] == "4" and params["patience"] == "None"
    assert set(params) == set(ae.get_params())
    for key in ("train_loss", "val_loss"):
        logged = steps_and_values(client, run.info.run_id, key)
        assert logged == [(h["epoch"], h[key]) for h in ae.history_]
    for layer, share in ae.history_[-1]["dead_fraction"].items():
        dead = steps_and_values(client, run.info.run_id, f"dead_fraction/{layer}")
        assert [s for s, _ in dead] == [1, 2, 3, 4] and dead[-1][1] == share
    m = ae.record_.metrics
    final = run.data.metrics
    ae_mse, pca_mse = (
        m["autoencoder"]["validation"]["mse"],
        m["pca"]["validation"]["mse"],
    )
    assert final["final/autoencoder/validation/mse"] == pytest.approx(ae_mse)
    assert final["final/pca/validation/mse"] == pytest.approx(pca_mse)
    assert final["final/mse_ratio_to_pca"] == pytest.approx(ae_mse / pca_mse)
    assert final["best_epoch"] == ae.best_epoch_
    files = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/config.json", "model/model.safetensors"} <= files


def test_tensorboard_holds_every_epoch_once(X, tmp_path):
    ae = AutoEncoder(**KW).fit(X, callbacks=[TensorBoardLogger(tmp_path / "tb")])
    logged = scalars(tmp_path / "tb")
    for key in ("train_loss", "val_loss"):
        assert [s for s, _ in logged[key]] == [1, 2, 3, 4]
        values = [v for _, v in logged[key]]
        assert values == pytest.approx([h[key] for h in ae.history_], rel=1e-6)
    layers = ae.history_[0]["dead_fraction"]
    assert {f"dead_fraction/{name}" for name in layers} <= set(logged)
    final = logged["final/mse_ratio_to_pca"]
    assert final == [(4, pytest.approx(fit_values(ae.record_.metrics)[
        "final/mse_ratio_to_pca"], rel=1e-6))]  # fmt: skip


def test_a_rank_other_than_0_logs_nothing(X, store, experiment, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from aekit.distributed import World
    from aekit.tracking import mlflow_logger, tensorboard_logger

    rank1 = SimpleNamespace(world=lambda: World(rank=1, size=2))
    monkeypatch.setattr(mlflow_logger, "distributed", rank1)
    monkeypatch.setattr(tensorboard_logger, "distributed", rank1)
    uri, _, _ = store
    logger = MLflowLogger(uri, experiment=experiment)
    tb = TensorBoardLogger(tmp_path / "tb")
    AutoEncoder(**KW).fit(X, callbacks=[logger, tb])
    logger.log_artifacts([tmp_path])
    assert runs(store, experiment) == [] and logger.run_id is None
    assert not (tmp_path / "tb").exists()


# -- resuming: each epoch once -----------------------------------------------------


def test_a_killed_fit_resumed_logs_each_epoch_once_in_the_same_run(
    X, reference, store, experiment, tmp_path
):
    """Killed after epoch 3 was logged, resumed from the checkpoint of epoch 2."""
    uri, client, _ = store
    ck, tb = tmp_path / "ck", tmp_path / "tb"
    first = MLflowLogger(uri, experiment=experiment)
    with pytest.raises(RuntimeError, match="killed"):
        AutoEncoder(**KW).fit(
            X,
            callbacks=[first, TensorBoardLogger(tb), Crash(3)],
            checkpoint_dir=ck,
            checkpoint_every=2,
        )
    (run,) = runs(store, experiment)
    assert run.info.status == "FAILED"
    assert [s for s, _ in steps_and_values(client, first.run_id, "train_loss")] == [
        1, 2, 3,
    ]  # fmt: skip
    assert latest_checkpoint(ck).name == "ckpt-000002"

    second = MLflowLogger(uri, experiment=experiment)
    ae = AutoEncoder(**KW).fit(
        X, callbacks=[second, TensorBoardLogger(tb)], resume_from=ck
    )
    assert second.run_id == first.run_id
    (run,) = runs(store, experiment)
    assert run.info.status == "FINISHED"
    expected = [(h["epoch"], h["train_loss"]) for h in reference.history_]
    assert [h["train_loss"] for h in ae.history_] == [v for _, v in expected]
    assert steps_and_values(client, run.info.run_id, "train_loss") == expected
    logged = scalars(tb)
    assert [s for s, _ in logged["train_loss"]] == [1, 2, 3, 4]
    assert [v for _, v in logged["train_loss"]] == pytest.approx(
        [v for _, v in expected], rel=1e-6
    )


def test_a_fit_stopped_mid_epoch_and_resumed_misses_no_epoch(
    X, reference, store, experiment, tmp_path
):
    uri, client, _ = store
    ck, tb = tmp_path / "ck", tmp_path / "tb"
    first = MLflowLogger(uri, experiment=experiment)
    AutoEncoder(**KW).fit(
        X, callbacks=[first, TensorBoardLogger(tb), StopAt(2, 3)], checkpoint_dir=ck
    )
    second = MLflowLogger(uri, experiment=experiment)
    AutoEncoder(**KW).fit(X, callbacks=[second, TensorBoardLogger(tb)], resume_from=ck)
    assert second.run_id == first.run_id and len(runs(store, experiment)) == 1
    expected = [(h["epoch"], h["val_loss"]) for h in reference.history_]
    assert steps_and_values(client, first.run_id, "val_loss") == expected
    assert [s for s, _ in scalars(tb)["val_loss"]] == [1, 2, 3, 4]


def test_a_resume_without_the_logger_is_filled_in_by_the_next(
    X, reference, store, experiment, tmp_path
):
    """Epochs trained while no logger ran come from the checkpoint's history."""
    uri, client, _ = store
    ck = tmp_path / "ck"
    first = MLflowLogger(uri, experiment=experiment)
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, callbacks=[first], checkpoint_dir=ck)
    AutoEncoder(**{**KW, "max_epochs": 3}).fit(X, resume_from=ck, checkpoint_dir=ck)
    second = MLflowLogger(uri, experiment=experiment)
    AutoEncoder(**KW).fit(X, callbacks=[second], resume_from=ck)
    assert second.run_id == first.run_id
    expected = [(h["epoch"], h["train_loss"]) for h in reference.history_]
    assert steps_and_values(client, first.run_id, "train_loss") == expected
    # max_epochs may change on resume; the run keeps the first value, tagged the new
    run = client.get_run(first.run_id)
    assert run.data.params["max_epochs"] == "1"
    assert run.data.tags["aekit.resumed_with.max_epochs"] == "4"


def test_a_new_fit_with_the_same_logger_is_a_new_run(X, store, experiment):
    uri, _, _ = store
    logger = MLflowLogger(uri, experiment=experiment)
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, callbacks=[logger])
    first = logger.run_id
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, callbacks=[logger])
    assert logger.run_id != first and len(runs(store, experiment)) == 2


# -- missing extras ------------------------------------------------------------------


def test_a_missing_mlflow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r"pip install aekit\[mlflow\]"):
        MLflowLogger()
    with pytest.raises(ImportError, match=r"pip install aekit\[mlflow\]"):
        MLflowStudy()


def test_a_missing_tensorboard_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install aekit\[tensorboard\]"):
        TensorBoardLogger(tmp_path)


# -- the CLI -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table(tmp_path_factory, X) -> Path:
    path = tmp_path_factory.mktemp("data") / "x.npy"
    np.save(path, X)
    return path


OPTIONS = ["--latent-dim", "2", "--batch-size", "16", "--random-state", "3"]
OPTIONS += ["--dead-units", "ignore", "--quiet", "--max-epochs", "4"]


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_train_tracks_to_mlflow_and_tensorboard(
    capsys, table, store, experiment, tmp_path
):
    uri, client, _ = store
    out, tb = tmp_path / "model", tmp_path / "tb"
    track = ["--track", f"mlflow:{uri}", "--track", f"tensorboard:{tb}"]
    code, _, err = run(
        capsys, "train", table, "-o", out, *OPTIONS, *track, "--experiment", experiment
    )
    assert (code, err) == (0, "")
    (r,) = runs(store, experiment)
    assert r.info.run_name == "model" and r.info.status == "FINISHED"
    assert [s for s, _ in steps_and_values(client, r.info.run_id, "val_loss")] == [
        1, 2, 3, 4,
    ]  # fmt: skip
    top = {a.path for a in client.list_artifacts(r.info.run_id)}
    assert "model" in top
    folder = {a.path for a in client.list_artifacts(r.info.run_id, "model")}
    assert {"model/config.json", "model/history.csv"} <= folder
    pytest.importorskip("matplotlib")
    assert "report.html" in top
    assert [s for s, _ in scalars(tb)["train_loss"]] == [1, 2, 3, 4]


def test_train_resumed_with_track_continues_the_run(
    capsys, table, store, experiment, tmp_path, monkeypatch
):
    uri, client, _ = store
    ck = tmp_path / "ck"
    track = ["--track", f"mlflow:{uri}", "--experiment", experiment]
    with monkeypatch.context() as m:
        stop = StopAt(1, 2)
        m.setattr(train_command, "_callbacks", lambda: [stop])
        argv = ["train", table, "-o", tmp_path / "m1", *OPTIONS, *track]
        assert run(capsys, *argv, "--checkpoint-dir", ck)[0] == 0
    argv = ["train", table, "-o", tmp_path / "m2", "--quiet", *track]
    assert run(capsys, *argv, "--resume", ck)[0] == 0
    (r,) = runs(store, experiment)
    assert [s for s, _ in steps_and_values(client, r.info.run_id, "train_loss")] == [
        1, 2, 3, 4,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "value, message",
    [
        ("wandb", "expected mlflow, mlflow:URI or tensorboard:DIR, got 'wandb'"),
        ("tensorboard", "tensorboard needs a folder for its event files"),
    ],
)
def test_a_bad_track_is_one_line_and_status_2(capsys, table, tmp_path, value, message):
    code, out, err = run(capsys, "train", table, "-o", tmp_path / "m", "--track", value)
    assert code == 2 and out == ""
    assert err.startswith("aekit: error: argument --track: ") and message in err
    assert err.count("\n") == 1


def test_train_without_the_extra_is_one_line_and_status_2(
    capsys, table, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    code, _, err = run(
        capsys, "train", table, "-o", tmp_path / "m", "--track", "mlflow"
    )
    assert (code, err) == (2, f"aekit: error: {_mlflow_extra()}\n")
    assert not (tmp_path / "m").exists()


def test_tune_tracks_mlflow_only(capsys, table, tmp_path):
    argv = ["tune", table, "-o", tmp_path / "b", "--latent-dim", "2"]
    code, _, err = run(capsys, *argv, "--track", f"tensorboard:{tmp_path}")
    assert code == 2 and "aekit tune tracks one MLflow store" in err


def _mlflow_extra() -> str:
    from aekit.tracking import MLFLOW_EXTRA

    return MLFLOW_EXTRA


# -- a search --------------------------------------------------------------------------


@pytest.mark.slow
def test_tune_has_a_parent_run_and_a_nested_run_per_trial(X, store, experiment):
    optuna = pytest.importorskip("optuna")

    from aekit import tune

    class PruneTrial1(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            return trial.number == 1

    uri, client, _ = store
    tracker = MLflowStudy(uri, experiment=experiment, run_name="search")
    result = tune(
        X, latent_dim=2, n_trials=3, fixed={"max_epochs": 3}, pruner=PruneTrial1(),
        compare_default=False, verbose=0, tracker=tracker,
    )  # fmt: skip
    by_name = {r.info.run_name: r for r in runs(store, experiment)}
    parent = by_name.pop("search")
    assert parent.info.status == "FINISHED"
    assert parent.data.params["latent_dim"] == "2"
    assert parent.data.metrics["best_value"] == pytest.approx(result.best_value)
    assert sorted(by_name) == ["trial 0", "trial 1", "trial 2"]
    for name, r in by_name.items():
        assert r.data.tags["mlflow.parentRunId"] == parent.info.run_id
        pruned = name == "trial 1"
        assert r.data.tags["aekit.trial_state"] == ("PRUNED" if pruned else "COMPLETE")
        assert r.info.status == ("KILLED" if pruned else "FINISHED")
        assert ("validation_mse" in r.data.metrics) is not pruned
        steps = [s for s, _ in steps_and_values(client, r.info.run_id, "val_loss")]
        assert steps == ([1] if pruned else [1, 2, 3])


def test_train_with_labels_tracks_the_probes_of_the_validation_rows(
    capsys, X, store, experiment, tmp_path
):
    import csv

    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", *(f"f{j}" for j in range(X.shape[1]))])
        for i, x in enumerate(X):
            w.writerow([i % 2, *map(float, x)])
    uri, client, _ = store
    tb = tmp_path / "tb"
    track = ["--track", f"mlflow:{uri}", "--track", f"tensorboard:{tb}"]
    argv = ["train", path, "-o", tmp_path / "m", *OPTIONS, "--label-column", "label"]
    assert run(capsys, *argv, *track, "--experiment", experiment)[0] == 0
    (r,) = runs(store, experiment)
    for rep in ("autoencoder", "pca", "raw"):
        for name in ("logistic", "knn"):
            key = f"final/probe/{rep}/{name}"
            assert 0 <= r.data.metrics[key] <= 1
            assert steps_and_values(client, r.info.run_id, key)[0][0] == 4
            assert [s for s, _ in scalars(tb)[key]] == [4]


def test_a_checkpoint_holds_the_loggers_state_and_refuses_a_bad_one(X, tmp_path):
    import json

    from aekit.checkpoint import STATE_FILE, load_checkpoint
    from aekit.errors import ModelFormatError

    tb = TensorBoardLogger(tmp_path / "tb")
    AutoEncoder(**KW).fit(X, callbacks=[tb], checkpoint_dir=tmp_path / "ck")
    ckpt = load_checkpoint(tmp_path / "ck")
    # saved before the logger wrote epoch 4: the resumed run writes it again
    # (beside the loop's own: the default family's start decision)
    assert ckpt.callback_states[tb.state_key] == {"logged_through": 3}
    state_file = ckpt.path / STATE_FILE
    doc = json.loads(state_file.read_text())
    doc["state"]["callbacks"] = {tb.state_key: 3}
    state_file.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match="callbacks is not a mapping"):
        load_checkpoint(ckpt.path)


# -- under torchrun: rank 0 alone logs ---------------------------------------------


@pytest.mark.slow
def test_under_torchrun_rank_0_alone_logs(table, tmp_path):
    # two real gloo ranks train one model: one MLflow run, one TensorBoard event
    # file, each epoch once (a second rank logging would double every step)
    import os
    import subprocess

    from mlflow.tracking import MlflowClient

    from aekit import distributed

    env = {k: v for k, v in os.environ.items() if k not in distributed.ENV_VARS}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    uri, tb = f"sqlite:///{tmp_path}/mlflow.db", tmp_path / "tb"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    cmd += ["-m", "aekit", "train", str(table), "-o", str(tmp_path / "model")]
    cmd += [*OPTIONS, "--track", f"mlflow:{uri}", "--track", f"tensorboard:{tb}"]
    cmd += ["--experiment", "ranks"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("ranks")
    (r,) = client.search_runs([exp.experiment_id])
    assert [s for s, _ in steps_and_values(client, r.info.run_id, "val_loss")] == [
        1, 2, 3, 4,
    ]  # fmt: skip
    assert len(list(tb.rglob("events.out.tfevents.*"))) == 1
    assert [s for s, _ in scalars(tb)["train_loss"]] == [1, 2, 3, 4]
