"""`aekit train` with checkpoints: --checkpoint-dir, --resume, SIGTERM, divergence."""

from __future__ import annotations

import csv
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import aekit
from aekit.checkpoint import list_checkpoints, load_checkpoint
from aekit.cli import main
from aekit.errors import TrainingInterrupted

# the tests call transform on plain arrays of models that know their feature names
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")

OPTIONS = [
    "--latent-dim",
    "3",
    "--batch-size",
    "16",
    "--random-state",
    "0",
    "--device",
    "cpu",
    "--dead-units",
    "ignore",
    "--quiet",
]
COLUMNS = ["--label-column", "label", "--exclude-columns", "id"]
N_ROWS, N_FEATURES = 120, 10


def run(capsys, *argv):
    """(status, stdout, stderr) of `aekit argv...`."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def weights(model: Path) -> dict[str, torch.Tensor]:
    return load_file(model / "model.safetensors")


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """A CSV with an id, a label and named features (not in [0, 1])."""
    path = tmp_path_factory.mktemp("data") / "t.csv"
    rng = np.random.default_rng(0)
    X = (rng.random((N_ROWS, N_FEATURES)) * 10 - 2).astype(np.float32)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", *(f"f{j}" for j in range(N_FEATURES))])
        for i, x in enumerate(X):
            w.writerow([f"r{i}", i % 3, *map(repr, map(float, x))])
    return path


@pytest.fixture(scope="module")
def four_epochs(table, tmp_path_factory) -> Path:
    """The uninterrupted run: 4 epochs."""
    out = tmp_path_factory.mktemp("ref") / "model"
    argv = ["train", table, "-o", out, *COLUMNS, *OPTIONS, "--max-epochs", "4"]
    assert main([str(a) for a in argv]) == 0
    return out


# -- resuming --------------------------------------------------------------------


def test_resume_gives_the_weights_of_the_uninterrupted_run(
    capsys, table, four_epochs, tmp_path
):
    ck, first, second = tmp_path / "ck", tmp_path / "m2", tmp_path / "m4"
    argv = ["train", table, "-o", first, *COLUMNS, *OPTIONS, "--checkpoint-dir", ck]
    assert run(capsys, *argv, "--max-epochs", "2") == (0, "", "")
    assert [p.name for p in list_checkpoints(ck)] == ["ckpt-000001", "ckpt-000002"]
    # only the data options and the new max_epochs: the rest comes from the checkpoint
    argv = ["train", table, "-o", second, *COLUMNS, "--resume", ck, "--quiet"]
    assert run(capsys, *argv, "--max-epochs", "4") == (0, "", "")
    assert_same_weights(second, four_epochs)
    assert [p.name for p in list_checkpoints(ck)][-1] == "ckpt-000004"
    resumed = aekit.load(second)
    assert list(resumed.feature_names_in_) == [f"f{j}" for j in range(N_FEATURES)]
    assert resumed.n_epochs_ == 4 and resumed.max_epochs == 4
    assert resumed.get_params()["latent_dim"] == 3


def test_resume_is_refused_with_other_options_or_data(capsys, table, tmp_path):
    ck = tmp_path / "ck"
    argv = ["train", table, "-o", tmp_path / "m", *COLUMNS, *OPTIONS, "--max-epochs"]
    assert run(capsys, *argv, "1", "--checkpoint-dir", ck)[0] == 0
    resume = ["train", table, "-o", tmp_path / "m2", "--resume", ck, "--quiet"]
    code, out, err = run(capsys, *resume, *COLUMNS, "--latent-dim", "4")
    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"aekit: error: cannot resume from \S+ckpt-000001: it was trained with "
        r"latent_dim=3, not 4; leave out --latent-dim \(a resumed run may change "
        r"only --max-epochs, --lr, .*--random-state\) or start a new run without --resume\n",
        err,
    ), err
    # another column left out: other training rows
    code, _, err = run(capsys, *resume, "--exclude-columns", "id,f0")
    assert code == 2
    assert re.fullmatch(
        r"aekit: error: X does not match the data checkpoint \S+ was trained on .*\n",
        err,
    ), err
    # the allowed ones may change
    code, _, err = run(capsys, *resume, *COLUMNS, "--max-epochs", "2", "--lr", "2e-3")
    assert (code, err) == (0, "")
    assert aekit.load(tmp_path / "m2").get_params()["lr"] == 2e-3


def test_a_new_run_refuses_a_folder_of_checkpoints(capsys, table, tmp_path):
    ck = tmp_path / "ck"
    argv = ["train", table, "-o", tmp_path / "m", *COLUMNS, *OPTIONS]
    assert run(capsys, *argv, "--max-epochs", "1", "--checkpoint-dir", ck)[0] == 0
    code, _, err = run(capsys, *argv, "--checkpoint-dir", ck)
    assert code == 2
    assert err == (
        f"aekit: error: {ck} already holds checkpoints (newest: ckpt-000001); "
        f"continue that run with --resume {ck}, or choose a new folder for "
        "--checkpoint-dir\n"
    )


@pytest.mark.parametrize("flag", ["--checkpoint-every", "--keep-last"])
def test_checkpoint_flags_need_a_checkpoint_dir(capsys, table, tmp_path, flag):
    code, _, err = run(capsys, "train", table, "-o", tmp_path / "m", flag, "2")
    assert code == 2
    assert err == (
        f"aekit: error: {flag} only applies with --checkpoint-dir DIR or --resume DIR\n"
    )


def test_checkpoint_every_keep_last_and_resuming_one_checkpoint(
    capsys, table, tmp_path
):
    run_dir = tmp_path / "run"  # -o run --checkpoint-dir run/ck: both in one folder
    ck = run_dir / "ck"
    argv = ["train", table, "-o", run_dir, *COLUMNS, *OPTIONS, "--checkpoint-dir", ck]
    flags = ["--max-epochs", "5", "--checkpoint-every", "2", "--keep-last", "all"]
    assert run(capsys, *argv, *flags)[0] == 0
    names = ["ckpt-000002", "ckpt-000004", "ckpt-000005"]
    assert [p.name for p in list_checkpoints(ck)] == names
    # one ckpt-* folder: new checkpoints go beside it, the default keep_last is 3
    resume = ["train", table, "-o", run_dir, *COLUMNS, "--quiet", "--max-epochs", "6"]
    assert run(capsys, *resume, "--resume", ck / "ckpt-000004") == (0, "", "")
    assert [p.name for p in list_checkpoints(ck)] == names[1:] + ["ckpt-000006"]
    assert aekit.load(run_dir).n_epochs_ == 6


def test_resume_from_nothing_is_an_error(capsys, table, tmp_path):
    code, _, err = run(capsys, "train", table, "-o", tmp_path / "m", "--resume", "nope")
    assert (code, err) == (
        2,
        "aekit: error: checkpoint directory nope does not exist\n",
    )


# -- interrupts --------------------------------------------------------------------


def test_interrupt_message_names_the_checkpoint_and_the_resume_command(
    capsys, table, tmp_path, monkeypatch
):
    ck, out = tmp_path / "my ck", tmp_path / "m"

    def interrupted(self, X, **kwargs):
        assert kwargs["checkpoint_dir"] == ck and kwargs["keep_last"] == 3
        raise TrainingInterrupted(
            "...", checkpoint=str(ck / "ckpt-000002-000005"), signal=15, epoch=2, step=5
        )

    monkeypatch.setattr(aekit.AutoEncoder, "fit", interrupted)
    code, stdout, err = run(
        capsys, "train", table, "-o", out, *COLUMNS, "--checkpoint-dir", ck
    )
    assert (code, stdout) == (143, "")
    assert err == (
        f"aekit: interrupted by SIGTERM at epoch 3, step 5; checkpoint saved to "
        f"{ck / 'ckpt-000002-000005'}; resume with: aekit train {table} -o {out} "
        f"--resume '{ck}' --label-column label --exclude-columns id\n"
    )
    assert not out.exists()


def test_interrupt_without_checkpoints_says_so(capsys, table, tmp_path, monkeypatch):
    def interrupted(self, X, **kwargs):
        raise TrainingInterrupted("...", checkpoint=None, signal=2, epoch=4, step=0)

    monkeypatch.setattr(aekit.AutoEncoder, "fit", interrupted)
    assert run(capsys, "train", table, "-o", tmp_path / "m", *COLUMNS) == (
        130,
        "",
        "aekit: interrupted by SIGINT after epoch 4; no checkpoint was saved (train "
        "with --checkpoint-dir DIR to be able to resume)\n",
    )


def _sigterm_mid_training(tmp_path: Path, sig: int) -> tuple[int, str, str]:
    """`python -m aekit train` signalled once its first checkpoint is written."""
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(1).random((600, 16)).astype(np.float32))
    ck = tmp_path / "ck"
    argv = [data, "-o", tmp_path / "m", *OPTIONS[:-1], "--batch-size", "8"]
    argv += ["--patience", "none", "--max-epochs", "1000", "--checkpoint-dir", ck]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aekit", "train", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # as in this process
    )
    deadline = time.monotonic() + 60
    while not list_checkpoints(ck) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint after 60 s"
        time.sleep(0.01)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGTERM, 143), pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)],
)
def test_signal_stops_saves_and_the_printed_command_resumes_exactly(
    capsys, tmp_path, sig, code
):
    status, out, err = _sigterm_mid_training(tmp_path, sig)
    assert (status, out) == (code, ""), err
    assert "Traceback" not in err
    m = re.fullmatch(
        rf"aekit: interrupted by {signal.Signals(sig).name} (?:at epoch \d+, step "
        r"\d+|after epoch \d+); checkpoint saved to (\S+); resume with: (.*)\n",
        err,
    )
    assert m, err
    ckpt = load_checkpoint(m.group(1))
    assert load_checkpoint(tmp_path / "ck").path == ckpt.path  # the newest
    assert not (tmp_path / "m").exists()
    command = shlex.split(m.group(2))
    assert command[:2] == ["aekit", "train"]
    # finish the interrupted epoch only, and compare with a run that never stopped
    epochs = str(ckpt.epoch + 1)
    resumed = run(capsys, *command[1:], "--max-epochs", epochs, "--quiet")
    assert resumed == (0, "", ""), resumed
    argv = ["train", command[2], "-o", tmp_path / "ref", *OPTIONS[:-1], "--quiet"]
    argv += ["--batch-size", "8", "--patience", "none", "--max-epochs", epochs]
    assert run(capsys, *argv)[0] == 0
    assert_same_weights(tmp_path / "m", tmp_path / "ref")


# -- divergence ------------------------------------------------------------------


def test_divergence_names_the_last_good_checkpoint(capsys, table, tmp_path):
    ck, out = tmp_path / "ck", tmp_path / "m"
    argv = ["train", table, "-o", out, *COLUMNS, *OPTIONS]
    assert run(capsys, *argv, "--max-epochs", "1", "--checkpoint-dir", ck)[0] == 0
    before = {p.name: (p / "state.json").read_bytes() for p in list_checkpoints(ck)}
    resume = ["train", table, "-o", tmp_path / "m2", *COLUMNS, "--resume", ck]
    code, stdout, err = run(capsys, *resume, "--max-epochs", "3", "--lr", "1e38")
    assert (code, stdout) == (3, "")
    assert err == (
        "aekit: error: training diverged: the loss became nan at epoch 2, step 2; the "
        "learning rate (lr=1e+38) is the likely cause, try a value 10x smaller; the "
        f"last checkpoint, {ck / 'ckpt-000001'}, is intact: resume with a smaller "
        f"--lr: aekit train {table} -o {tmp_path / 'm2'} --resume {ck} --label-column "
        "label --exclude-columns id --lr 1e+37\n"
    )
    after = {p.name: (p / "state.json").read_bytes() for p in list_checkpoints(ck)}
    assert after == before
    assert not (tmp_path / "m2").exists()


def test_divergence_before_any_checkpoint_exits_3(capsys, table, tmp_path):
    argv = ["train", table, "-o", tmp_path / "m", *COLUMNS, *OPTIONS, "--lr", "1e38"]
    code, _, err = run(capsys, *argv, "--checkpoint-dir", tmp_path / "ck")
    assert code == 3
    assert re.fullmatch(
        r"aekit: error: training diverged: the loss became nan at epoch 1, step \d+; "
        r"the learning rate \(lr=1e\+38\) is the likely cause, try a value 10x "
        r"smaller\n",
        err,
    ), err
    assert not list_checkpoints(tmp_path / "ck")
