import numpy as np
import pytest
import torch

from aekit.errors import DeadUnitWarning, DivergenceError
from aekit.families import AEConfig, AutoEncoderNet
from aekit.train import Callback, TrainConfig, restore_best, train


def _net(n=16, latent=2, **kw):
    return AutoEncoderNet(AEConfig(n_features=n, latent_dim=latent, **kw))


def _data(n=200, d=16, seed=0):
    return torch.from_numpy(
        np.random.default_rng(seed).random((n, d), dtype=np.float32)
    )


def _cfg(**kw):
    defaults = {"max_epochs": 3, "batch_size": 32, "verbose": 0, "dead_units": "ignore"}
    return TrainConfig(**{**defaults, **kw})


def test_every_row_is_visited_exactly_once_per_epoch(monkeypatch):
    X = _data(103)
    X[:, 0] = torch.arange(103) / 103  # row id in column 0
    seen: list[list[int]] = [[]]

    net = _net()
    original = net.forward

    def spy(x):
        if net.training:  # the validation pass sees every row too
            seen[-1].extend((x[:, 0] * 103).round().long().tolist())
        return original(x)

    monkeypatch.setattr(net, "forward", spy)

    class NextEpoch(Callback):
        def on_epoch_end(self, state):
            seen.append([])

    train(net, X, None, _cfg(batch_size=10), callbacks=[NextEpoch()])
    epochs = [s for s in seen if s]
    assert len(epochs) == 3
    for rows in epochs:
        assert sorted(rows) == list(range(103))
    assert epochs[0] != epochs[1]  # a fresh permutation each epoch


def test_same_seed_gives_bitwise_identical_weights():
    X = _data()
    states = []
    for _ in range(2):
        torch.manual_seed(1)
        net = _net()
        train(net, X, X[:20], _cfg(), seed=5)
        states.append(net.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    torch.manual_seed(1)
    other = _net()
    train(other, X, X[:20], _cfg(), seed=6)
    assert not all(torch.equal(states[0][k], other.state_dict()[k]) for k in states[0])


def test_history_fields():
    st = train(_net(), _data(), _data(40, seed=1), _cfg())
    assert [h["epoch"] for h in st.history] == [1, 2, 3]
    h = st.history[-1]
    assert set(h) == {
        "epoch",
        "train_loss",
        "val_loss",
        "seconds",
        "dead_fraction",
        "switched",
    }
    assert h["train_loss"] > 0 and h["val_loss"] > 0 and h["seconds"] > 0
    assert set(h["dead_fraction"]) == {
        "encoder.1",
        "encoder.3",
        "decoder.1",
        "decoder.3",
    }


def test_early_stopping_restores_best_weights():
    X = _data(64)
    # a huge learning rate makes the validation loss bounce, so patience triggers
    st = train(_net(), X, X[:16], _cfg(max_epochs=60, lr=0.3, patience=2), seed=0)
    assert st.stopped_early
    assert st.epoch == st.best_epoch + 2
    restore_best(st)
    best = min(h["val_loss"] for h in st.history)
    assert st.best_loss == best
    from aekit.train import evaluate_loss

    assert evaluate_loss(st.module, X[:16])[0] == pytest.approx(best, rel=1e-6)


def test_divergence_stops_at_that_step_with_clear_error():
    class Poison(Callback):
        def on_batch_end(self, state):
            if (state.epoch, state.step) == (1, 3):  # second epoch, third step
                with torch.no_grad():
                    state.module.encoder[0].weight[0, 0] = float("inf")

    net = _net()
    with pytest.raises(
        DivergenceError, match=r"loss became nan at epoch 2, step 4; .*\(lr=0\.001\)"
    ):
        train(net, _data(), None, _cfg(), callbacks=[Poison()])


def test_mid_epoch_resume_is_bitwise_exact():
    X = _data(100)

    class StopAt(Callback):
        def __init__(self, step):
            self.step, self.calls = step, 0

        def on_batch_end(self, state):
            self.calls += 1
            if self.calls == self.step:
                state.stop_requested = True

    torch.manual_seed(3)
    ref = _net()
    init = {k: v.clone() for k, v in ref.state_dict().items()}
    train(ref, X, X[:10], _cfg(max_epochs=4, patience=None), seed=9)

    net = _net()
    net.load_state_dict(init)
    st = train(
        net, X, X[:10], _cfg(max_epochs=4, patience=None), seed=9, callbacks=[StopAt(6)]
    )
    assert (st.epoch, st.step) == (1, 2)  # 4 batches an epoch
    st.stop_requested = False
    train(net, X, X[:10], _cfg(max_epochs=4, patience=None), state=st)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, net.state_dict()[k]), k


def _dead_net():
    torch.manual_seed(0)
    net = _net(64, 8)
    with torch.no_grad():  # every first-layer unit negative for inputs in [0, 1]
        net.encoder[0].bias.fill_(-1.0)
        net.encoder[0].weight.mul_(0.1)
    return net


def test_dead_units_switch_revives_and_ignore_does_not(digits):
    X = torch.from_numpy(digits)
    runs = {}
    for policy in ("switch", "ignore"):
        cfg = _cfg(
            max_epochs=15, lr=1e-2, batch_size=64, dead_units=policy, patience=None
        )
        runs[policy] = train(_dead_net(), X[:1500], X[1500:], cfg).history
    sw, ig = runs["switch"], runs["ignore"]
    assert sw[0]["dead_fraction"]["encoder.1"] == 1.0
    assert "encoder.1" in sw[0]["switched"]
    assert sw[-1]["dead_fraction"]["encoder.1"] < 0.9
    assert sw[-1]["val_loss"] < 0.6 * sw[0]["val_loss"]
    assert all(h["dead_fraction"]["encoder.1"] == 1.0 for h in ig)
    mean_mse = ((X[1500:] - X[:1500].mean(0)) ** 2).mean().item()
    assert ig[-1]["val_loss"] > 0.95 * mean_mse  # no better than predicting the mean
    assert sw[-1]["val_loss"] < 0.7 * ig[-1]["val_loss"]


def test_dead_units_warn_names_layer_once(digits):
    X = torch.from_numpy(digits)
    with pytest.warns(
        DeadUnitWarning, match=r"100% of the ReLU units in hidden layer encoder\.1"
    ) as rec:
        train(_dead_net(), X[:200], X[200:300], _cfg(max_epochs=3, dead_units="warn"))
    assert sum("encoder.1 " in str(w.message) for w in rec) == 1


def test_bf16_tracks_fp32(digits):
    X = torch.from_numpy(digits)
    losses = {}
    for p in ("fp32", "bf16"):
        torch.manual_seed(0)
        st = train(_net(64, 8), X[:1500], X[1500:], _cfg(max_epochs=8, precision=p))
        losses[p] = st.history[-1]["val_loss"]
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.1)


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"max_epochs": 0}, "'max_epochs' parameter of TrainConfig .* Got 0 instead"),
        ({"max_epochs": "auto"}, "'auto' is resolved by resolve_budget first"),
        ({"batch_size": 2.5}, "'batch_size' .* an int >= 1. Got 2.5 instead"),
        ({"patience": -1}, "'patience' .* an int >= 1. Got -1 instead"),
        ({"lr": 0}, "'lr' .* a finite float > 0. Got 0 instead"),
        ({"weight_decay": -1}, "'weight_decay' .* a finite float >= 0"),
        ({"weight_decay": float("inf")}, "'weight_decay' .* a finite float >= 0"),
        ({"loss": "l2"}, r"'loss' .* one of 'bce', 'mse'. Got 'l2' instead"),
        ({"dead_units": "fix"}, r"'dead_units' .* one of .* Got 'fix' instead"),
        ({"dead_unit_threshold": 0}, r"'dead_unit_threshold' .* in \(0, 1\]"),
        ({"precision": "fp16"}, r"'precision' .* Got 'fp16' instead"),
    ],
)
def test_train_config_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig(**kw)


def test_train_config_defaults_are_the_estimators():
    from aekit.params import PARAMS
    from aekit.train import AUTO_MIN_EPOCHS, AUTO_PATIENCE

    cfg = TrainConfig()
    assert (cfg.max_epochs, cfg.patience) == (AUTO_MIN_EPOCHS, AUTO_PATIENCE)
    for name, value in vars(cfg).items():
        if name not in ("max_epochs", "patience"):
            assert value == PARAMS[name].default, name


def test_quiet_when_not_a_terminal(capsys):
    train(_net(), _data(), None, _cfg(verbose=1))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_2_logs_a_line_per_epoch(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="aekit"):
        train(_net(), _data(), None, _cfg(verbose=2))
    lines = [r.getMessage() for r in caplog.records if r.name == "aekit.train"]
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3 train_loss")


def test_verbose_2_prints_its_lines_while_logging_is_not_configured(
    capsys, monkeypatch
):
    import logging

    monkeypatch.setattr(logging.root, "handlers", [])  # pytest's own, for this test
    train(_net(), _data(), None, _cfg(verbose=2))
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3 train_loss")


def test_subnormal_adam_moments_are_flushed_and_nothing_else():
    from aekit.train import flush_subnormal_moments

    p = torch.nn.Parameter(torch.zeros(6))
    opt = torch.optim.Adam([p])
    p.grad = torch.ones(6)
    opt.step()
    tiny = torch.finfo(torch.float32).tiny
    values = torch.tensor([1e-39, -3e-41, tiny, -2 * tiny, 0.0, 0.5])
    opt.state[p]["exp_avg"].copy_(values)
    opt.state[p]["exp_avg_sq"].copy_(values.abs())
    flush_subnormal_moments(opt)
    kept = torch.tensor([0.0, 0.0, tiny, -2 * tiny, 0.0, 0.5])
    assert torch.equal(opt.state[p]["exp_avg"], kept)
    assert torch.equal(opt.state[p]["exp_avg_sq"], kept.abs())
    assert int(opt.state[p]["step"]) == 1  # the step count is not a moment


def test_moments_are_flushed_every_so_many_steps_and_each_epoch(monkeypatch):
    import aekit.train.numerics as tr

    calls = []

    def spy(opt):  # record the optimizer's step count at each flush
        calls.append(int(next(iter(opt.state.values()))["step"]))

    monkeypatch.setattr(tr, "FLUSH_EVERY", 3)
    monkeypatch.setattr(tr, "flush_subnormal_moments", spy)
    X = torch.rand(70, 8)
    cfg = TrainConfig(max_epochs=2, batch_size=10, patience=None, verbose=0)
    train(_net(8, 2), X, None, cfg)
    # 7 steps an epoch: after its steps 3 and 6, and at its end
    assert calls == [3, 6, 7, 10, 13, 14]


def _auto_fit(digits, callbacks=()):
    import warnings

    from aekit import AutoEncoder

    ae = AutoEncoder(latent_dim=4, model="halving", random_state=0, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ae.fit(digits, evaluate=False, callbacks=list(callbacks))
    return ae, [w for w in caught if "max_epochs='auto' allowed" in str(w.message)]


def test_auto_budget_spent_while_improving_warns(digits, monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    import aekit.train.config

    monkeypatch.setattr(aekit.train.config, "AUTO_MIN_EPOCHS", 3)
    monkeypatch.setattr(aekit.train.config, "AUTO_STEPS", 1)
    ae, warned = _auto_fit(digits)
    assert ae.n_epochs_ == 3 and ae.best_epoch_ == 3
    assert len(warned) == 1 and warned[0].category is ConvergenceWarning


def test_a_callback_that_stops_training_is_not_a_spent_budget(digits):
    class StopAfter2(Callback):
        def on_epoch_end(self, state):
            state.stop_requested = state.epoch >= 2

    ae, warned = _auto_fit(digits, [StopAfter2()])
    assert ae.n_epochs_ == 2 and ae.best_epoch_ == 2
    assert warned == []


def test_the_loops_own_callbacks_run_before_the_callers(caplog):
    import logging

    from aekit.train import (
        DeadUnitPolicy,
        EarlyStopping,
        ProgressBar,
        default_callbacks,
    )

    seen = []

    class Look(Callback):
        def on_epoch_end(self, state):
            # the epoch is recorded and scored, the bar's line already printed
            seen.append((state.history[-1]["epoch"], state.best_epoch))
            assert caplog.records[-1].getMessage().startswith(f"epoch {state.epoch}/")

    hooks = default_callbacks(_cfg())
    assert [type(cb) for cb in hooks] == [EarlyStopping, DeadUnitPolicy, ProgressBar]
    with caplog.at_level(logging.INFO, logger="aekit"):
        st = train(
            _net(), _data(), _data(40, seed=1), _cfg(verbose=2), callbacks=[Look()]
        )
    assert [e for e, _ in seen] == [1, 2, 3]
    assert all(best >= 1 for _, best in seen) and st.best_epoch == seen[-1][1]


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    class Worse(Callback):  # an epoch that never beats the first
        def on_epoch_end(self, state):
            if state.epoch == 1:
                state.best_loss = -1.0

    st = train(
        _net(), _data(), None, _cfg(max_epochs=20, patience=3), callbacks=[Worse()]
    )
    assert st.stopped_early and st.epoch == 4 and st.bad_epochs == 3
