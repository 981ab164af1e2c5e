"""Checkpoints in one process: contents, exact resume, refusals, signals, divergence."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.exceptions import NotFittedError

from aekit import AutoEncoder
from aekit.checkpoint import (
    STATE_FILE,
    TENSORS_FILE,
    CheckpointCallback,
    StopOnSignal,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
)
from aekit.errors import (
    DataError,
    DivergenceError,
    ModelFormatError,
    TrainingInterrupted,
)
from aekit.train import Callback, TrainState

KW = dict(
    latent_dim=2,
    max_epochs=4,
    batch_size=16,
    patience=None,
    random_state=3,
    verbose=0,
    dead_units="ignore",
)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(7).random((80, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def reference(X: np.ndarray) -> AutoEncoder:
    """The uninterrupted run every resumed run must equal bit for bit."""
    return AutoEncoder(**KW).fit(X)


def assert_same_weights(a: AutoEncoder, b: AutoEncoder) -> None:
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert [h["train_loss"] for h in a.history_] == [
        h["train_loss"] for h in b.history_
    ]
    assert [h["val_loss"] for h in a.history_] == [h["val_loss"] for h in b.history_]


class StopAt(Callback):
    """Request a stop (like a signal would) after `step` batches of epoch `epoch`+1."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_batch_end(self, state: TrainState) -> None:
        if (state.epoch, state.step) == self.at:
            state.stop_requested = True


class SendSignal(Callback):
    """Send this process `sig` after the given step (`times` times)."""

    def __init__(self, epoch: int, step: int, sig: int, times: int = 1) -> None:
        self.at, self.sig, self.times = (epoch, step), sig, times

    def on_batch_end(self, state: TrainState) -> None:
        if (state.epoch, state.step) == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), self.sig)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".aekit.lock"
    }


# -- what is saved -----------------------------------------------------------


def test_checkpoint_holds_the_whole_training_state(X, tmp_path):
    AutoEncoder(**KW).fit(X, checkpoint_dir=tmp_path, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "ckpt-000003",
        "ckpt-000004",
    ]
    folder = latest_checkpoint(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [STATE_FILE, TENSORS_FILE]
    doc = json.loads((folder / STATE_FILE).read_text())  # plain JSON, no pickle
    assert doc["format"] == "aekit-checkpoint" and doc["state"]["epoch"] == 4
    assert doc["meta"]["data"]["shape"] == [80, 8]
    assert doc["optimizer"]["param_groups"][0]["betas"] == [0.9, 0.999]
    names = set(load_file(folder / TENSORS_FILE))
    assert {"optim.0.exp_avg", "optim.0.exp_avg_sq", "optim.0.step"} <= names
    assert {"rng.generator", "rng.epoch", "extra.scaling.data_min"} <= names
    assert "model.encoder.0.weight" in names and "best.encoder.0.weight" in names
    ckpt = load_checkpoint(tmp_path)
    assert (ckpt.epoch, ckpt.step, len(ckpt.history)) == (4, 0, 4)
    assert ckpt.params["latent_dim"] == 2 and ckpt.meta["seed"] > 0


def test_checkpoint_every_and_keep_all(X, tmp_path):
    AutoEncoder(**{**KW, "max_epochs": 5}).fit(
        X, checkpoint_dir=tmp_path, checkpoint_every=2, keep_last=None
    )  # epochs 2 and 4, and the end of training (5)
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["ckpt-000002", "ckpt-000004", "ckpt-000005"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"checkpoint_every": 0}, "checkpoint_every must be a positive integer, got 0"),
        ({"checkpoint_every": 1.5}, "checkpoint_every must be a positive integer"),
        ({"keep_last": 0}, "keep_last must be a positive integer or None, got 0"),
    ],
)
def test_checkpoint_options_are_checked(X, tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        AutoEncoder(**KW).fit(X, checkpoint_dir=tmp_path, **kw)


def test_checkpoint_dir_that_is_a_file_is_refused(X, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileExistsError, match="exists and is not a folder"):
        AutoEncoder(**KW).fit(X, checkpoint_dir=tmp_path / "f")


# -- exact resume --------------------------------------------------------------


def test_resume_from_an_epoch_boundary_is_bitwise_exact(X, reference, tmp_path):
    AutoEncoder(**{**KW, "max_epochs": 2}).fit(X, checkpoint_dir=tmp_path)
    resumed = AutoEncoder(**KW).fit(X, resume_from=tmp_path, checkpoint_dir=tmp_path)
    assert_same_weights(resumed, reference)
    assert resumed.n_epochs_ == 4 and len(resumed.history_) == 4
    assert latest_checkpoint(tmp_path).name == "ckpt-000004"


def test_resume_mid_epoch_is_bitwise_exact(X, reference, tmp_path):
    AutoEncoder(**KW).fit(X, checkpoint_dir=tmp_path, callbacks=[StopAt(1, 3)])
    assert latest_checkpoint(tmp_path).name == "ckpt-000001-000003"
    ckpt = load_checkpoint(tmp_path)
    assert (ckpt.epoch, ckpt.step) == (1, 3) and ckpt.epoch_rng_state is not None
    resumed = AutoEncoder(**KW).fit(X, resume_from=tmp_path)
    assert_same_weights(resumed, reference)


def test_resume_from_a_specific_checkpoint_folder(X, reference, tmp_path):
    AutoEncoder(**KW).fit(X, checkpoint_dir=tmp_path, keep_last=None)
    resumed = AutoEncoder(**KW).fit(X, resume_from=tmp_path / "ckpt-000001")
    assert_same_weights(resumed, reference)


def test_resume_after_early_stopping_trains_no_further(X, tmp_path):
    kw = {**KW, "lr": 0.05, "patience": 2, "max_epochs": 60}
    done = AutoEncoder(**kw).fit(X, checkpoint_dir=tmp_path)
    assert done.stopped_early_ and done.n_epochs_ < 60
    resumed = AutoEncoder(**kw).fit(X, resume_from=tmp_path)
    assert resumed.stopped_early_ and resumed.n_epochs_ == done.n_epochs_
    assert_same_weights(resumed, done)


def test_resume_may_raise_max_epochs(X, reference, tmp_path):
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, checkpoint_dir=tmp_path)
    assert_same_weights(AutoEncoder(**KW).fit(X, resume_from=tmp_path), reference)


def test_resume_refuses_other_data(X, tmp_path):
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, checkpoint_dir=tmp_path)
    other = X.copy()
    other[5, 5] += 0.01
    msg = r"X does not match the data checkpoint .* was trained on \(checkpoint: shape"
    with pytest.raises(DataError, match=msg):
        AutoEncoder(**KW).fit(other, resume_from=tmp_path)
    with pytest.raises(DataError, match=r"shape \[80, 8\].*X: shape \[79, 8\]"):
        AutoEncoder(**KW).fit(X[:-1], resume_from=tmp_path)


def test_resume_refuses_other_columns(X, tmp_path):
    import pandas as pd

    df = pd.DataFrame(X, columns=list("abcdefgh"))
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(df, checkpoint_dir=tmp_path)
    with pytest.raises(DataError, match=r"X has feature names \['z', 'b'"):
        AutoEncoder(**KW).fit(df.rename(columns={"a": "z"}), resume_from=tmp_path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            {"latent_dim": 3},
            "it was trained with latent_dim=2, this AutoEncoder has latent_dim=3",
        ),
        ({"batch_size": 8}, "it was trained with batch_size=16"),
        ({"hidden_dims": (4,)}, "it was trained with hidden_dims=None"),
        ({"scale": False}, "it was trained with scale=True"),
    ],
)
def test_resume_refuses_other_settings(X, tmp_path, change, match):
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=match):
        AutoEncoder(**{**KW, **change}).fit(X, resume_from=tmp_path)


def test_resume_from_nothing_is_refused(X, tmp_path):
    with pytest.raises(ModelFormatError, match="no complete checkpoint in"):
        AutoEncoder(**KW).fit(X, resume_from=tmp_path)
    with pytest.raises(ModelFormatError, match="does not exist"):
        AutoEncoder(**KW).fit(X, resume_from=tmp_path / "missing")


def test_failed_resume_leaves_the_estimator_as_it_was(X, tmp_path):
    ae = AutoEncoder(**{**KW, "max_epochs": 1}).fit(X[:, :6])
    codes = ae.transform(X[:, :6])
    with pytest.raises(ModelFormatError):
        ae.fit(X, resume_from=tmp_path)
    assert ae.n_features_in_ == 6
    np.testing.assert_array_equal(ae.transform(X[:, :6]), codes)


# -- what loading tolerates --------------------------------------------------------


def test_uncommitted_and_damaged_checkpoints(X, reference, tmp_path):
    AutoEncoder(**{**KW, "max_epochs": 2}).fit(X, checkpoint_dir=tmp_path)
    debris = tmp_path / ".tmp-ckpt-killed"  # what a killed save leaves
    debris.mkdir()
    (debris / TENSORS_FILE).write_bytes(b"half")
    newest = latest_checkpoint(tmp_path)
    data = bytearray((newest / TENSORS_FILE).read_bytes())
    data[-3] ^= 0x10  # damaged on disk after it was written
    (newest / TENSORS_FILE).write_bytes(bytes(data))
    with pytest.warns(
        UserWarning,
        match="does not match the checksum.*resuming from the older ckpt-000001",
    ):
        ckpt = load_checkpoint(tmp_path)
    assert ckpt.epoch == 1
    with pytest.warns(UserWarning, match="resuming from the older"):
        resumed = AutoEncoder(**KW).fit(
            X, resume_from=tmp_path, checkpoint_dir=tmp_path
        )
    assert_same_weights(resumed, reference)
    assert not debris.exists()  # the next save cleared it


def test_checkpoint_from_a_newer_format_is_refused(X, tmp_path):
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, checkpoint_dir=tmp_path)
    path = latest_checkpoint(tmp_path) / STATE_FILE
    doc = json.loads(path.read_text())
    doc["format_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match="has format version 99"):
        load_checkpoint(path.parent)


def test_damaged_checkpoints_raise_model_format_error(X, tmp_path):
    """Seeded damage to a checkpoint: it loads, or raises ModelFormatError."""
    AutoEncoder(**{**KW, "max_epochs": 1}).fit(X, checkpoint_dir=tmp_path / "src")
    src = latest_checkpoint(tmp_path / "src")
    files = {n: (src / n).read_bytes() for n in (STATE_FILE, TENSORS_FILE)}
    rng = random.Random(0)
    outcomes = {"error": 0, "loaded": 0}
    for i in range(120):
        damaged = dict(files)
        name = rng.choice(sorted(files))
        data = bytearray(damaged[name])
        if rng.random() < 0.5:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        else:
            del data[rng.randrange(len(data)) :]
        damaged[name] = bytes(data)
        if name == TENSORS_FILE and rng.random() < 0.5:  # forge the checksum
            doc = json.loads(damaged[STATE_FILE])
            doc["tensors_sha256"] = hashlib.sha256(data).hexdigest()
            damaged[STATE_FILE] = json.dumps(doc).encode()
        folder = tmp_path / f"ckpt-{i:06d}"
        folder.mkdir()
        for n, b in damaged.items():
            (folder / n).write_bytes(b)
        try:
            load_checkpoint(folder)
            AutoEncoder(**KW).fit(X, resume_from=folder)
            outcomes["loaded"] += 1
        except ModelFormatError:
            outcomes["error"] += 1
        except (ValueError, DataError) as e:  # a flip in a stored setting
            assert "cannot resume" in str(e) or "does not match" in str(e)
            outcomes["error"] += 1
    assert outcomes["error"] > 60


# -- signals -------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_at_the_next_step_and_saves_that_point(
    X, reference, tmp_path, sig, code
):
    ae = AutoEncoder(**KW)
    before = signal.getsignal(sig)
    with pytest.raises(
        TrainingInterrupted,
        match=f"interrupted by {sig.name} at epoch 2, step 2; saved",
    ) as info:
        ae.fit(
            X,
            checkpoint_dir=tmp_path,
            callbacks=[SendSignal(1, 2, sig), StopOnSignal()],
        )
    e = info.value
    assert (e.signal, e.exit_code, e.epoch, e.step) == (sig, code, 1, 2)
    assert Path(e.checkpoint).name == "ckpt-000001-000002"
    assert signal.getsignal(sig) is before  # handlers restored
    with pytest.raises(NotFittedError):
        ae.transform(X)  # an interrupted fit fits nothing
    assert_same_weights(ae.fit(X, resume_from=e.checkpoint), reference)


def test_signal_without_checkpoint_dir(X):
    with pytest.raises(TrainingInterrupted, match="no checkpoint was saved") as info:
        AutoEncoder(**KW).fit(
            X, callbacks=[SendSignal(0, 1, signal.SIGTERM), StopOnSignal()]
        )
    assert info.value.checkpoint is None


def test_second_signal_stops_at_once(X, tmp_path):
    with pytest.raises(KeyboardInterrupt, match="second signal SIGINT"):
        AutoEncoder(**KW).fit(
            X,
            checkpoint_dir=tmp_path,
            callbacks=[SendSignal(0, 1, signal.SIGINT, times=2), StopOnSignal()],
        )
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_stop_on_signal_as_context_manager_restores_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with StopOnSignal() as stopper:
        assert signal.getsignal(signal.SIGTERM) == stopper._handle
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopper.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_finished_run_is_not_interrupted(X, tmp_path):
    last = KW["max_epochs"] - 1, 5  # the last batch of the last epoch
    ae = AutoEncoder(**KW).fit(
        X,
        checkpoint_dir=tmp_path,
        callbacks=[SendSignal(*last, signal.SIGTERM), StopOnSignal()],
    )
    assert ae.n_epochs_ == KW["max_epochs"]


# -- divergence ----------------------------------------------------------------


def test_divergence_keeps_the_last_checkpoint_and_the_fitted_state(X, tmp_path):
    ae = AutoEncoder(**KW).fit(X)
    codes, history = ae.transform(X), ae.history_
    snapshot = {}

    class Snapshot(Callback):
        def on_epoch_end(self, state: TrainState) -> None:  # after the saver's save
            snapshot.update(_digest(tmp_path))

    class Poison(Callback):  # an overflow in the third epoch, as a huge lr would make
        def on_batch_end(self, state: TrainState) -> None:
            if (state.epoch, state.step) == (2, 1):
                with torch.no_grad():
                    state.module.encoder[0].weight.fill_(float("inf"))

    ae.set_params(lr=2e-3)
    msg = (
        r"loss became nan at epoch (\d+), step \d+.*the last checkpoint, "
        r".*ckpt-0+(\d+), is intact: fit\(X, resume_from="
    )
    with pytest.raises(DivergenceError, match=msg) as info:
        ae.fit(X, checkpoint_dir=tmp_path, callbacks=[Snapshot(), Poison()])
    diverged, saved = map(int, re.search(msg, str(info.value)).groups())
    assert saved == diverged - 1 == 2
    assert _digest(tmp_path) == snapshot  # untouched since the last good epoch
    assert load_checkpoint(tmp_path).epoch == saved
    np.testing.assert_array_equal(ae.transform(X), codes)  # the old fit, whole
    assert ae.history_ is history and ae.lr == 2e-3
    ae.set_params(lr=1e-3)  # a smaller lr continues from the good checkpoint
    ae.fit(X, resume_from=tmp_path)
    assert ae.n_epochs_ == 4 and np.isfinite(ae.history_[-1]["train_loss"])


def test_huge_lr_diverges_before_any_checkpoint(X, tmp_path):
    with pytest.raises(DivergenceError, match="try a value 10x smaller$"):
        AutoEncoder(**{**KW, "lr": 1e30}).fit(X, checkpoint_dir=tmp_path)
    assert list_checkpoints(tmp_path) == []


def test_refit_that_fails_keeps_the_previous_model(X):
    ae = AutoEncoder(**KW).fit(X)
    state = {k: v for k, v in vars(ae).items() if k.endswith("_")}
    codes = ae.transform(X)
    with pytest.raises(DivergenceError):
        ae.set_params(lr=1e38).fit(X[:, :5] * 3)
    assert {k: v for k, v in vars(ae).items() if k.endswith("_")} == state
    np.testing.assert_array_equal(ae.transform(X), codes)


def test_refit_refused_by_validation_keeps_the_feature_names(X):
    import pandas as pd

    ae = AutoEncoder(**KW).fit(pd.DataFrame(X, columns=list("abcdefgh")))
    bad = pd.DataFrame(X[:, :3], columns=["x", "y", "z"])
    bad.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ae.fit(bad)
    assert list(ae.feature_names_in_) == list("abcdefgh") and ae.n_features_in_ == 8


def test_checkpoint_callback_on_the_plain_loop(tmp_path):
    """The callback works without the estimator (meta then stays empty)."""
    from aekit.families import AEConfig, AutoEncoderNet
    from aekit.train import TrainConfig, train

    torch.manual_seed(0)
    net = AutoEncoderNet(AEConfig(n_features=6, latent_dim=2))
    Xt = torch.rand(40, 6)
    cb = CheckpointCallback(tmp_path, keep_last=1)
    train(
        net,
        Xt,
        None,
        TrainConfig(max_epochs=2, batch_size=8, verbose=0, dead_units="ignore"),
        callbacks=[cb],
    )
    assert cb.last_path == tmp_path / "ckpt-000002"
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.params == {} and ckpt.architecture["n_features"] == 6


def test_a_signal_that_reached_another_rank_interrupts_this_one():
    # Among ranks the stop and its signal are agreed; a rank whose own handler
    # saw nothing must still raise, not save a half-trained model as finished.
    from types import SimpleNamespace

    from aekit.checkpoint.resume import raise_if_interrupted
    from aekit.train import TrainConfig

    cfg = TrainConfig(max_epochs=3)
    state = SimpleNamespace(
        stop_signal=int(signal.SIGTERM), stopped_early=False, epoch=1, step=5
    )
    with pytest.raises(TrainingInterrupted, match="SIGTERM at epoch 2, step 5"):
        raise_if_interrupted(state, cfg, [], None, None)
    # a stop asked by another callback (a pruner) is no interruption
    state.stop_signal = 0
    raise_if_interrupted(state, cfg, [], None, None)
    state.stop_signal, state.epoch, state.step = int(signal.SIGTERM), 3, 0
    raise_if_interrupted(state, cfg, [], None, None)  # the last epoch was done
