import pytest
import torch
import torch.nn.functional as F

from aekit import kernels
from aekit.kernels import (
    Dense,
    DenseFn,
    fast_linear_enabled,
    set_fast_linear,
)


@pytest.fixture(autouse=True)
def _reset_probe(monkeypatch):
    monkeypatch.setenv("AEKIT_KERNELS", "on")  # test the path whatever the CPU
    set_fast_linear(None)
    yield
    set_fast_linear(None)


needs_onednn = pytest.mark.skipif(
    not (
        torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    ),
    reason="oneDNN linear is not available in this torch build",
)


@needs_onednn
@pytest.mark.parametrize(
    "shape", [(1, 5, 3), (37, 53, 29), (256, 784, 392), (64, 100, 1)]
)
def test_onednn_matches_f_linear_values_and_grads(shape):
    b, n_in, n_out = shape
    x = torch.rand(b, n_in)
    w = torch.randn(n_out, n_in) / n_in**0.5
    bias = torch.randn(n_out)
    up = torch.randn(b, n_out)
    grads = []
    for fn in (F.linear, DenseFn.apply):
        xs, ws, bs = (t.clone().requires_grad_() for t in (x, w, bias))
        out = fn(xs, ws, bs)
        (out * up).sum().backward()
        grads.append((out.detach(), xs.grad, ws.grad, bs.grad))
    for ref, got in zip(*grads):
        assert torch.allclose(ref, got, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_dense_takes_fast_path_only_where_it_applies(monkeypatch):
    assert fast_linear_enabled()  # probe before spying
    calls = []
    monkeypatch.setattr(DenseFn, "apply", lambda *a: calls.append(1) or F.linear(*a))
    layer = Dense(8, 4)
    layer(torch.rand(3, 8))
    assert calls == [1]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(torch.rand(3, 8))
    layer.double()(torch.rand(3, 8, dtype=torch.float64))
    assert calls == [1]


@needs_onednn
def test_probe_passes_when_first_asked_inside_inference_or_autocast():
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert fast_linear_enabled()


def test_turning_off_falls_back_to_f_linear(monkeypatch):
    set_fast_linear(False)
    assert not fast_linear_enabled()
    monkeypatch.setattr(DenseFn, "apply", lambda *a: pytest.fail("fast path taken"))
    assert Dense(8, 4)(torch.rand(3, 8)).shape == (3, 4)


def test_environment_variable_and_broken_op_disable_the_path(monkeypatch):
    monkeypatch.setenv("AEKIT_KERNELS", "off")
    assert kernels._probe() is False
    monkeypatch.setenv("AEKIT_KERNELS", "on")

    def broken(*a):
        raise RuntimeError("no such kernel")

    monkeypatch.setattr(kernels, "_lp", broken)
    assert kernels._probe() is False
    monkeypatch.setattr(kernels, "_lp", lambda x, w, b: F.linear(x, w, b) + 1.0)
    assert kernels._probe() is False  # disagrees with F.linear: not used


def test_dense_state_dict_is_nn_linear():
    layer = Dense(8, 4)
    ref = torch.nn.Linear(8, 4)
    ref.load_state_dict(layer.state_dict())
    x = torch.rand(5, 8)
    assert torch.allclose(ref(x), layer(x), atol=1e-6)


@needs_onednn
def test_both_paths_train_to_the_same_loss(digits):
    from aekit.families import AEConfig, AutoEncoderNet
    from aekit.train import TrainConfig, train

    X = torch.from_numpy(digits)
    losses = []
    for on in (True, False):
        set_fast_linear(on)
        torch.manual_seed(0)
        net = AutoEncoderNet(AEConfig(64, 8))
        cfg = TrainConfig(max_epochs=5, batch_size=64, verbose=0, dead_units="ignore")
        losses.append(train(net, X[:1500], X[1500:], cfg).history[-1]["val_loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-3)


@pytest.mark.parametrize(
    "setting, vendor, wanted",
    [
        ("auto", "GenuineIntel", False),
        ("auto", "AuthenticAMD", True),
        ("auto", "", False),
        ("on", "GenuineIntel", True),
        ("off", "AuthenticAMD", False),
    ],
)
def test_auto_uses_onednn_only_off_intel(monkeypatch, setting, vendor, wanted):
    monkeypatch.setenv("AEKIT_KERNELS", setting)
    monkeypatch.setattr(kernels, "_cpu_vendor", lambda: vendor)
    assert kernels._wanted() is wanted
