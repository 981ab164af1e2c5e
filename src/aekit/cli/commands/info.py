"""`aekit info`: describe a saved model: family, architecture, training, provenance."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...version import __version__
from ..arguments import add_model_dir
from ..inputs import load_model
from ..options import ESTIMATOR_OPTIONS, EXIT_OK, TRAIN_CONFIG_FILE
from ..text import dead_text

if TYPE_CHECKING:
    from ...estimator import AutoEncoder

NAME = "info"
HELP = "describe a saved model"
EXAMPLE = """\
example:
  aekit info model"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR and --json."""
    add_model_dir(p)
    p.add_argument("--json", action="store_true", help="print the description as JSON")


def describe_model(est: AutoEncoder, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """What `aekit info` shows: family, architecture, parameters, training, provenance."""
    from ...io import CONFIG_FILE

    folder = Path(folder)
    saved = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    fitted = est.fitted_
    names = fitted.feature_names
    train_config = folder / TRAIN_CONFIG_FILE
    last = est.history_[-1] if est.history_ else {}
    return {
        "model": str(folder),
        "saved_by": saved.get("aekit_version"),
        "aekit_version": __version__,
        "family": fitted.family_name,
        "family_summary": fitted.family.summary,
        "architecture": fitted.architecture(),
        "layers": fitted.layers(),
        "n_parameters": fitted.n_parameters(),
        "n_features": int(est.n_features_in_),
        "feature_names": names,
        "scaling": "min-max to [0, 1]" if fitted.scaling is not None else None,
        # what training ran in ("auto" resolved), and how it was chosen
        "precision": fitted.precision,
        "precision_choice": est.record_.precision,
        "training": {
            "epochs": est.n_epochs_,
            "best_epoch": est.best_epoch_,
            "best_loss": None if est.history_ == [] else est.best_loss_,
            "loss": est.loss,
            "stopped_early": est.stopped_early_,
            "seconds": est.fit_seconds_,
            "dead_units": last.get("dead_fraction", {}),
        },
        "params": {k: v for k, v in est.get_params().items() if k in ESTIMATOR_OPTIONS},
        "train_config": read_train_config(train_config),
    }


def precision_text(d: dict[str, Any]) -> str:
    """The precision line: what training ran in, and why where "auto" chose it."""
    choice = d.get("precision_choice") or {}
    if d["params"].get("precision") == "auto" and choice.get("reason"):
        return f"{d['precision']} ({choice['reason']})"
    return str(d["precision"])


MAX_TRAIN_CONFIG_BYTES = 2**20


def read_train_config(path: Path) -> dict[str, Any] | None:
    """The record `aekit train` left, or None (with a warning when it is damaged)."""
    import warnings

    if not path.is_file():
        return None
    problem = None
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TRAIN_CONFIG_BYTES + 1)
        if len(data) > MAX_TRAIN_CONFIG_BYTES:
            problem = f"is larger than {MAX_TRAIN_CONFIG_BYTES} bytes"
        else:
            doc = json.loads(data.decode("utf-8"))
            if isinstance(doc, dict):
                return doc
            problem = "does not hold a mapping of options"
    except OSError as e:
        problem = f"cannot be read ({e.strerror})"
    except RecursionError:
        problem = "is nested too deeply"
    except (UnicodeDecodeError, ValueError) as e:
        problem = f"is not valid JSON ({str(e)[:200]})"
    warnings.warn(
        f"{path} {problem}: the record of how the model was trained is damaged and "
        "left out; the model itself is intact",
        stacklevel=2,
    )
    return None


def run(args: argparse.Namespace) -> int:
    """Print the description of the model, as text or JSON."""
    est = load_model(args.model)
    d = describe_model(est, args.model)
    if args.json:
        print(json.dumps(d, indent=2))
        return EXIT_OK
    t = d["training"]
    names = d["feature_names"]
    shown = "" if names is None else f" ({names[0]} ... {names[-1]})"
    print(
        f"model {d['model']} (saved by aekit {d['saved_by']}; "
        f"this is aekit {__version__})"
    )
    print(f"model family: {d['family']} ({d['family_summary']})")
    print(f"architecture: {d['architecture']}")
    for layer in d["layers"]:
        after = f"{layer['activation_layer']} " if layer["activation_layer"] else ""
        print(
            f"  {layer['layer']:<13} {layer.get('kind', 'Linear')}"
            f"({layer['in']} -> {layer['out']}) -> "
            f"{after}{layer['activation']}"
        )
    print(f"parameters: {d['n_parameters']:,}")
    print(f"features: {d['n_features']}{shown}; scaling: {d['scaling'] or 'none'}")
    if t["epochs"]:
        seconds = "?" if t["seconds"] is None else f"{t['seconds']:.1f}"
        best = "?" if t["best_loss"] is None else f"{t['best_loss']:.5g}"
        at = "the start" if t["best_epoch"] == 0 else f"epoch {t['best_epoch']}"
        print(
            f"training: {t['epochs']} epochs in {seconds} s, best {t['loss']} "
            f"loss {best} at {at}" + (", stopped early" if t["stopped_early"] else "")
        )
        print(f"dead units (last epoch): {dead_text(t['dead_units'])}")
    print(f"precision: {precision_text(d)}")
    params = ", ".join(
        f"{k}={v!r}"
        for k, v in d["params"].items()
        if k not in ("verbose", "random_state")
    )
    print(textwrap.fill(f"options: {params}", width=88, subsequent_indent="  "))
    if d["train_config"] is not None:
        print(
            f"trained on: {d['train_config'].get('data')} "
            f"(random_state={d['train_config'].get('random_state')!r})"
        )
    return EXIT_OK
