"""aekit.tune and `aekit tune`: trials, pruning, storages, resume, the CLI."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import aekit  # noqa: E402
from aekit.cli import main  # noqa: E402
from aekit.search import (  # noqa: E402
    run,
    save_result,
    tune,
)
from aekit.search.space import (  # noqa: E402
    default_point,
    default_space,
    read_space,
    sample_params,
)
from aekit.search.storage import WORKER_ATTR, make_storage  # noqa: E402

QUICK = {"max_epochs": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(160, 3))
    return np.tanh(Z @ rng.normal(size=(3, 10))).astype(np.float32)


@pytest.fixture(scope="module")
def study3(X):
    # one validation split (these rows are below KFOLD_BELOW): the trials' values
    # are checked against `validation_mse`; k-fold has tests of its own
    return tune(X, latent_dim=3, n_trials=3, fixed=QUICK, cv=1, verbose=0)


def test_three_trials_in_memory_refit_and_test(study3, X):
    r = study3
    assert len(r.study.trials) == 3
    assert r.best_value == min(t.value for t in r.study.trials if t.value is not None)
    assert r.best_estimator.metrics_ is not None  # refitted with the evaluation
    assert set(r.test_mse) == {"model", "pca", "default"}
    assert all(v > 0 for v in r.test_mse.values())
    s = r.summary()
    assert s["setup"]["n_search_rows"] + s["setup"]["n_test_rows"] == len(X)
    assert s["setup"]["n_test_rows"] == 32
    json.dumps(s, allow_nan=False)  # plain JSON


def search_rows(X, r):
    search_idx, _ = run._split(
        len(X), r.setup["test_fraction"], r.setup["random_state"]
    )
    return X[search_idx]


def test_refit_is_the_best_trial(study3, X):
    # same parameters, same seed, same rows: the refit trains what the trial did
    best = study3.study.best_trial
    assert study3.best_estimator.best_loss_ == pytest.approx(
        best.user_attrs["best_loss"]
    )
    assert run.validation_mse(
        study3.best_estimator, search_rows(X, study3)
    ) == pytest.approx(study3.best_value)


def test_first_trial_is_the_default_model(study3, X):
    first = study3.study.trials[0]
    assert first.user_attrs["default"] is True
    assert first.params == {
        "model": "pca_anchored",
        "depth": 0,
        "lr": 1e-3,
        "batch_size": 64,
        "activation": "relu",
        "weight_decay": 0.0,
        "pca_anchored.train_pca": True,
    }
    default = aekit.AutoEncoder(latent_dim=3, random_state=0, verbose=0, **QUICK)
    default.fit(search_rows(X, study3), evaluate=False)
    assert first.value == pytest.approx(
        run.validation_mse(default, search_rows(X, study3))
    )


def test_default_point_only_inside_the_space():
    space = default_space(10, 3)
    assert default_point(space, 3)["depth"] == 0
    assert default_point({**space, "model": ["halving"]}, 3) is None
    assert default_point({**space, "lr": {"low": 1e-2, "high": 1e-1}}, 3) is None
    assert default_point({**space, "depth": {"low": 1, "high": 2}}, 3) is None
    assert default_point({**space, "latent_dim": [2, 4]}, 3) is None
    assert default_point({**space, "latent_dim": [2, 3]}, 3)["latent_dim"] == 3
    assert default_point({"model": "pca_anchored"}, 3) == {}  # nothing searched


def test_a_penalized_trial_is_valued_by_its_reconstruction_alone(X):
    r = tune(
        X,
        latent_dim=3,
        n_trials=1,
        space={"model": ["variational"], "depth": 0},
        fixed=QUICK,
        cv=1,
        compare_default=False,
        verbose=0,
    )
    trial = r.study.trials[0]
    # the objective adds the KL term and divides by 2 sigma^2: far above the MSE
    assert trial.value < trial.user_attrs["best_loss"] / 10
    assert trial.value == pytest.approx(
        run.validation_mse(r.best_estimator, search_rows(X, r))
    )
    recon = [h["val_parts"]["reconstruction"] for h in r.best_estimator.history_]
    assert trial.user_attrs["curve"] == pytest.approx(recon)


def test_family_options_and_channel_widths_are_searched():
    space = default_space(64, 4)
    assert space["options"]["denoising"]["level"] == {
        "low": 0.05,
        "high": 0.5,
        "log": True,
    }
    assert space["options"]["variational"]["beta"]["high"] == 1.0
    trial = optuna.trial.FixedTrial(
        {
            "model": "convolutional",
            "depth": 2,
            "convolutional.width": 64,
            "lr": 1e-3,
            "batch_size": 32,
            "activation": "relu",
            "weight_decay": 0.0,
        }
    )
    params = sample_params(trial, space, 4)
    assert params["hidden_dims"] == (64, 32)
    trial = optuna.trial.FixedTrial(
        {
            "model": "denoising",
            "depth": 0,
            "lr": 1e-3,
            "batch_size": 32,
            "activation": "relu",
            "weight_decay": 0.0,
            "denoising.train_pca": True,
            "denoising.noise": "swap",
            "denoising.level": 0.3,
        }
    )
    params = sample_params(trial, space, 4)
    assert params["model_options"] == {"train_pca": True, "noise": "swap", "level": 0.3}
    assert "hidden_dims" not in params  # depth 0: the family's own rule


def test_best_model_saves_loads_and_encodes(study3, X, tmp_path):
    save_result(study3, tmp_path / "m")
    assert {"study.json", "config.json"} <= set(os.listdir(tmp_path / "m"))
    model = aekit.load(tmp_path / "m")
    np.testing.assert_allclose(
        model.transform(X), study3.best_estimator.transform(X), rtol=1e-6
    )
    saved = json.loads((tmp_path / "m" / "study.json").read_text())
    assert saved["test_mse"] == pytest.approx(study3.test_mse)


class PruneTrialOne(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return trial.number == 1


def test_a_pruned_trial_stops_after_its_epoch(X):
    lines = []
    r = tune(
        X,
        latent_dim=3,
        n_trials=3,
        fixed={"max_epochs": 4, "patience": None},
        pruner=PruneTrialOne(),
        verbose=1,
        progress=lines.append,
    )
    states = [t.state.name for t in r.study.trials]
    assert states == ["COMPLETE", "PRUNED", "COMPLETE"]
    pruned = r.study.trials[1]
    assert pruned.user_attrs["epochs"] == 1  # the loop stopped at the flag
    assert list(pruned.intermediate_values) == [1]
    assert r.study.trials[0].user_attrs["epochs"] == 4
    assert "trial 1: pruned at epoch 1" in lines[1]
    assert lines[2].startswith("trial 2: value ")


def test_no_completed_trial_is_an_error(X):
    class Always(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    with pytest.raises(aekit.AekitError, match="no trial completed"):
        tune(X, latent_dim=3, n_trials=2, fixed=QUICK, pruner=Always(), verbose=0)


def test_searched_code_size_reports_each_size(X):
    r = tune(
        X,
        latent_dim=3,
        n_trials=4,
        space={"latent_dim": [2, 4], "model": ["pca_anchored"]},
        fixed=QUICK,
        compare_default=False,
        verbose=0,
    )
    assert set(r.by_latent_dim) <= {2, 4}
    assert r.best_params["latent_dim"] in r.by_latent_dim
    for size in r.by_latent_dim.values():
        assert size["val_mse"] == r.study.trials[size["trial"]].value
    assert "default" not in r.test_mse


def test_space_file_overrides_and_refuses_unknown_names(X, tmp_path):
    f = tmp_path / "space.json"
    f.write_text(json.dumps({"model": ["halving"], "lr": {"low": 1e-3, "high": 2e-3}}))
    r = tune(X, latent_dim=3, n_trials=2, space=read_space(f), fixed=QUICK, verbose=0)
    assert {t.params["model"] for t in r.study.trials} == {"halving"}
    assert all(1e-3 <= t.params["lr"] <= 2e-3 for t in r.study.trials)
    with pytest.raises(ValueError, match="unknown search space name"):
        tune(X, latent_dim=3, space={"depht": 2}, verbose=0)
    with pytest.raises(ValueError, match="a range needs numbers low <= high"):
        tune(X, latent_dim=3, space={"lr": {"low": 1e-2, "high": 1e-3}}, verbose=0)
    with pytest.raises(ValueError, match="also in the search space"):
        tune(X, latent_dim=3, fixed={"lr": 0.1}, verbose=0)


def test_sqlite_study_resumes_and_refuses_another_setup(X, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    tune(X, latent_dim=3, n_trials=2, storage=url, fixed=QUICK, verbose=0)
    r = tune(X, latent_dim=3, n_trials=1, storage=url, fixed=QUICK, verbose=0)
    assert [t.number for t in r.study.trials] == [0, 1, 2]
    with pytest.raises(ValueError, match="another latent_dim"):
        tune(X, latent_dim=2, n_trials=1, storage=url, fixed=QUICK, verbose=0)


def test_trial_of_a_dead_worker_is_failed_and_the_study_goes_on(X, tmp_path):
    url = f"journal:{tmp_path / 'study.log'}"
    first = tune(X, latent_dim=3, n_trials=1, storage=url, fixed=QUICK, verbose=0)
    # a worker that died mid-trial: its trial stays RUNNING in the journal
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    study = optuna.load_study(study_name="aekit", storage=make_storage(url))
    orphan = study.ask()
    orphan.set_user_attr(
        WORKER_ATTR,
        {
            "host": first.study.trials[0].user_attrs[WORKER_ATTR]["host"],
            "pid": dead.pid,
        },
    )
    lines = []
    r = tune(
        X, latent_dim=3, n_trials=1, storage=url, fixed=QUICK, progress=lines.append
    )
    states = [t.state.name for t in r.study.trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE"]
    assert lines[0] == "trial 1: failed (its worker is gone)"


WORKER = textwrap.dedent(
    """
    import sys, torch
    torch.set_num_threads(1)
    import numpy as np
    from aekit.search import tune
    X = np.load(sys.argv[1])
    tune(X, latent_dim=3, n_trials=3, storage=sys.argv[2], fixed={"max_epochs": 2,
         "device": "cpu"}, compare_default=False, verbose=0)
    """
)


def test_two_processes_share_a_journal_file(X, tmp_path):
    np.save(tmp_path / "x.npy", X)
    url = f"journal:{tmp_path / 'study.log'}"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "x.npy"), url], env=env
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    study = optuna.load_study(study_name="aekit", storage=make_storage(url))
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(6))  # none lost or twice
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    pids = [t.user_attrs[WORKER_ATTR]["pid"] for t in trials]
    assert sorted(pids.count(p.pid) for p in procs) == [3, 3]


def test_missing_optuna_names_the_extra(X, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now fails
    with pytest.raises(ImportError, match=r"pip install aekit\[tune\]"):
        tune(X, latent_dim=3, verbose=0)
    np.save(tmp_path / "x.npy", X)
    args = ["tune", str(tmp_path / "x.npy"), "-o", str(tmp_path / "m")]
    assert main([*args, "--latent-dim", "3"]) == 2
    assert r"pip install aekit[tune]" in capsys.readouterr().err


def test_cli_tune_end_to_end(X, tmp_path, capsys):
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "m"
    rc = main(
        [
            "tune",
            str(tmp_path / "x.npy"),
            "-o",
            str(out),
            "--latent-dim",
            "3",
            "--trials",
            "2",
            "--max-epochs",
            "2",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "trial 0 (the default model): value " in text and "trial 1: " in text
    assert "test MSE (32 held-out rows), PCA: " in text
    s = json.loads((out / "study.json").read_text())
    assert set(s["test_mse"]) == {"model", "pca", "default"}
    assert (out / "study.html").read_text().startswith("<!DOCTYPE html>")
    assert aekit.load(out).transform(X).shape == (len(X), 3)
    assert main(["info", str(out)]) == 0


def test_cli_refuses_a_bad_storage(X, tmp_path, capsys):
    np.save(tmp_path / "x.npy", X)
    rc = main(
        [
            "tune",
            str(tmp_path / "x.npy"),
            "-o",
            str(tmp_path / "m"),
            "--latent-dim",
            "3",
            "--storage",
            "nonsense",
        ]
    )
    assert rc == 2
    assert "neither a journal file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "space, message",
    [
        (
            {"batch_size": [0]},
            r"search space 'batch_size': 'batch_size' must be an int >= 1",
        ),
        ({"batch_size": [-1]}, r"search space 'batch_size'"),
        ({"lr": [float("nan")]}, r"search space 'lr': 'lr' must be a finite float > 0"),
        ({"lr": [True]}, r"search space 'lr'"),
        (
            {"activation": ["nosuch"]},
            r"search space 'activation': 'activation' must be one of",
        ),
        ({"model": ["nosuch"]}, r"search space 'model': 'model' must be one of"),
        ({"latent_dim": [100]}, r"'latent_dim': 100 is not below the 6 features of X"),
        (
            {"depth": {"low": -5, "high": -1}},
            r"'depth': -5 is not an integer from 0 to 10",
        ),
        (
            {"depth": {"low": 1000, "high": 1000}},
            r"'depth': 1000 is not an integer from 0 to 10",
        ),
        ({"options": {"nosuch": {"a": [1]}}}, r"unknown model family 'nosuch'"),
        (
            {"model": ["sparse"], "options": {"sparse": {"nope": [1]}}},
            r"options of 'sparse': unknown \['nope'\]",
        ),
        (
            {
                "model": ["convolutional"],
                "options": {"convolutional": {"image_shape": [[5, 5]]}},
            },
            r"options of 'convolutional': image_shape=\[5, 5\]",
        ),
    ],
)
def test_every_value_a_space_can_produce_is_checked_before_any_trial(space, message):
    X = np.random.default_rng(0).random((60, 6)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        tune(X, latent_dim=2, n_trials=1, space=space, fixed=QUICK, verbose=0)


def test_optuna_info_lines_do_not_interleave_with_aekit_lines(capfd, caplog):
    import logging

    import optuna

    X = np.random.default_rng(0).random((80, 6)).astype(np.float32)
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        with caplog.at_level(logging.INFO, logger="aekit"):
            tune(X, latent_dim=2, n_trials=2, fixed=QUICK, verbose=1, refit=False)
        err = capfd.readouterr().err
        lines = [r.getMessage() for r in caplog.records if r.name == "aekit.search"]
        assert any(line.startswith("trial 0") for line in lines)  # aekit's own
        assert "Trial 0 finished" not in err and "A new study created" not in err
        assert optuna.logging.get_verbosity() == optuna.logging.INFO  # restored
    finally:
        optuna.logging.set_verbosity(before)
