"""What a model family is: its config, how it builds its module, its objective.

A family is one module in `aekit.families` with a config dataclass and a
`Family` subclass registered by name (`aekit.families.register_family`).
Everything else (the estimator, the training loop, model folders,
checkpoints, `aekit info`, the report) reaches the family through the
registry (`aekit.families.get_family`), so a new family needs no change
anywhere else.

The module a family builds is a ``torch.nn.Module`` with ``config`` (the
dataclass), ``encode(x)``, ``decode(z)`` and ``forward(x) = decode(encode(x))``.
Its hidden activations in `aekit.layers.DenseStack`s are watched by the
dead-unit monitor.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import InvalidParameterError
from ..layers import DenseStack, check_hidden_activation, n_parameters
from ..losses import get_loss
from .options import check_option, option_specs

Parts = dict[str, torch.Tensor]
MAX_WIDTH = 2**31 - 1  # widest layer, input or code: products of two stay in int64


def reconstruction_loss(
    out: torch.Tensor, target: torch.Tensor, loss: str
) -> torch.Tensor:
    """Mean `loss` ("mse" or "bce") of `out` against `target`, computed in float32.

    Outside autocast: binary cross-entropy is not autocast-safe, and the loss
    of a bf16 forward pass is summed in float32 either way.
    """
    with torch.autocast(out.device.type, enabled=False):
        return get_loss(loss)(out.float(), target)


def check_undercomplete(n_features: int, latent_dim: int) -> None:
    """Refuse a code that is not smaller than the input, with the way out."""
    if n_features > MAX_WIDTH:
        raise ValueError(
            f"n_features={n_features} is more than the {MAX_WIDTH} features a "
            "layer can take"
        )
    if n_features < 2:
        raise ValueError(
            f"X has {n_features} feature(s), but an autoencoder needs at least "
            "2 features to compress into a smaller code"
        )
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    if latent_dim >= n_features:
        raise ValueError(
            f"latent_dim={latent_dim} is not smaller than the number of "
            f"features ({n_features}); an undercomplete autoencoder needs "
            f"latent_dim < {n_features}, e.g. latent_dim={max(1, n_features // 4)}"
        )


def check_widths(hidden_dims: Any) -> tuple[int, ...] | None:
    """hidden_dims as a tuple of positive ints (None stays None)."""
    if hidden_dims is None:
        return None
    dims = tuple(int(h) for h in hidden_dims)
    if any(not 1 <= h <= MAX_WIDTH for h in dims):
        shown = repr(dims) if len(repr(dims)) <= 80 else repr(dims)[:77] + "..."
        raise ValueError(
            f"hidden_dims must be widths from 1 to {MAX_WIDTH}, got {shown}"
        )
    return dims


def check_common(config: Any) -> None:
    """Check and normalise the fields every family config has, in place.

    n_features and latent_dim (an undercomplete code), hidden_dims, activation
    and the per-layer activation overrides.
    """
    config.n_features = int(config.n_features)
    config.latent_dim = int(config.latent_dim)
    check_undercomplete(config.n_features, config.latent_dim)
    config.hidden_dims = check_widths(config.hidden_dims)
    check_hidden_activation(config.activation)
    for act in config.layer_activations.values():
        check_hidden_activation(act)


class Family:
    """Base class of a model family; subclass it and register an instance.

    Class attributes: ``name`` (the registry key, saved with every model),
    ``config_class`` (a dataclass whose fields include ``n_features``,
    ``latent_dim``, ``hidden_dims`` and ``activation``; its other fields are
    the family's options), ``summary`` (one line for `aekit info` and the
    report), ``needs_pca`` (a fresh fit hands `initialize` the PCA of the
    training rows) and ``start_is_candidate`` (early stopping scores the
    starting point; if no epoch beats it on the validation rows, the start is
    kept and rebuilt with `initialize` from the PCA of all rows passed to fit).
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[Any]]
    summary: ClassVar[str] = ""
    needs_pca: ClassVar[bool] = False
    start_is_candidate: ClassVar[bool] = False
    test_start: ClassVar[bool] = False  # see `start_candidate`
    # What `aekit tune` may vary beyond the boolean options, as search specs
    # (`aekit.search.space`): option names, and ``depth``/``width`` when the
    # family's widths mean something else than the common rule's (channels).
    search_space: ClassVar[Mapping[str, Any]] = {}
    # a network the penalized variants (sparse, denoising, contractive) can
    # train on, named by their ``base`` option; it then has `hidden_widths`
    is_base: ClassVar[bool] = False

    def hidden_widths(self, n_features: int, latent_dim: int) -> list[int]:
        """The family's width rule: its hidden widths when ``hidden_dims`` is None."""
        raise NotImplementedError(f"the {self.name!r} family has no dense width rule")

    def hidden_of(self, config: Any) -> list[int]:
        """The hidden widths of `config`: its ``hidden_dims``, else the width rule."""
        if config.hidden_dims is not None:
            return list(config.hidden_dims)
        return self.hidden_widths(config.n_features, config.latent_dim)

    # -- configuration ---------------------------------------------------------

    def option_names(self) -> list[str]:
        """The family's own options: config fields beyond the common four."""
        common = {"n_features", "latent_dim", "hidden_dims", "activation"}
        return [
            f.name
            for f in dataclasses.fields(self.config_class)
            if f.name not in common
            and f.init
            and not f.name.startswith("_")
            and f.name != "layer_activations"
        ]

    def option_ranges(self) -> dict[str, str]:
        """What each declared option accepts, in words (`aekit info`, the docs)."""
        return {k: v.accepts for k, v in option_specs(self.config_class).items()}

    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """`options` in their stored form; unknown names and bad values refused.

        The one check of a family's options: `make_config`, the estimator's
        parameter check and every config the family builds go through it.
        Unknown names raise ValueError with a suggestion, values outside
        their declared range InvalidParameterError naming the option and
        the range.
        """
        known = self.option_names()
        specs = option_specs(self.config_class)
        out = {}
        for key, value in (options or {}).items():
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                choose = (
                    f" (options of {self.name!r}: {known})"
                    if known
                    else (f" ({self.name!r} has no options)")
                )
                raise InvalidParameterError(
                    f"unknown model option {key!r} for model {self.name!r}{hint}{choose}"
                )
            spec = specs.get(key)
            where = f" of model {self.name!r}"
            out[key] = value if spec is None else check_option(key, value, spec, where)
        return out

    def make_config(
        self,
        n_features: int,
        *,
        latent_dim: int,
        hidden_dims: tuple[int, ...] | None,
        activation: str,
        options: Mapping[str, Any] | None = None,
    ) -> Any:
        """The config for a fit; unknown `options` are refused with a suggestion."""
        return self.config_class(
            n_features=n_features,
            latent_dim=latent_dim,
            hidden_dims=hidden_dims,
            activation=activation,
            **self.check_options(options),
        )

    def config_to_dict(self, config: Any) -> dict[str, Any]:
        d = dataclasses.asdict(config)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def config_from_dict(self, d: Mapping[str, Any]) -> Any:
        if not isinstance(d, Mapping):
            raise TypeError("the architecture must be a mapping")
        return self.config_class(**d)

    # -- the module --------------------------------------------------------------

    def build(self, config: Any) -> nn.Module:
        """A new module for `config`, initialised from torch's global generator."""
        raise NotImplementedError

    def unit_output(self, config: Any) -> bool:
        """Whether a module of `config` outputs values in [0, 1] in training.

        ``loss="bce"`` needs it (a sigmoid output); a linear output, such as
        pca_anchored's, does not have it.
        """
        return True

    def start_candidate(self, config: Any) -> bool:
        """Does early stopping score the start of a module of `config`?

        ``start_is_candidate`` by default. With ``test_start`` too, the
        trained model must then beat the start clearly in reconstruction
        error on the validation rows (`aekit.fitting.start_test`), else the
        start, rebuilt by `initialize` from the PCA of all rows, is the model.
        """
        return self.start_is_candidate

    def initialize(self, module: nn.Module, pca: Any = None, rows: Any = None) -> None:
        """Data-dependent initialisation of a fresh fit (not of a resumed one).

        `pca` is the PCA of the training rows when ``needs_pca`` is true;
        `rows` the training rows (`aekit.data.rows.ScaledRows`, in [0, 1] space).
        """

    def objective(
        self,
        module: nn.Module,
        xb: torch.Tensor,
        *,
        loss: str,
        rng: torch.Generator | None,
    ) -> tuple[torch.Tensor, Parts]:
        """(loss, named parts) of a batch of scaled rows (batch, n_features).

        The loop minimises the loss and records the mean of each part per
        epoch in ``history_``. `rng` draws any noise (it is saved in
        checkpoints); None in evaluation, where the objective is deterministic
        and the module is in eval mode.
        """
        return reconstruction_loss(module(xb), xb, loss), {}

    # -- generating ----------------------------------------------------------------

    def sample(
        self, module: nn.Module, n: int, generator: torch.Generator
    ) -> torch.Tensor:
        """`n` new rows in the [0, 1] space, drawn with `generator` (module in eval mode).

        Only generative families have it; the others raise NotImplementedError.
        """
        raise NotImplementedError(
            f"the {self.name!r} family is not a generative model and cannot draw "
            "new rows; train model='variational' for that"
        )

    # -- description -------------------------------------------------------------

    def architecture(self, module: nn.Module) -> str:
        """One line describing the module's shape, for `aekit info` and the report.

        By default the widths of each dense stack, and of each other linear layer.
        """
        parts = []
        for name, m in module.named_modules():
            if isinstance(m, DenseStack):
                parts.append(f"{name} " + " → ".join(str(w) for w in _stack_widths(m)))
            elif isinstance(m, nn.Linear) and not _in_stack(module, name):
                parts.append(f"{name} {m.in_features} → {m.out_features}")
        return "; ".join(parts)

    def layers(self, module: nn.Module) -> list[dict[str, Any]]:
        """Every linear layer: name, in, out, and the activation that follows it."""
        out = []
        stacks = {n: m for n, m in module.named_modules() if isinstance(m, DenseStack)}
        for name, m in module.named_modules():
            if not isinstance(m, nn.Linear):
                continue
            parent, _, idx = name.rpartition(".")
            act_layer, act = "", "linear"
            if parent in stacks and idx.isdigit():
                act_layer = f"{parent}.{int(idx) + 1}"
                act = act_name(stacks[parent][int(idx) + 1])
            out.append(
                {
                    "layer": name,
                    "in": m.in_features,
                    "out": m.out_features,
                    "activation_layer": act_layer,
                    "activation": act,
                }
            )
        return out

    def architecture_of(self, config: Any) -> str:
        """`architecture` of the module `config` describes, built on the meta device."""
        with torch.device("meta"):
            return self.architecture(self.build(config))

    def n_parameters(self, module: nn.Module) -> int:
        return n_parameters(module)


def _in_stack(module: nn.Module, name: str) -> bool:
    parent = name.rpartition(".")[0]
    return isinstance(dict(module.named_modules()).get(parent), DenseStack)


def _stack_widths(stack: DenseStack) -> list[int]:
    lin = stack.linears()
    return [lin[0].in_features, *(m.out_features for m in lin)]


def act_name(act: nn.Module) -> str:
    """The name of an activation module ("relu", ..., "linear" for identity)."""
    names = {
        nn.ReLU: "relu",
        nn.LeakyReLU: "leaky_relu",
        nn.ELU: "elu",
        nn.GELU: "gelu",
        nn.Tanh: "tanh",
        nn.Sigmoid: "sigmoid",
        nn.Identity: "linear",
    }
    return names.get(type(act), type(act).__name__.lower())
