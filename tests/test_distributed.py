"""Data-parallel training (aekit.distributed): helpers alone, and real ranks.

Several ranks give the loss curve of one process with the same global batch,
to float tolerance, not bitwise: a rank computes its share's gradient with its
own matrix products, and the all-reduce adds the ranks' gradients, so sums
are formed in another order than in one process's full-batch products
(observed relative differences ~1e-8 in the losses after 4 epochs; RTOL
below leaves room). Two runs with the same number of ranks are bitwise equal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from aekit import distributed
from aekit.distributed import World

HERE = Path(__file__).parent
WORKER = HERE / "dist_worker.py"
RTOL = 1e-5  # several ranks vs one process: see the module docstring
TIMEOUT = 300  # seconds any launch may take on a loaded 2-core machine


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for k in distributed.ENV_VARS:  # a test launched under torchrun itself
        env.pop(k, None)
    env.update(
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        AEKIT_DIST_TIMEOUT="120",  # a collective waits at most this long
        PYTHONPATH=str(HERE.parent / "src"),
    )
    return env


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- alone: every helper is a no-op -----------------------------------------


def test_alone_everything_is_a_no_op():
    w = distributed.world()
    assert w == World() and not w.enabled and w.is_main
    assert not distributed.launched() or "WORLD_SIZE" in os.environ
    pos = torch.arange(10)
    here, weight = distributed.local_batch(pos, w)
    assert here is pos and weight == 1.0
    assert distributed.all_sum([1.5, 2.0], w) == [1.5, 2.0]
    assert distributed.all_max([1, 0, 15], w) == [1, 0, 15]
    assert distributed.broadcast_int(42, w) == 42
    dev = torch.device("cpu")
    assert distributed.setup(dev) == (World(), dev)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 32, 33])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_shares_cover_the_batch_once_and_weights_average_to_the_mean(n, size):
    pos = torch.arange(100, 100 + n)
    got, weights = [], []
    for r in range(size):
        start, count = distributed.share(n, World(r, size))
        got.extend(range(start, start + count))
        if size > 1 and n:
            here, weight = distributed.local_batch(pos, World(r, size))
            weights.append(weight)
            if weight:
                assert here.tolist() == pos[start : start + count].tolist()
    assert got == list(range(n))  # contiguous, in order, each row once
    if size > 1 and n:
        # DDP averages over ranks: the mean of weight_r * mean_r is the batch mean
        assert sum(weights) / size == pytest.approx(1.0)


# -- real ranks ---------------------------------------------------------------


def _one_process() -> dict:
    sys.path.insert(0, str(HERE))
    try:
        from dist_worker import fit_and_record
    finally:
        sys.path.remove(str(HERE))
    return fit_and_record(None)


def _assert_same_curve(got: dict, ref: dict, world: int) -> None:
    assert got["world"] == world and ref["world"] == 1
    np.testing.assert_allclose(got["curve"], ref["curve"], rtol=RTOL)
    for k, v in ref["weights"].items():
        np.testing.assert_allclose(got["weights"][k], v, rtol=RTOL, atol=1e-6)


def _forked_rank(rank: int, port: int, out: str) -> None:
    code = 1
    try:
        os.environ.update(
            RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
            MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), AEKIT_DIST_TIMEOUT="60",
        )  # fmt: skip
        sys.path.insert(0, str(HERE))
        from dist_worker import fit_and_record

        fit_and_record(out)
        code = 0
    finally:
        os._exit(code)  # no pytest teardown in the child


@pytest.mark.skipif(sys.platform != "linux", reason="forks the test process")
def test_two_forked_gloo_ranks_give_the_one_process_loss_curve(tmp_path):
    # the fast twin of the torchrun test below: two ranks forked from this
    # process (no interpreter start-up), torchrun's variables set by hand
    import multiprocessing

    ref = _one_process()
    out = tmp_path / "forked.json"
    ctx = multiprocessing.get_context("fork")
    port = _free_port()
    ranks = [ctx.Process(target=_forked_rank, args=(r, port, str(out))) for r in (0, 1)]
    for p in ranks:
        p.start()
    for p in ranks:
        p.join(120)
    for p in ranks:
        if p.exitcode is None:
            p.kill()
    assert [p.exitcode for p in ranks] == [0, 0]
    _assert_same_curve(json.loads(out.read_text()), ref, 2)


@pytest.mark.slow
def test_two_gloo_ranks_give_the_one_process_loss_curve(tmp_path):
    out = tmp_path / "two.json"
    cmd = _torchrun("--nproc-per-node", "2", str(WORKER), str(out))
    subprocess.run(cmd, env=_env(), check=True, timeout=TIMEOUT, capture_output=True)
    _assert_same_curve(json.loads(out.read_text()), _one_process(), 2)


@pytest.mark.slow
def test_two_nodes_on_localhost_with_c10d_rendezvous(tmp_path):
    out = tmp_path / "nodes.json"
    port = _free_port()
    procs = []
    for node in (0, 1):
        cmd = _torchrun(
            "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(node),
            "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
            "--rdzv-id", "aekit-test", "--rdzv-conf", "join_timeout=120",
            str(WORKER), str(out),
        )  # fmt: skip
        procs.append(
            subprocess.Popen(
                cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        )
    try:
        for p in procs:
            log, _ = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, log.decode()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    _assert_same_curve(json.loads(out.read_text()), _one_process(), 2)


def _train_cmd(data: Path, out: Path, *extra: str) -> list[str]:
    return _torchrun(
        "--nproc-per-node", "2", "-m", "aekit", "train", str(data), "-o", str(out),
        "--latent-dim", "3", "--batch-size", "16", "--max-epochs", "12",
        "--patience", "50", "--random-state", "0", "--quiet",
        "--checkpoint-dir", str(out / "ckpt"), *extra,
    )  # fmt: skip


def _weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


def _descendants(pid: int) -> list[int]:
    """pid's children, their children, ... (from /proc; ranks start sessions of their own)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while listed
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_and_wait_for_checkpoint(data: Path, cut: Path) -> subprocess.Popen:
    p = subprocess.Popen(
        _train_cmd(data, cut), env=_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    while not (cut / "ckpt" / "ckpt-000003").is_dir():
        if p.poll() is not None or time.monotonic() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            pytest.fail("the run ended (or hung) before its third checkpoint")
        time.sleep(0.05)
    return p


def _resume_gives_the_uncut_weights(data: Path, full: Path, cut: Path) -> None:
    assert not (cut / "model.safetensors").exists()
    done = sorted(c.name for c in (cut / "ckpt").glob("ckpt-*"))
    assert done and done[-1] < "ckpt-000012"
    subprocess.run(
        _train_cmd(data, full), env=_env(), check=True, timeout=TIMEOUT,
        capture_output=True,
    )  # fmt: skip
    resumed = subprocess.run(
        _train_cmd(data, cut, "--resume", str(cut / "ckpt")), env=_env(),
        timeout=TIMEOUT, capture_output=True, text=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _weights(full), _weights(cut)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])  # bitwise


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "t.npy"
    X = np.random.default_rng(3).random((2000, 12)).astype(np.float32)
    np.save(data, X)
    return data


@pytest.mark.slow
def test_kill_9_of_two_ranks_then_resume_ends_with_the_same_weights(tmp_path):
    data, cut = _data(tmp_path), tmp_path / "cut"
    p = _start_and_wait_for_checkpoint(data, cut)
    tree = [p.pid, *_descendants(p.pid)]
    assert len(tree) >= 3, "torchrun and two ranks"
    for pid in tree:  # torchrun and both ranks, at once
        os.kill(pid, signal.SIGKILL)
    p.wait(timeout=60)
    _resume_gives_the_uncut_weights(data, tmp_path / "full", cut)


@pytest.mark.slow
def test_ranks_stop_with_a_checkpoint_when_torchrun_is_killed(tmp_path):
    # SIGKILL reaches torchrun's agent alone: its ranks, in sessions of their
    # own, would train on and write the model unless they stop with it
    data, cut = _data(tmp_path), tmp_path / "cut"
    p = _start_and_wait_for_checkpoint(data, cut)
    ranks = _descendants(p.pid)
    assert len(ranks) >= 2
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    deadline = time.monotonic() + TIMEOUT
    while any(_alive(r) for r in ranks):
        assert time.monotonic() < deadline, "ranks outlived their launcher"
        time.sleep(0.05)
    _resume_gives_the_uncut_weights(data, tmp_path / "full", cut)


@pytest.mark.slow
def test_encode_and_score_under_torchrun_write_one_part_per_rank(tmp_path):
    import pyarrow.parquet as pq

    from aekit import AutoEncoder

    X = np.random.default_rng(5).random((1001, 6)).astype(np.float32)
    data, model = tmp_path / "t.npy", tmp_path / "m"
    np.save(data, X)
    ae = AutoEncoder(latent_dim=2, max_epochs=2, verbose=0, random_state=0).fit(X)
    ae.save(model)
    for cmd in ("encode", "score"):
        out = tmp_path / cmd
        run = _torchrun("--nproc-per-node", "2", "-m", "aekit", cmd, str(model))
        subprocess.run(
            [*run, str(data), "-o", str(out)], env=_env(), check=True,
            timeout=TIMEOUT, capture_output=True,
        )  # fmt: skip
        manifest = json.loads((out / "_manifest.json").read_text())
        assert manifest["rows"] == 1001
        assert [(p["first_row"], p["rows"]) for p in manifest["parts"]] == [
            (0, 501),
            (501, 500),
        ]
        table = pq.read_table(out)  # one process reads the folder: every row once
        assert table.num_rows == 1001
        if cmd == "encode":
            Z = np.column_stack([table[c].to_numpy() for c in table.column_names])
            np.testing.assert_array_equal(Z, ae.transform(X))
        else:
            assert table["row"].to_numpy().tolist() == list(range(1001))
