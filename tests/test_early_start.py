"""The start test decided early: the same answer, fewer epochs, exact resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import aekit
import aekit.fitting.start as start
from aekit import AutoEncoder
from aekit.train import StartDecision, TrainState


class Sabotage(aekit.Callback):
    """Make every epoch worse than the start: noise into a correction's last layer."""

    def on_batch_end(self, state):
        with torch.no_grad():
            state.module.decoder[-2].weight.add_(0.05)


class StopAt(aekit.Callback):
    """Ask the loop to stop at (epoch, step), as a signal would."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_batch_end(self, state):
        if (state.epoch, state.step) == self.at:
            state.stop_requested = True


KW = dict(latent_dim=3, max_epochs=60, patience=20, random_state=0, verbose=0)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(1).random((120, 10)).astype(np.float32)


def _fit(X, early, callbacks=(), **fit_kw):
    old = start.EARLY_DECISION
    start.EARLY_DECISION = early
    try:
        return AutoEncoder(**KW).fit(X, callbacks=[Sabotage(), *callbacks], **fit_kw)
    finally:
        start.EARLY_DECISION = old


def test_a_start_that_has_won_stops_training_with_the_same_answer(X):
    before = _fit(X, early=False)
    after = _fit(X, early=True)
    tb, ta = before.metrics_["start_test"], after.metrics_["start_test"]
    assert tb["trained_kept"] is ta["trained_kept"] is False
    assert before.n_epochs_ == KW["patience"]  # the full patience, as before
    assert ta["decided_epoch"] == after.n_epochs_ < KW["patience"]
    assert tb["decided_epoch"] == after.n_epochs_  # where it would have stopped
    assert before.best_epoch_ == after.best_epoch_ == 0
    for k, v in before.module_.state_dict().items():  # the same PCA of all rows
        assert torch.equal(v, after.module_.state_dict()[k]), k


def test_a_model_that_wins_is_never_stopped(digits):
    ae = AutoEncoder(latent_dim=8, random_state=0, verbose=0, max_epochs=8)
    ae.fit(digits[:600])
    t = ae.metrics_["start_test"]
    assert t["trained_kept"] and t["decided_epoch"] is None


def _decision(gains: list[float], z: float = 1.645, epochs: int = 3):
    """A StartDecision fed rows whose gains over the start are `gains` per epoch."""
    noise = np.tile([-0.01, 0.01], 50)  # SE of the mean gain: 0.001
    errors = iter([1.0 - g - noise for g in gains])
    return StartDecision(
        np.ones(100), lambda _m: next(errors), z, 1.645, epochs, 20, 100
    )


def _epochs(decision: StartDecision, n: int, best_epoch: int = 0) -> TrainState:
    net = torch.nn.Linear(1, 1)
    state = TrainState(net, torch.optim.SGD(net.parameters(), 0.1), torch.Generator())
    for epoch in range(1, n + 1):
        state.epoch, state.best_epoch = epoch, best_epoch
        state.bad_epochs = epoch - best_epoch
        decision.on_epoch_end(state)
        if state.stopped_early:
            break
    return state


def test_it_stops_when_behind_without_catching_up():
    d = _decision([-0.05] * 10)
    state = _epochs(d, 10)
    assert state.stopped_early and d.decided_epoch == state.epoch == 4


def test_it_waits_while_the_model_catches_up():
    d = _decision([-0.05 + 0.004 * i for i in range(10)])  # behind, but closing in
    assert not _epochs(d, 10).stopped_early and d.decided_epoch is None


def test_catching_up_too_slowly_for_the_patience_left_is_settled():
    d = _decision([-0.05 + 0.0005 * i for i in range(10)])
    assert _epochs(d, 10).stopped_early and d.decided_epoch == 4


def test_it_waits_while_the_model_is_not_clearly_behind():
    d = _decision([-0.001] * 10)  # 1 SE behind: not settled
    assert not _epochs(d, 10).stopped_early


def test_it_never_stops_once_the_best_epoch_passes_the_test():
    d = _decision([0.01, *([-0.05] * 9)])  # epoch 1 is kept, and passes
    state = _epochs(d, 10, best_epoch=1)
    assert not state.stopped_early and d.best_z == pytest.approx(10.0, rel=0.01)


def test_a_best_epoch_that_fails_the_test_does_not_hold_it_back():
    d = _decision([0.001, *([-0.05] * 9)])  # epoch 1 kept, but 1 SE: fails
    assert _epochs(d, 10, best_epoch=1).stopped_early


def test_its_state_survives_a_round_trip():
    d = _decision([-0.05] * 10)
    _epochs(d, 2)
    saved = d.state_dict()
    other = _decision([])
    other.load_state_dict(saved)
    assert other.trace == d.trace and other.decided_epoch is None
    assert math.isinf(other.best_z) and saved["best_z"] is None


def test_resumed_fit_decides_as_the_uninterrupted_one(X, tmp_path):
    ref = _fit(X, True)
    _fit(X, True, [StopAt(3, 1)], checkpoint_dir=tmp_path)  # stopped mid-epoch 4
    old, start.EARLY_DECISION = start.EARLY_DECISION, True
    try:
        resumed = AutoEncoder(**KW).fit(X, callbacks=[Sabotage()], resume_from=tmp_path)
    finally:
        start.EARLY_DECISION = old
    t, r = ref.metrics_["start_test"], resumed.metrics_["start_test"]
    assert r["decided_epoch"] == t["decided_epoch"] is not None
    assert resumed.n_epochs_ == ref.n_epochs_
    for k, v in ref.module_.state_dict().items():
        assert torch.equal(v, resumed.module_.state_dict()[k]), k


def test_the_start_errors_read_from_the_module_before_training_are_a_built_starts(X):
    from aekit.fitting.setup import setup_run

    params = AutoEncoder(**KW).get_params()
    run = setup_run(X, params)
    module = run.new_module()
    run.family.initialize(module, run.pca, run.train)
    module.train()
    # the hidden layers' random weights differ from a fresh build's: the start's
    # output must not depend on them (its corrections end in zero layers)
    with torch.no_grad():
        module.encoder[0].weight.mul_(3.0)
    read = start.start_errors(run, module)
    built = start.start_errors(run)
    assert module.training  # its mode is given back
    np.testing.assert_array_equal(read, built)
    assert len(read) == len(run.val) and read.dtype == np.float64
