import pytest
import torch
from torch import nn

from aekit.families import AEConfig, AutoEncoderNet
from aekit.layers import (
    get_activation,
    halving_widths,
    hidden_layers,
    switch_activation,
)
from aekit.losses import get_loss


@pytest.mark.parametrize(
    "n, latent, expected",
    [
        (4096, 1000, [4096, 2048, 1024, 1000]),
        (784, 32, [784, 392, 196, 98, 49, 32]),
        (64, 16, [64, 32, 16]),
        (64, 40, [64, 40]),  # 32 is not > 40: straight to the code
    ],
)
def test_halving_rule(n, latent, expected):
    assert AEConfig(n_features=n, latent_dim=latent).widths == expected


def test_halving_widths_are_strictly_greater_than_latent():
    assert halving_widths(100, 25) == [50]


def test_explicit_hidden_dims_and_mirrored_decoder():
    net = AutoEncoderNet(AEConfig(n_features=20, latent_dim=3, hidden_dims=(12, 6)))
    enc = [m.out_features for m in net.encoder if isinstance(m, nn.Linear)]
    dec = [m.out_features for m in net.decoder if isinstance(m, nn.Linear)]
    assert enc == [12, 6, 3]
    assert dec == [6, 12, 20]


def test_default_design():
    net = AutoEncoderNet(AEConfig(n_features=32, latent_dim=4))
    assert AEConfig(n_features=2000).latent_dim == 1000
    assert isinstance(net.encoder[1], nn.ReLU)
    assert isinstance(net.encoder[-1], nn.Identity)  # linear code
    assert isinstance(net.decoder[-1], nn.Sigmoid)
    x = torch.rand(7, 32)
    z = net.encode(x)
    assert z.shape == (7, 4)
    assert (z < 0).any()  # the code is linear, not clipped
    out = net(x)
    assert torch.equal(out, net.decode(net.encode(x)))
    assert ((out > 0) & (out < 1)).all()


def test_latent_not_smaller_than_features_is_refused():
    with pytest.raises(
        ValueError, match=r"latent_dim=64 is not smaller .* \(64\).* latent_dim < 64"
    ):
        AEConfig(n_features=64, latent_dim=64)
    with pytest.raises(ValueError, match="latent_dim=1000 is not smaller .* 784"):
        AEConfig(n_features=784)


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_hidden_dims(bad):
    with pytest.raises(ValueError, match="hidden_dims must be widths from 1"):
        AEConfig(n_features=10, latent_dim=2, hidden_dims=(5, bad))


def test_registries_reject_unknown_names_listing_choices():
    with pytest.raises(
        ValueError, match=r"unknown activation 'relu6'; choose from \['elu'"
    ):
        AEConfig(n_features=10, latent_dim=2, activation="relu6")
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose from"):
        get_activation("swish")
    with pytest.raises(
        ValueError, match=r"unknown loss 'l1'; choose from \['bce', 'mse'\]"
    ):
        get_loss("l1")


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "gelu", "tanh"])
def test_every_hidden_activation_builds(name):
    net = AutoEncoderNet(AEConfig(n_features=16, latent_dim=2, activation=name))
    assert net(torch.rand(3, 16)).shape == (3, 16)


def test_switch_activation_keeps_weights_and_records_it():
    net = AutoEncoderNet(AEConfig(n_features=16, latent_dim=2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    names = [n for n, _, _ in hidden_layers(net)]
    assert names == ["encoder.1", "encoder.3", "decoder.1", "decoder.3"]
    switch_activation(net, "encoder.3", "leaky_relu")
    assert isinstance(net.encoder[3], nn.LeakyReLU)
    assert net.config.layer_activations == {"encoder.3": "leaky_relu"}
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    rebuilt = AutoEncoderNet(AEConfig.from_dict(net.config.to_dict()))
    assert isinstance(rebuilt.encoder[3], nn.LeakyReLU)


def test_dead_unit_monitor_sees_every_hidden_layer():
    from aekit.train import evaluate_loss

    net = AutoEncoderNet(AEConfig(n_features=16, latent_dim=2))
    x = torch.rand(5, 16)
    loss, parts, dead = evaluate_loss(net, x)
    assert loss == pytest.approx(torch.nn.functional.mse_loss(net(x), x).item())
    assert parts == {}
    assert sorted(dead) == ["decoder.1", "decoder.3", "encoder.1", "encoder.3"]
    with torch.no_grad():  # every unit of encoder.1 dead: inputs >= 0, weights < 0
        net.encoder[0].weight.copy_(-net.encoder[0].weight.abs())
        net.encoder[0].bias.fill_(-1.0)
    assert evaluate_loss(net, x)[2]["encoder.1"] == 1.0
