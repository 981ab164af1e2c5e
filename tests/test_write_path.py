"""Nothing lost, nothing exhausted: the write path under signals, full disks and limits.

Signals are sent by a hook at the write step (`aekit.io.atomic.write_hooks`),
when the temporary file or folder is complete but not yet renamed into place;
memory cases run in a child process under RLIMIT_AS, set after its imports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit import io
from aekit.cli import main
from aekit.io import atomic

TRAIN = ["--latent-dim", "2", "--max-epochs", "2", "--quiet", "--dead-units", "ignore"]


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.4f}" for v in r) for r in rng.random((40, 6))]
    p = tmp_path / "t.csv"
    p.write_text("a,b,c,d,e,f\n" + "\n".join(rows) + "\n")
    return p


def _signal_at_write(monkeypatch, sig, stage="written"):
    seen = []

    def hook(step, path):
        if step == stage:
            seen.append(sorted(q.name for q in path.iterdir()) if path.is_dir() else [])
            os.kill(os.getpid(), sig)

    monkeypatch.setattr(atomic, "write_hooks", [hook])
    return seen


def _debris(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_while_writing_an_output_leaves_nothing(
    capsys, monkeypatch, table, tmp_path, sig, code
):
    """F4: the temporary output is removed; the old output stays as it was."""
    m = tmp_path / "m"
    assert main(["train", str(table), "-o", str(m), *TRAIN]) == 0
    out = tmp_path / "codes.csv"
    out.write_text("old\n")
    _signal_at_write(monkeypatch, sig)
    capsys.readouterr()
    assert main(["encode", str(m), str(table), "-o", str(out)]) == code
    assert "Traceback" not in capsys.readouterr().err
    assert out.read_text() == "old\n"
    assert _debris(tmp_path) == []


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_while_saving_over_a_model_keeps_the_old_one(
    capsys, monkeypatch, table, tmp_path, sig, code
):
    """F2: the previous model folder is left exactly, and loads."""
    m = tmp_path / "m"
    assert main(["train", str(table), "-o", str(m), *TRAIN]) == 0
    before = {p.name: p.read_bytes() for p in m.iterdir()}
    _signal_at_write(monkeypatch, sig)
    argv = ["train", str(table), "-o", str(m), *TRAIN, "--hidden-dims", "5"]
    assert main(argv) == code
    assert {p.name: p.read_bytes() for p in m.iterdir()} == before
    aekit.load(m)
    assert _debris(tmp_path) == []


def test_signal_while_saving_a_new_model_leaves_no_folder(
    capsys, monkeypatch, table, tmp_path
):
    """F3: no partial folder, no lock, no temporary; the next run can use the path."""
    m = tmp_path / "new"
    _signal_at_write(monkeypatch, signal.SIGTERM)
    assert main(["train", str(table), "-o", str(m), *TRAIN]) == 143
    assert not m.exists() and _debris(tmp_path) == []
    monkeypatch.setattr(atomic, "write_hooks", [])
    assert main(["train", str(table), "-o", str(m), *TRAIN]) == 0


def test_the_training_record_is_committed_with_the_model(monkeypatch, table, tmp_path):
    """F5: train_config.json and history.csv are in the folder that is renamed."""
    seen = []
    monkeypatch.setattr(
        atomic,
        "write_hooks",
        [lambda s, p: seen.append(sorted(q.name for q in p.iterdir()))],
    )
    assert main(["train", str(table), "-o", str(tmp_path / "m"), *TRAIN]) == 0
    assert seen == [
        ["config.json", "history.csv", "model.safetensors", "train_config.json"]
    ]


def test_a_checkpoint_folder_inside_the_model_folder_survives_the_swap(table, tmp_path):
    m = tmp_path / "run"
    argv = [
        "train",
        str(table),
        "-o",
        str(m),
        *TRAIN,
        "--checkpoint-dir",
        str(m / "ck"),
    ]
    assert main(argv) == 0
    assert main(argv[:-2] + ["--checkpoint-dir", str(tmp_path / "ck2")]) == 0
    assert (m / "ck").is_dir() and list((m / "ck").glob("ckpt-*"))
    aekit.load(m)


def test_a_stale_temporary_of_a_dead_process_is_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    (tmp_path / f".out.csv.{pid}.abc.tmp").write_text("partial")
    (tmp_path / f".m.{pid}.def.tmp").mkdir()
    (tmp_path / f".m.{pid}.def.tmp" / "config.json").write_text("{}")
    live = tmp_path / f".out.csv.{os.getppid()}.xyz.tmp"  # a live writer's
    live.write_text("busy")
    io.write_atomic(tmp_path / "out.csv", b"x")
    assert _debris(tmp_path) == [".m." + f"{pid}.def.tmp", live.name]
    X = np.random.default_rng(0).random((20, 4))
    aekit.AutoEncoder(latent_dim=2, max_epochs=1, verbose=0).fit(X).save(tmp_path / "m")
    assert _debris(tmp_path) == [live.name]


def _child(tmp_path: Path, body: str, headroom_mb: int, timeout: float = 120):
    """Run `body` in a child whose address space may grow by `headroom_mb` only."""
    script = textwrap.dedent(
        """
        import resource, sys
        import numpy, torch, sklearn, aekit, aekit.cli, aekit.serialize
        def vm():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[0]) * 4096
        limit = vm() + {headroom} * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        """
    ).format(headroom=headroom_mb) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_a_huge_sparse_weights_file_is_refused_before_reading(table, tmp_path):
    """F7: size checked first; without a recorded size, hashed while streaming."""
    m = tmp_path / "m"
    assert main(["train", str(table), "-o", str(m), *TRAIN]) == 0
    os.truncate(m / "model.safetensors", 2 * 2**30)
    old = tmp_path / "old"  # saved before sizes were recorded
    assert main(["train", str(table), "-o", str(old), *TRAIN]) == 0
    cfg = (old / "config.json").read_text()
    (old / "config.json").write_text(
        "\n".join(li for li in cfg.splitlines() if "weights_bytes" not in li).replace(
            '",\n}', '"\n}'
        )
    )
    os.truncate(old / "model.safetensors", 2**30)
    r = _child(
        tmp_path,
        """
        import time
        from aekit.errors import ModelFormatError
        for name in ("m", "old"):
            t = time.perf_counter()
            try:
                aekit.load(name)
            except ModelFormatError as e:
                print(name, "refused", round(time.perf_counter() - t, 1), e)
        """,
        headroom_mb=256,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("m refused") and "2147483648 bytes" in lines[0]
    assert lines[1].startswith("old refused") and "checksum" in lines[1], r.stdout


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_an_impossible_network_is_refused_before_training(table, tmp_path):
    """F6: the memory it would need is named; nothing is allocated."""
    r = _child(
        tmp_path,
        f"""
        sys.exit(aekit.cli.main(["train", {str(table)!r}, "-o", "m", "--latent-dim",
                 "2", "--hidden-dims", "1000000000", "--quiet"]))
        """,
        headroom_mb=1024,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("aekit: error: the pca_anchored network (PCA 6 → 2")
    assert "GiB of memory to train" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "m").exists()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_an_impossible_network_is_refused_by_fit_too(tmp_path):
    """F6 from Python: fit names the memory too, before allocating anything."""
    r = _child(
        tmp_path,
        """
        import numpy as np
        X = np.random.default_rng(0).random((50, 6))
        try:
            aekit.AutoEncoder(latent_dim=2, model="halving", hidden_dims=(10**9,),
                              verbose=0).fit(X)
        except aekit.InvalidParameterError as e:
            print(e)
            sys.exit(2)
        """,
        headroom_mb=1024,
    )
    assert r.returncode == 2, r.stderr
    assert r.stdout.startswith("the halving network (6 → 1000000000 → 2 → ")
    assert "GiB of memory to train" in r.stdout


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_a_yaml_alias_bomb_is_refused_in_bounded_memory_and_message(table, tmp_path):
    """F13: 8 levels of 9 aliases would be 43 million column names."""
    pytest.importorskip("yaml")
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines[-1] = "exclude_columns: [" + ", ".join(["*a7"] * 9) + "]"
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    r = _child(
        tmp_path,
        f"""
        sys.exit(aekit.cli.main(["train", {str(table)!r}, "-o", "m",
                                 "--config", "bomb.yaml"]))
        """,
        headroom_mb=512,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr[:2000]
    assert "expands to more than 10,000 values" in r.stderr
    assert r.stderr.count("\n") == 1 and len(r.stderr) < 500


def test_a_full_disk_leaves_no_partial_model_or_output(table, tmp_path):
    """F3: a write that fails (here: file size limit) leaves no folder, no temporary."""
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from aekit.cli import main
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        sys.exit(main(["train", {str(table)!r}, "-o", "m", "--latent-dim", "2",
                       "--hidden-dims", "2000", "--max-epochs", "1", "--quiet"]))
        """)
    r = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("aekit: error: ") and "File too large" in r.stderr
    assert not (tmp_path / "m").exists() and _debris(tmp_path) == []
