"""Logging: the library attaches no handler; the CLI configures "aekit" once, to stderr."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aekit.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_no_aekit_logger_has_a_handler_but_a_null_one():
    import aekit.callbacks
    import aekit.estimator
    import aekit.search  # noqa: F401

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "aekit"]
    assert "aekit.search.study" in names
    kinds = {type(h) for n in names for h in logging.getLogger(n).handlers}
    assert kinds <= {logging.NullHandler}


@pytest.mark.slow  # a fresh interpreter importing torch
def test_importing_aekit_attaches_no_handler_and_leaves_root_alone():
    out = _python(
        "import logging\n"
        "root = logging.getLogger()\n"
        "before = (list(root.handlers), root.level)\n"
        "import aekit, aekit.estimator, aekit.search, aekit.cli, aekit.callbacks\n"
        "names = [n for n in logging.root.manager.loggerDict if n.split('.')[0] == 'aekit']\n"
        "handlers = [type(h).__name__ for n in names for h in logging.getLogger(n).handlers]\n"
        "print(sorted(set(handlers) - {'NullHandler'}), (list(root.handlers), root.level) == before)\n"
    )
    assert out.split() == ["[]", "True"]


def test_cli_errors_arrive_through_the_aekit_logger(tmp_path, caplog, capsys):
    missing = tmp_path / "missing.csv"
    with caplog.at_level(logging.INFO, logger="aekit"):
        assert main(["encode", str(tmp_path), str(missing), "-o", "x.csv"]) == 2
    records = [r for r in caplog.records if r.name == "aekit"]
    assert [r.levelname for r in records] == ["ERROR"]
    assert records[0].getMessage().startswith("error: ")
    # and the shell sees it once, as before: "aekit: error: ..." on stderr
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: ") and err.count("\n") == 1


def test_cli_removes_its_handler_when_the_command_ends(tmp_path):
    before = list(logging.getLogger("aekit").handlers)
    main(["info", str(tmp_path / "nothing")])
    assert logging.getLogger("aekit").handlers == before


def test_search_progress_is_logged_not_printed(caplog, capsys):
    pytest.importorskip("optuna")
    from aekit import tune

    X = np.random.default_rng(0).random((60, 6)).astype(np.float32)
    with caplog.at_level(logging.INFO, logger="aekit"):
        tune(
            X,
            latent_dim=2,
            n_trials=1,
            refit=False,
            compare_default=False,
            fixed={"max_epochs": 1, "device": "cpu"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("aekit")]
    assert any(line.startswith("trial 0") for line in lines)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_cli_tune_stderr_has_no_optuna_trial_lines(tmp_path):
    pytest.importorskip("optuna")
    X = np.random.default_rng(0).random((80, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    env = {**os.environ, "PYTHONPATH": SRC}
    cmd = [
        sys.executable,
        "-m",
        "aekit",
        "tune",
        str(tmp_path / "x.npy"),
        "-o",
        str(tmp_path / "m"),
        "--latent-dim",
        "2",
        "--trials",
        "3",
        "--max-epochs",
        "2",
        "--device",
        "cpu",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trial 1: " in done.stdout  # aekit's own line per trial
    assert "Trial " not in done.stderr and "finished with value" not in done.stderr
