"""aekit's logging: a library's manners, and the command line's one setup."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np

from aekit.cli import main
from aekit.logs import get_logger, has_handler, say


def test_import_adds_only_a_null_handler_and_leaves_root_alone():
    code = (
        "import logging, aekit, aekit.estimator, aekit.search\n"
        "h = logging.getLogger('aekit').handlers\n"
        "print([type(x).__name__ for x in h], logging.root.handlers,"
        " logging.getLogger('aekit').level, logging.root.level)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "['NullHandler'] [] 0 30"


def test_a_line_goes_to_stderr_only_while_nothing_listens(capsys, monkeypatch):
    monkeypatch.setattr(logging.root, "handlers", [])
    log = get_logger("test")
    assert not has_handler(log)
    say(log, "hello")
    assert capsys.readouterr().err == "hello\n"
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    aekit_logger = logging.getLogger("aekit")
    aekit_logger.addHandler(handler)
    level = aekit_logger.level
    aekit_logger.setLevel(logging.INFO)  # setLevel: it clears the loggers' caches
    try:
        assert has_handler(log)
        say(log, "again")
    finally:
        aekit_logger.removeHandler(handler)
        aekit_logger.setLevel(level)
    assert capsys.readouterr().err == ""  # logging delivers it, once
    assert [r.getMessage() for r in records] == ["again"]


def test_the_cli_logs_to_stderr_and_restores_the_logger(tmp_path, capsys):
    X = np.random.default_rng(0).random((60, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    logger = logging.getLogger("aekit")
    before = (list(logger.handlers), logger.level, logger.propagate)
    argv = ["train", str(tmp_path / "x.npy"), "-o", str(tmp_path / "m")]
    argv += ["--latent-dim", "2", "--max-epochs", "2", "--verbose"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    epochs = [line[:9] for line in err.splitlines() if line.startswith("epoch ")]
    assert epochs == ["epoch 1/2", "epoch 2/2"]  # once each: not also through root
    assert (list(logger.handlers), logger.level, logger.propagate) == before


def test_tune_on_the_cli_has_no_optuna_lines(tmp_path, capsys):
    X = np.random.default_rng(0).random((80, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    argv = ["tune", str(tmp_path / "x.npy"), "-o", str(tmp_path / "best")]
    argv += ["--latent-dim", "2", "--trials", "2", "--max-epochs", "2"]
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "trial 0" in out
    assert "Trial 0 finished" not in err + out and "A new study" not in err + out


def test_the_cli_error_line_is_a_record_of_the_aekit_logger(tmp_path, capsys):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("aekit")
    logger.addHandler(handler)
    try:
        status = main(["encode", str(tmp_path / "no-model"), str(tmp_path / "x.npy")])
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert status == 2
    [record] = [r for r in records if r.levelno >= logging.WARNING]
    assert (record.levelname, record.name) == ("ERROR", "aekit")
    assert record.getMessage().startswith("error: ")
    # the same record on stderr, once, with the command line's prefix
    assert err == f"aekit: {record.getMessage()}\n"
