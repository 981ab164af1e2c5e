"""Kill a training process at chosen points, resume it, and get the same bits.

A child process trains a tiny model with a checkpoint every epoch. At a chosen
point (mid-epoch, inside a checkpoint write, just after a commit, while old
checkpoints are pruned) it stops and waits; the test kills it with SIGKILL,
checks that every committed checkpoint still loads, starts the child again (it
resumes from the newest checkpoint) and finally compares the weights with an
uninterrupted run in this process: they must be bitwise equal (CPU).
SIGTERM/SIGINT are tested the same way: the child must exit with 143/130 after
saving the exact point reached.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from aekit import AutoEncoder
from aekit.checkpoint import list_checkpoints, load_checkpoint

KW: dict[str, Any] = dict(
    latent_dim=2,
    max_epochs=4,
    batch_size=16,
    patience=None,
    random_state=5,
    verbose=0,
    dead_units="ignore",
)
ROWS, COLS, DATA_SEED = 120, 8, 11  # 108 training rows: 7 batches per epoch

CHILD = r"""
import os, sys, time
import numpy as np
import torch

torch.set_num_threads(1)
from safetensors.torch import save_file

from aekit import AutoEncoder
from aekit import checkpoint as ck
from aekit.checkpoint import store
from aekit.errors import TrainingInterrupted
from aekit.train import Callback

ckdir, out = sys.argv[1], sys.argv[2]
PAUSE = os.environ.get("PAUSE_AT", "")  # where to wait for SIGKILL
SIGNAL_AT = os.environ.get("SIGNAL_AT", "")  # where to wait for SIGTERM/SIGINT
SLOW = float(os.environ.get("SLOW", "0"))  # seconds to sleep per step and per file
counts = {}


def event(tag):
    counts[tag] = counts.get(tag, 0) + 1
    if PAUSE == f"{tag}#{counts[tag]}":
        print("PAUSED", PAUSE, flush=True)
        time.sleep(120)
        sys.exit(99)  # never reached: the test kills us


write_file, fsync_dir = store._write_file, store.fsync_dir


def traced_write(path, data):
    write_file(path, data)
    time.sleep(SLOW)
    event(f"wrote-{path.name}")


def traced_fsync(folder):
    fsync_dir(folder)
    event("fsync")


store._write_file, store.fsync_dir = traced_write, traced_fsync


class Probe(Callback):
    def on_train_begin(self, state):
        print("TRAINING", flush=True)

    def on_batch_end(self, state):
        time.sleep(SLOW)
        tag = f"step-{state.epoch}-{state.step}"
        event(tag)
        if SIGNAL_AT == tag:
            print("READY", flush=True)
            t = time.monotonic()
            while not state.stop_requested and time.monotonic() - t < 60:
                time.sleep(0.005)

    def on_epoch_end(self, state):
        event(f"epoch-{state.epoch}")


X = np.random.default_rng({data_seed}).random(({rows}, {cols})).astype(np.float32)
ae = AutoEncoder(**{kw})
resume = ckdir if ck.latest_checkpoint(ckdir) is not None else None
print("STARTED", "resume" if resume else "fresh", flush=True)
try:
    ae.fit(X, callbacks=[Probe(), ck.StopOnSignal()], checkpoint_dir=ckdir,
           keep_last=2, resume_from=resume)
except TrainingInterrupted as e:
    print("INTERRUPTED", e.checkpoint, flush=True)
    sys.exit(e.exit_code)
save_file(ae.module_.state_dict(), out)
print("DONE", len(ae.history_), flush=True)
"""


@pytest.fixture(scope="module", params=["pca_anchored", "halving"])
def family(request: pytest.FixtureRequest) -> str:
    """Every test runs for the default family and for the founding design."""
    return request.param


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory, family: str) -> Path:
    path = tmp_path_factory.mktemp("child") / "child.py"
    path.write_text(
        CHILD.replace("{kw}", repr({**KW, "model": family}))
        .replace("{rows}", str(ROWS))
        .replace("{cols}", str(COLS))
        .replace("{data_seed}", str(DATA_SEED))
    )
    return path


@pytest.fixture(scope="module")
def reference(family: str) -> dict[str, torch.Tensor]:
    """Weights of the uninterrupted run, trained here with the child's settings."""
    X = np.random.default_rng(DATA_SEED).random((ROWS, COLS)).astype(np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ae = AutoEncoder(**KW, model=family).fit(X)
    finally:
        torch.set_num_threads(threads)
    return {k: v.clone() for k, v in ae.module_.state_dict().items()}


def start(child: Path, ckdir: Path, out: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(child), str(ckdir), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
    )


def wait_for(proc: subprocess.Popen[str], word: str, timeout: float = 60) -> str:
    """Read the child's output until a line starting with `word`; return it."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(word):
            return line
    proc.kill()
    pytest.fail(f"child never printed {word!r}:\n{''.join(lines)}")


def kill_at(child: Path, ckdir: Path, out: Path, point: str) -> str:
    """Run the child until `point`, SIGKILL it there; return how it started."""
    proc = start(child, ckdir, out, PAUSE_AT=point)
    how = wait_for(proc, "STARTED").split()[1]
    wait_for(proc, "PAUSED")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return how


def finish(child: Path, ckdir: Path, out: Path) -> None:
    resumed = bool(list_checkpoints(ckdir))  # else the child starts afresh
    proc = start(child, ckdir, out)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert f"DONE {KW['max_epochs']}" in output
    assert ("STARTED resume" if resumed else "STARTED fresh") in output


def assert_all_checkpoints_load(ckdir: Path) -> None:
    """A killed save never leaves a checkpoint that looks complete but is not."""
    for folder in list_checkpoints(ckdir):
        load_checkpoint(folder)


def debris(ckdir: Path) -> list[str]:
    return sorted(p.name for p in ckdir.iterdir() if p.name.startswith("."))


def assert_bitwise(out: Path, reference: dict[str, torch.Tensor]) -> None:
    got = load_file(out)
    assert got.keys() == reference.keys()
    for k in got:
        assert torch.equal(got[k], reference[k]), k


# Points to die at, as "event#occurrence" (events are counted per process).
# Saves happen at the end of every epoch; fsync #1 of a save is the temporary
# folder (files written, not committed), #2 the commit; from the third save
# on, #3 follows moving the oldest checkpoint out of sight before deleting it.
POINTS = {
    "mid-epoch, before any checkpoint": "step-0-3#1",
    "mid-epoch, after checkpoints": "step-2-4#1",
    "between the two files of a save": "wrote-state.safetensors#2",
    "files written, before the commit": "wrote-state.json#3",
    "just after a commit": "fsync#4",
    "while pruning an old checkpoint": "fsync#7",
    "after a save, before the next step": "epoch-3#1",
}


def test_kill_inside_a_save_then_resume_is_bitwise_exact(child, reference, tmp_path):
    """The default, faster variant: SIGKILL between a save's files and its commit."""
    ckdir, out = tmp_path / "ckpt", tmp_path / "final.safetensors"
    assert kill_at(child, ckdir, out, "wrote-state.json#2") == "fresh"
    assert len(debris(ckdir)) == 2, "the kill should have left an uncommitted save"
    assert [p.name for p in list_checkpoints(ckdir)] == ["ckpt-000001"]
    assert_all_checkpoints_load(ckdir)
    finish(child, ckdir, out)
    assert_bitwise(out, reference)
    assert debris(ckdir) == [".aekit.lock"]  # the next save cleared the debris


@pytest.mark.slow
def test_kill_twice_then_resume_is_bitwise_exact(child, reference, tmp_path):
    """Killed inside a save, then mid-epoch after resuming, then resumed again."""
    ckdir, out = tmp_path / "ckpt", tmp_path / "final.safetensors"
    assert kill_at(child, ckdir, out, "wrote-state.safetensors#3") == "fresh"
    assert [p.name for p in list_checkpoints(ckdir)] == ["ckpt-000001", "ckpt-000002"]
    assert kill_at(child, ckdir, out, "step-2-4#1") == "resume"
    assert_all_checkpoints_load(ckdir)
    finish(child, ckdir, out)
    assert_bitwise(out, reference)


@pytest.mark.slow
@pytest.mark.parametrize("point", list(POINTS.values()), ids=list(POINTS))
def test_kill_at_each_point_then_resume_is_bitwise_exact(
    child, reference, tmp_path, point
):
    ckdir, out = tmp_path / "ckpt", tmp_path / "final.safetensors"
    kill_at(child, ckdir, out, point)
    assert_all_checkpoints_load(ckdir)
    if point.startswith(("wrote", "fsync#7")):
        assert len(debris(ckdir)) > 1, "the kill should have left debris"
    finish(child, ckdir, out)
    assert_bitwise(out, reference)


@pytest.mark.slow
def test_kill_at_random_times_then_resume_is_bitwise_exact(child, reference, tmp_path):
    """SIGKILL at random moments of training, resuming each time, then finish."""
    ckdir, out = tmp_path / "ckpt", tmp_path / "final.safetensors"
    rng = random.Random(0)
    kills = 0
    for _ in range(8):
        proc = start(child, ckdir, out, SLOW="0.01")  # ~0.6 s of training
        wait_for(proc, "TRAINING")
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        assert_all_checkpoints_load(ckdir)
    assert kills >= 5
    finish(child, ckdir, out)
    assert_bitwise(out, reference)


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGTERM, 143), pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)],
)
def test_signal_saves_the_exact_point_and_exits_128_plus_signal(
    child, reference, family, tmp_path, sig, code
):
    ckdir, out = tmp_path / "ckpt", tmp_path / "final.safetensors"
    proc = start(child, ckdir, out, SIGNAL_AT="step-1-3")
    wait_for(proc, "READY")
    proc.send_signal(sig)
    line = wait_for(proc, "INTERRUPTED")
    assert proc.wait(timeout=30) == code
    assert Path(line.split()[1]).name == "ckpt-000001-000003"
    ckpt = load_checkpoint(ckdir)
    assert (ckpt.epoch, ckpt.step) == (1, 3)
    X = np.random.default_rng(DATA_SEED).random((ROWS, COLS)).astype(np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        resumed = AutoEncoder(**KW, model=family).fit(X, resume_from=ckdir)
    finally:
        torch.set_num_threads(threads)
    for k, v in resumed.module_.state_dict().items():
        assert torch.equal(v, reference[k]), k
