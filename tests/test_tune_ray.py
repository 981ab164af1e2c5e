"""The Ray Tune backend of `aekit tune`: its install message, and a real search on Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

NO_RAY = "import sys; sys.modules['ray'] = None; sys.path.insert(0, {src!r}); "


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_RAY.format(src=SRC) + code],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_without_ray_names_the_extra():
    p = _run(
        "import numpy as np\n"
        "from aekit.search.ray_backend import import_ray\n"
        "try:\n    import_ray()\nexcept ImportError as e:\n    print(e)\n"
    )
    assert p.stdout.strip() == "the Ray backend needs Ray Tune: pip install aekit[ray]"


def test_cli_without_ray_exits_2_with_the_message(tmp_path):
    data = tmp_path / "x.csv"
    np.savetxt(data, np.random.default_rng(0).random((30, 4)), delimiter=",")
    p = _run(
        "from aekit.__main__ import entry\n"
        f"sys.argv = ['aekit', 'tune', {str(data)!r}, '--latent-dim', '2', "
        f"'-o', {str(tmp_path / 'out')!r}, '--backend', 'ray']\n"
        "sys.exit(entry())\n"
    )
    assert p.returncode == 2, p.stderr
    assert "pip install aekit[ray]" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_trial_resources_are_parsed_and_refused_clearly():
    from aekit.search.ray_backend import parse_resources

    assert parse_resources("cpu=2,gpu=0.5") == {"cpu": 2.0, "gpu": 0.5}
    assert parse_resources(None) == {"cpu": 1.0, "gpu": 0.0}
    for bad in ("cpu=two", "tpu=1", "cpu=0", "cpu"):
        with pytest.raises(ValueError, match="cpu=2,gpu=0.5"):
            parse_resources(bad)


def test_each_pruner_name_has_its_ray_scheduler_waiting_min_epochs():
    pytest.importorskip("ray.tune")
    from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule

    from aekit.search.ray_backend import make_scheduler
    from aekit.search.study import MIN_EPOCHS

    for name in ("hyperband", "halving"):
        asha = make_scheduler(name, max_t=31)
        assert isinstance(asha, ASHAScheduler)
        # its first rung is MIN_EPOCHS: no trial is judged at epoch 1
        rungs = [m for m, _ in asha._brackets[0]._rungs]  # noqa: SLF001
        assert min(rungs) == MIN_EPOCHS
    median = make_scheduler("median", max_t=31)
    assert isinstance(median, MedianStoppingRule)
    assert median._grace_period == MIN_EPOCHS  # noqa: SLF001
    assert make_scheduler("none", max_t=31) is None
    with pytest.raises(ValueError, match="pruner by name"):
        make_scheduler(object(), max_t=31)


@pytest.mark.slow
def test_a_ray_search_completes_and_its_best_model_encodes(tmp_path):
    pytest.importorskip("ray.tune")
    import ray

    import aekit

    X = np.random.default_rng(0).random((200, 10)).astype("float32")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        r = aekit.tune(
            X,
            latent_dim=2,
            n_trials=4,
            fixed={"max_epochs": 4},
            backend="ray",
            storage=str(tmp_path / "exp"),
            verbose=0,
        )
    finally:
        ray.shutdown()
    assert len(r.study.trials) == 4
    # the default trial is marked and the pick is the paired test's, as on Optuna
    marked = [t for t in r.study.trials if t.user_attrs.get("default")]
    assert len(marked) == 1 and marked[0].state.name == "COMPLETE"
    assert r.pick["default_trial"] == marked[0].number
    assert r.pick["picked"] in ("default", "tuned")
    assert len(marked[0].user_attrs["val_errors"]) > 0
    r.best_estimator.transform(X[:3])
    aekit.search.save_result(r, tmp_path / "model")
    assert aekit.load(tmp_path / "model").transform(X[:3]).shape == (3, 2)


def _killer(exp: Path, ready: str, killed: list[int]) -> Any:
    """A thread that SIGKILLs the first trial worker whose trial folder holds `ready`."""
    import os
    import signal
    import threading
    import time

    def kill_one() -> None:
        end = time.time() + 120
        while not killed and time.time() < end:
            for pid_file in exp.glob("ray/aekit/*/pid"):
                if any(pid_file.parent.glob(ready)):
                    killed.append(int(pid_file.read_text()))
                    os.kill(killed[0], signal.SIGKILL)
                    return
            time.sleep(0.02)

    return threading.Thread(target=kill_one)


@pytest.mark.slow
def test_a_killed_trial_resumes_from_its_checkpoint(tmp_path):
    pytest.importorskip("ray.tune")
    import ray
    from ray import tune as ray_tune

    import aekit
    from aekit.search.study import MIN_EPOCHS

    X = np.random.default_rng(0).random((400, 10)).astype("float32")
    exp = tmp_path / "exp"
    killed: list[int] = []

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # the first trial seen past its first checkpoint
        th = _killer(exp, "checkpoint_*", killed)
        th.start()
        r = aekit.tune(
            X,
            latent_dim=2,
            n_trials=4,
            fixed={"max_epochs": 30, "patience": 100},
            cv=1,  # one split (k-fold: the test below)
            backend="ray",
            storage=str(exp),
            verbose=0,
        )
        th.join()
    finally:
        ray.shutdown()
    assert killed, "no trial was killed"
    assert len(r.study.trials) == 4
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in r.study.trials)
    grid = ray_tune.ExperimentAnalysis(str(exp / "ray" / "aekit"))
    resumed = 0
    for df in grid.trial_dataframes.values():
        epochs = [e for e in df["epoch"].tolist()]
        if "final" not in df or not df["final"].fillna(False).any():  # ASHA stopped it
            assert max(epochs) >= MIN_EPOCHS, epochs
        # resumed, not restarted: epoch 1 runs once; a kill between a report and
        # Ray's commit of its checkpoint reruns the epoch after the last commit
        assert epochs.count(1) == 1, epochs
        assert all(b >= a for a, b in zip(epochs, epochs[1:], strict=False)), epochs
    for trial in grid.trials:
        resumed += trial.run_metadata.num_failures
    assert resumed >= 1
    r.best_estimator.transform(X[:3])


@pytest.mark.slow
def test_a_killed_k_fold_trial_resumes_its_folds(tmp_path):
    pytest.importorskip("ray.tune")
    import ray
    from ray import tune as ray_tune

    import aekit

    X = np.random.default_rng(0).random((300, 10)).astype("float32")
    exp = tmp_path / "exp"
    killed: list[int] = []

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # the first trial seen with fold 2's checkpoint at Ray
        th = _killer(exp, "checkpoint_*/aekit/fold1/*", killed)
        th.start()
        r = aekit.tune(
            X,
            latent_dim=2,
            n_trials=3,
            fixed={"max_epochs": 12, "patience": 100},
            cv=3,
            pruner="none",
            backend="ray",
            storage=str(exp),
            verbose=0,
        )
        th.join()
    finally:
        ray.shutdown()
    assert killed, "no trial was killed in its second fold"
    assert [t.state.name for t in r.study.trials] == ["COMPLETE"] * 3
    assert all(len(t.user_attrs["val_errors"]) == 240 for t in r.study.trials)
    grid = ray_tune.ExperimentAnalysis(str(exp / "ray" / "aekit"))
    failed = [t for t in grid.trials if t.run_metadata.num_failures]
    assert failed, "the killed trial was not retried"
    for trial in failed:
        epochs = grid.trial_dataframes[trial.trial_id]["epoch"].tolist()
        # fold 1 was not run again: its epochs reported once each, in order (its
        # last one, 12, is reported again with each checkpoint of folds 2 and 3)
        assert epochs[:12] == list(range(1, 13)), epochs
        assert all(epochs.count(e) == 1 for e in range(1, 12)), epochs
        assert epochs[-1] == 13, epochs  # the final report


def _ray_tune_argv(data: Path, out: Path, exp: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "aekit",
        "tune",
        str(data),
        "-o",
        str(out),
        "--latent-dim",
        "2",
        "--trials",
        "4",
        "--max-epochs",
        "25",
        "--cv",
        "1",
        "--no-default",
        "--backend",
        "ray",
        "--storage",
        str(exp),
    ]


def _finished_trials(exp: Path) -> dict[str, int]:
    """Trial folder -> its count of reported epochs, for the trials that ended."""
    done = {}
    for result in exp.glob("ray/aekit/*/result.json"):
        lines = result.read_text().splitlines()
        if any('"final": true' in line for line in lines):
            done[result.parent.name] = len(lines)
    return done


@pytest.mark.slow
def test_a_killed_driver_rerun_restores_the_experiment(tmp_path):
    """SIGKILL the driver (and its local Ray) mid-search; the same command resumes it."""
    pytest.importorskip("ray.tune")
    import os
    import signal
    import time

    import aekit

    X = np.random.default_rng(0).random((400, 10)).astype("float32")
    data, out, exp = tmp_path / "x.npy", tmp_path / "best", tmp_path / "exp"
    np.save(data, X)
    argv = _ray_tune_argv(data, out, exp)
    env = {**os.environ, "PYTHONPATH": SRC}
    log = (tmp_path / "first.log").open("w")
    # a session of its own: the kill takes the driver and the Ray it started
    first = subprocess.Popen(
        argv, env=env, stdout=log, stderr=log, start_new_session=True
    )
    end = time.time() + 300
    while not _finished_trials(exp) and first.poll() is None and time.time() < end:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    before = _finished_trials(exp)
    assert before, (tmp_path / "first.log").read_text()[-3000:]
    assert len(before) < 4, "the search ended before the driver was killed"
    assert not out.exists()  # the driver died before saving anything

    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming the Ray experiment" in second.stdout + second.stderr
    after = _finished_trials(exp)
    for name, epochs in before.items():  # kept, not run again
        assert after.get(name) == epochs, (name, epochs, after.get(name))
    trial_dirs = [p for p in exp.glob("ray/aekit/*") if (p / "result.json").exists()]
    assert len(trial_dirs) == 4
    assert aekit.load(out).transform(X[:3]).shape == (3, 2)
