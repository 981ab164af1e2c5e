"""Search storages and `aekit sample`: one line naming the file or option, exit 2.

The storage matrix of the second hostile campaign (N4, N8), the concurrent
creation of a new study, and `sample`'s bounds (N2), in the style of
tests/test_cli_bad_input.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aekit.cli import main

pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "x16.npy"
    np.save(path, np.random.default_rng(0).random((60, 16)).astype(np.float32))
    return path


def one_line(capsys, argv) -> str:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def tune(table, out, storage):
    argv = ["tune", table, "-o", out, "--latent-dim", "2", "--trials", "1"]
    return [*argv, "--max-epochs", "1", "--storage", storage]


def _journal(tmp_path, table, damage) -> Path:
    journal = tmp_path / "j.log"
    assert (
        main([str(a) for a in tune(table, tmp_path / "first", f"journal:{journal}")])
        == 0
    )
    damage(journal)
    return journal


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("foo://bar", "unknown database scheme 'foo'"),
        ("sqlite:////nonexistent/dir/x.db", "cannot open the file /nonexistent"),
        ("postgresql://u:p@127.0.0.1:1/db", "pip install psycopg2-binary"),
        ("mysql+pymysql://u:p@127.0.0.1:1/db", "pip install pymysql"),
        ("sqlite://", "in-memory database that no other process can share"),
        ("journal:", "names no file"),
        ("journal:/nonexistent/j.log", "the folder /nonexistent does not exist"),
    ],
)
def test_a_storage_that_cannot_work_is_one_line(
    capsys, tmp_path, table, storage, message
):
    pytest.importorskip("sqlalchemy")
    err = one_line(capsys, tune(table, tmp_path / "t", storage))
    assert message in err
    assert not (tmp_path / "t").exists()


def test_a_damaged_database_is_named(capsys, tmp_path, table):
    db = tmp_path / "bad.db"
    db.write_bytes(b"garbage, not SQLite" * 10)
    err = one_line(capsys, tune(table, tmp_path / "t", f"sqlite:///{db}"))
    assert f"{db} is not an SQLite database or is damaged" in err


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[:-20]),  # truncated
        lambda p: p.write_bytes(p.read_bytes() + b"\xff\xfegarbage"),
    ],
    ids=["truncated", "garbage-appended"],
)
def test_a_damaged_journal_is_named(capsys, tmp_path, table, damage):
    journal = _journal(tmp_path, table, damage)
    capsys.readouterr()
    err = one_line(capsys, tune(table, tmp_path / "t", f"journal:{journal}"))
    assert f"the journal file {journal} is damaged" in err and "restore it" in err


@pytest.mark.slow
def test_three_workers_creating_one_new_study_at_once_all_finish(tmp_path, table):
    db = tmp_path / "study.db"
    cmd = [sys.executable, "-m", "aekit"]
    procs = [
        subprocess.Popen(
            [*cmd, *map(str, tune(table, tmp_path / f"w{i}", f"sqlite:///{db}"))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in results]
    import optuna

    study = optuna.load_study(study_name="aekit", storage=f"sqlite:///{db}")
    assert len(study.trials) == 3


# -- sample: bounded before any work, written in blocks ---------------------------


@pytest.fixture(scope="module")
def vae(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("vae")
    np.save(d / "img.npy", np.random.default_rng(1).random((80, 12)).astype("f4"))
    argv = ["train", d / "img.npy", "-o", d / "m", "--model", "variational"]
    argv += ["--latent-dim", "2", "--max-epochs", "1", "--quiet"]
    assert main([str(a) for a in argv]) == 0
    return d / "m"


@pytest.mark.parametrize(
    ("n", "message"),
    [
        ("100000000000000", "need at least"),  # 1e14 rows: more than the disk
        (str(10**30), "-n must be from 0 to 2**48 rows"),
        ("-1", "-n must be from 0"),
    ],
)
def test_sample_refuses_what_cannot_be_written(capsys, tmp_path, vae, n, message):
    err = one_line(capsys, ["sample", vae, "-n", n, "-o", tmp_path / "s.npy"])
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_sample_in_blocks_is_the_same_rows(tmp_path, vae):
    import aekit
    from aekit.fitted import SAMPLE_BLOCK

    n = SAMPLE_BLOCK + 5  # two blocks
    out = tmp_path / "s.npy"
    assert (
        main(["sample", str(vae), "-n", str(n), "-o", str(out), "--random-state", "3"])
        == 0
    )
    model = aekit.load(vae)
    drawn = model.sample(n, random_state=3)
    np.testing.assert_array_equal(np.load(out), drawn)
    blocks = list(model.fitted_.iter_sample(n, random_state=3))
    assert [len(b) for b in blocks] == [SAMPLE_BLOCK, 5]
    np.testing.assert_array_equal(np.concatenate(blocks), drawn)


def test_sample_of_an_absurd_count_is_a_value_error(vae):
    import aekit

    with pytest.raises(ValueError, match=r"at most 2\*\*48 rows"):
        aekit.load(vae).sample(10**30)
    with pytest.raises(ValueError, match="GiB, more than the"):
        aekit.load(vae).sample(2**47)  # 6 PiB of rows: refused before allocating


# -- Ctrl-C during the first imports (F21) ----------------------------------------


def test_ctrl_c_during_the_first_imports_is_one_line_and_130():
    # a deterministic Ctrl-C inside `import aekit.cli`, as a signal that lands
    # there raises it: an import hook that raises KeyboardInterrupt
    code = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'aekit.cli.parser':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "from aekit.__main__ import entry\n"
        "sys.exit(entry())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--help"], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (130, "aekit: interrupted\n")


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.09, 0.12, 0.2, 0.3])
def test_a_real_sigint_early_is_never_a_traceback(delay):
    import signal
    import time

    # what the installed `aekit` script runs (pyproject's [project.scripts])
    script = "import sys; from aekit.__main__ import entry; sys.exit(entry())"
    p = subprocess.Popen(
        [sys.executable, "-c", script, "info", "/nonexistent-model"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    # interrupted (130), or done before the signal came (2: no such model)
    assert p.returncode in (130, 2), (p.returncode, err)
    assert "Traceback" not in err, err
