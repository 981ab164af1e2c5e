"""A search's answer on rows it never saw: k-fold values, the default unless beaten clearly."""

import json

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from aekit.search import run, save_result, tune  # noqa: E402
from aekit.search.result import PICK_Z, pick_trial  # noqa: E402
from aekit.search.trial import make_folds  # noqa: E402

QUICK = {"max_epochs": 2, "device": "cpu"}
ONE_POINT = {
    "model": ["pca_anchored"],
    "depth": 0,
    "lr": 1e-3,
    "batch_size": 64,
    "activation": "relu",
    "weight_decay": 0.0,
    "options": {"pca_anchored": {"train_pca": True}},
}


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(160, 3))
    return np.tanh(Z @ rng.normal(size=(3, 10))).astype(np.float32)


def test_folds_partition_the_rows_and_follow_the_seed():
    folds = make_folds(103, 5, 7)
    rows = np.concatenate(folds)
    assert sorted(rows.tolist()) == list(range(103))
    assert {len(f) for f in folds} == {20, 21}
    again = make_folds(103, 5, 7)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    assert not np.array_equal(make_folds(103, 5, 8)[0], folds[0])
    with pytest.raises(ValueError, match="k-fold needs"):
        make_folds(3, 5, 0)


def test_kfold_below_the_threshold_one_split_at_it():
    assert run.folds_for("auto", run.KFOLD_BELOW - 1) == run.KFOLD_K
    assert run.folds_for("auto", run.KFOLD_BELOW) == 1
    assert run.folds_for(3, 10_000) == 3
    with pytest.raises(ValueError, match="cv must be"):
        run.folds_for(0, 100)
    with pytest.raises(ValueError, match="use fewer folds"):
        run.folds_for(60, 100)


def test_every_trial_is_scored_on_the_same_folds(X):
    # one point of the space, twice: same folds and seed give the same errors
    r = tune(X, latent_dim=3, n_trials=2, space=ONE_POINT, fixed=QUICK, verbose=0)
    v = r.setup["validation"]
    assert v["scheme"] == "kfold" and v["k"] == run.KFOLD_K
    assert sum(v["fold_rows"]) == r.setup["n_search_rows"]
    a, b = (t.user_attrs["val_errors"] for t in r.study.trials)
    assert len(a) == r.setup["n_search_rows"]  # every search row valued once
    assert a == b
    assert r.study.trials[0].value == pytest.approx(np.mean(a))


def test_above_the_threshold_one_split(X, monkeypatch):
    monkeypatch.setattr(run, "KFOLD_BELOW", 100)  # 128 search rows: above it
    r = tune(X, latent_dim=3, n_trials=1, space=ONE_POINT, fixed=QUICK, verbose=0)
    assert r.setup["validation"]["scheme"] == "split"
    errors = r.study.trials[0].user_attrs["val_errors"]
    assert len(errors) == round(r.setup["n_search_rows"] * 0.1)


def study_with(default_errors, other_errors):
    """A study of two completed trials with these per-row validation errors."""
    study = optuna.create_study()
    dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    for lr, errors, default in (
        (1e-3, default_errors, True),
        (1e-2, other_errors, False),
    ):
        study.add_trial(
            optuna.trial.create_trial(
                params={"lr": lr},
                distributions=dist,
                value=float(np.mean(errors)),
                user_attrs={
                    "params": {"lr": lr},
                    "val_errors": list(map(float, errors)),
                    "default": default,
                },
            )
        )
    return study


def test_a_best_within_noise_of_the_default_is_not_picked():
    rng = np.random.default_rng(0)
    e = rng.gamma(2.0, 0.01, size=40)
    noisy = e + rng.normal(0, 0.01, size=40)
    noisy = noisy - (noisy.mean() - e.mean()) - 1e-4  # lower on average, by little
    study = study_with(e, noisy)
    chosen, pick = pick_trial(study, study.best_trial)
    assert study.best_trial.number == 1
    assert chosen.number == 0 and pick["picked"] == "default"
    assert 0 < pick["mean_gain"] < PICK_Z * pick["standard_error"]


def test_a_clearly_better_best_is_picked():
    rng = np.random.default_rng(0)
    e = rng.gamma(2.0, 0.01, size=40)
    study = study_with(e, e * 0.5)
    chosen, pick = pick_trial(study, study.best_trial)
    assert chosen.number == 1 and pick["picked"] == "tuned"
    assert pick["mean_gain"] > PICK_Z * pick["standard_error"]


@pytest.fixture(scope="module")
def rank6():
    # rank-6 data: a code of 6 reconstructs it, the default code of 1 cannot
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(160, 6))
    return (Z @ rng.normal(size=(6, 12))).astype(np.float32)


def test_the_right_code_size_is_picked_for_real(rank6, tmp_path):
    r = tune(
        rank6,
        latent_dim=1,
        n_trials=3,
        space={**ONE_POINT, "latent_dim": [1, 6]},
        fixed={"max_epochs": 5, "device": "cpu"},
        compare_default=False,
        verbose=0,
    )
    assert r.pick["picked"] == "tuned"
    assert r.best_params["latent_dim"] == 6
    save_result(r, tmp_path / "best")
    s = json.loads((tmp_path / "best" / "study.json").read_text())
    assert s["pick"]["picked"] == "tuned" and s["pick"]["default_trial"] == 0
    assert s["pick"]["mean_gain"] > PICK_Z * s["pick"]["standard_error"]
    assert s["setup"]["validation"]["scheme"] == "kfold"


def test_only_worse_alternatives_keep_the_default(rank6):
    r = tune(
        rank6,
        latent_dim=6,
        n_trials=3,
        space={**ONE_POINT, "latent_dim": [6, 1]},
        fixed={"max_epochs": 5, "device": "cpu"},
        compare_default=False,
        verbose=0,
    )
    assert r.pick["picked"] == "default"
    assert r.best_trial == 0 and r.best_params["latent_dim"] == 6


def test_a_resumed_study_keeps_its_folds(X, tmp_path):
    storage = f"sqlite:///{tmp_path}/s.db"
    kw = dict(space=ONE_POINT, fixed=QUICK, storage=storage, refit=False, verbose=0)
    tune(X, latent_dim=3, n_trials=1, **kw)
    r = tune(X, latent_dim=3, n_trials=1, **kw)
    first, second = r.study.trials
    assert first.user_attrs["val_errors"] == second.user_attrs["val_errors"]
    with pytest.raises(ValueError, match="another validation"):
        tune(X, latent_dim=3, n_trials=1, cv=3, **kw)


@pytest.mark.parametrize("cv, scheme, k", [("3", "kfold", 3), ("1", "split", None)])
def test_cli_cv_sets_how_trials_are_valued(X, tmp_path, cv, scheme, k):
    from aekit.cli import main

    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "m"
    argv = ["tune", str(tmp_path / "x.npy"), "-o", str(out), "--latent-dim", "3"]
    argv += ["--trials", "1", "--max-epochs", "2", "--no-default", "--cv", cv]
    assert main(argv) == 0
    v = json.loads((out / "study.json").read_text())["setup"]["validation"]
    assert v["scheme"] == scheme and v["cv"] == int(cv) and v.get("k") == k


@pytest.mark.parametrize(
    "cv, message",
    [
        ("0", "argument --cv: expected auto or a whole number of folds >= 1, got '0'"),
        ("two", "argument --cv: expected auto or a whole number of folds >= 1"),
        ("100", "cv=100 folds need at least 200 search rows, there are 128"),
    ],
)
def test_cli_refuses_a_bad_cv(X, tmp_path, capsys, cv, message):
    from aekit.cli import main

    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "m"
    argv = ["tune", str(tmp_path / "x.npy"), "-o", str(out), "--latent-dim", "3"]
    assert main([*argv, "--trials", "1", "--cv", cv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def _fold_fit(X, folder, reported, saved=None):
    from aekit.search.trial import fit_trial

    def report(epoch, value):
        reported.append(epoch)
        return False

    return fit_trial(
        {"latent_dim": 2, "max_epochs": 6, "patience": None, "random_state": 0},
        X,
        report,
        folds=make_folds(len(X), 3, 0),
        fit_kwargs={"checkpoint_dir": folder, "keep_last": 1},
        saved=saved,
    )


def test_a_k_fold_trial_resumes_each_fold_from_its_checkpoint(X, tmp_path):
    X = X[:150]
    whole = _fold_fit(X, tmp_path / "whole", [])

    class Killed(Exception):
        pass

    calls = []

    def die_in_fold_2():  # after fold 2's third epoch and its checkpoint
        calls.append(1)
        if len(calls) == 3:
            raise Killed

    first: list[int] = []
    with pytest.raises(Killed):
        _fold_fit(X, tmp_path / "cut", first, die_in_fold_2)
    assert first == list(range(1, 7))  # fold 1 ran to its end
    assert (tmp_path / "cut" / "fold1").is_dir()
    again: list[int] = []
    later = []
    resumed = _fold_fit(X, tmp_path / "cut", again, lambda: later.append(1))
    assert again == []  # fold 1 came back finished: no epoch of it ran again
    assert len(later) == 3 + 6  # fold 2's last 3 epochs, fold 3's 6
    # fold 2 went on from its epoch 3, fold 3 from the start: the same model
    np.testing.assert_array_equal(resumed.errors, whole.errors)
    assert resumed.value == whole.value
    assert resumed.curve == whole.curve
