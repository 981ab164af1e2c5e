"""A small network trains on one thread; the caller's thread count comes back."""

from __future__ import annotations

import pytest
import torch

from aekit.families import AEConfig, AutoEncoderNet
from aekit.train import (
    SMALL_STEP_MACS,
    Callback,
    TrainConfig,
    step_macs,
    train,
    training_threads,
)


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _net(n_features: int, hidden: tuple[int, ...], latent: int) -> AutoEncoderNet:
    torch.manual_seed(0)
    return AutoEncoderNet(AEConfig(n_features, latent, hidden))


class _Threads(Callback):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_batch_end(self, state) -> None:
        self.seen.append(torch.get_num_threads())


def test_step_macs_counts_every_linear_layer_for_the_batch():
    net = _net(10, (6,), 3)  # 10-6-3-6-10
    assert step_macs(net, 4) == 4 * (10 * 6 + 6 * 3 + 3 * 6 + 6 * 10)


def test_a_small_network_uses_one_thread_and_a_large_one_all(two_threads):
    small = _net(64, (32,), 8)
    assert step_macs(small, 64) < SMALL_STEP_MACS
    assert training_threads(small, 64) == 1
    large = _net(1024, (512,), 64)
    assert step_macs(large, 256) >= SMALL_STEP_MACS
    assert training_threads(large, 256) == 2


def test_train_runs_a_small_network_on_one_thread_and_gives_the_count_back(
    two_threads,
):
    net, seen = _net(16, (8,), 4), _Threads()
    X = torch.rand(40, 16)
    train(net, X, None, TrainConfig(max_epochs=2, batch_size=16), callbacks=[seen])
    assert seen.seen and set(seen.seen) == {1}
    assert torch.get_num_threads() == 2


def test_the_count_comes_back_when_training_raises(two_threads):
    class Boom(Callback):
        def on_batch_end(self, state) -> None:
            raise RuntimeError("boom")

    net = _net(16, (8,), 4)
    with pytest.raises(RuntimeError, match="boom"):
        train(net, torch.rand(40, 16), None, TrainConfig(max_epochs=2), callbacks=[Boom()])
    assert torch.get_num_threads() == 2


def test_one_thread_or_two_give_the_same_model_for_a_seed(two_threads, monkeypatch):
    """The choice changes the speed, not what is learned (to float32 rounding)."""
    X = torch.rand(64, 16, generator=torch.Generator().manual_seed(1))
    cfg = TrainConfig(max_epochs=3, batch_size=16)
    one = _net(16, (8,), 4)
    train(one, X, None, cfg)
    monkeypatch.setattr("aekit.train.threads.SMALL_STEP_MACS", 0)  # never one thread
    two = _net(16, (8,), 4)
    train(two, X, None, cfg)
    for a, b in zip(one.parameters(), two.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
