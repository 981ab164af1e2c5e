"""The commands that use a saved model: encode, reconstruct, evaluate, sample, info."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from .options import ESTIMATOR_OPTIONS, EXIT_OK, TRAIN_CONFIG_FILE, CommandError
from .train import _dead_text

if TYPE_CHECKING:
    import numpy as np

    from ..data import Features, Table
    from ..estimator import AutoEncoder


def _load(model: str) -> AutoEncoder:
    from ..estimator import load

    return load(model)


def _features(
    est: AutoEncoder, args: argparse.Namespace, carry: Sequence[str] = ()
) -> Features:
    """The table's features in the model's order, checked against the model."""
    from .. import data

    return _select(est, args, data.read_table(args.data, key=args.key), carry)


def _select(
    est: AutoEncoder, args: argparse.Namespace, table: Table, carry: Sequence[str]
) -> Features:
    """`table`'s features (a whole table or a block) as the model takes them."""
    from .. import data

    names = getattr(est, "feature_names_in_", None)
    return data.select_features(
        table,
        label_column=args.label_column,
        exclude_columns=args.exclude_columns or (),
        carry_columns=carry,
        model_names=None if names is None else [str(n) for n in names],
        n_model_features=int(est.n_features_in_),
    )


def _cmd_encode(args: argparse.Namespace) -> int:
    from .parts import in_parts, write_parts
    from .stream import write_streamed

    if in_parts():  # under torchrun: one Parquet part per rank
        return write_parts(args, "codes", _code_columns, carry=True)
    done = write_streamed(args, _code_columns, carry=True)
    width = len(done.columns) - len(args.carry_columns or ())
    print(f"wrote {done.rows} codes of {width} dimensions to {args.output}")
    return EXIT_OK


def _code_columns(
    est: AutoEncoder, features: Features, first_row: int
) -> dict[str, np.ndarray]:
    from ..data.write import join_columns

    Z = est.transform(features.X)
    names = list(est.get_feature_names_out())
    return join_columns(features.carried, {n: Z[:, i] for i, n in enumerate(names)})


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from .stream import write_streamed

    done = write_streamed(args, _reconstruction_columns, carry=False)
    print(
        f"wrote {done.rows} reconstructed rows of {len(done.columns)} features "
        f"to {args.output}"
    )
    return EXIT_OK


def _reconstruction_columns(
    est: AutoEncoder, features: Features, first_row: int
) -> dict[str, np.ndarray]:
    R = est.reconstruct(features.X)
    names = features.names or [f"x{i}" for i in range(R.shape[1])]
    return {n: R[:, i] for i, n in enumerate(names)}


def _cmd_sample(args: argparse.Namespace) -> int:
    from .. import data

    if args.n < 0:
        raise CommandError(f"-n must be >= 0, got {args.n}")
    data.check_output(args.output, inputs=(args.model,))
    est = _load(args.model)
    R = est.sample(args.n, random_state=args.random_state)
    names = getattr(est, "feature_names_in_", None)
    columns = [str(c) for c in names] if names is not None else None
    data.write_table(args.output, R, columns or [f"x{i}" for i in range(R.shape[1])])
    print(f"wrote {R.shape[0]} sampled rows of {R.shape[1]} features to {args.output}")
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.worst < 0:
        raise CommandError(f"--worst must be >= 0, got {args.worst}")
    est = _load(args.model)
    features = _features(est, args)
    result = est.evaluate(
        features.X,
        None if args.no_probes else _labels(features.label),
        feature_names=features.names,
        n_worst=args.worst,
    )
    if args.json:
        print(json.dumps({"model": args.model, "data": args.data, **result}, indent=2))
        return EXIT_OK
    print(f"{args.data}: {result['n_rows']} rows, {result['n_features']} features")
    print(f"reconstruction MSE (data scaled to [0, 1]): {result['mse']:.5g}")
    pca = result.get("pca")
    if pca:
        print(f"PCA with as many components, same rows: {pca['mse']:.5g}")
    if est.loss != "mse":
        print(f"{est.loss} loss: {result['loss']:.5g}")
    if result["worst_features"]:
        print(f"worst {len(result['worst_features'])} features by MSE:")
        width = max(len(w["feature"]) for w in result["worst_features"])
        for w in result["worst_features"]:
            print(f"  {w['feature']:<{width}}  {w['mse']:.5g}")
    print(f"dead units on these rows: {_dead_text(result['dead_units'])}")
    if result["probes"] is not None:
        print("\n".join(_probe_lines(result["probes"], args.label_column)))
    for warning in result.get("warnings") or ():
        print(f"warning: {warning}")
    return EXIT_OK


_REPRESENTATIONS = {"autoencoder": "autoencoder", "pca": "PCA", "raw": "raw features"}


def _probe_lines(probes: dict[str, Any], label: str) -> list[str]:
    """The probe accuracies as a small table, one representation a line."""
    if probes.get("skipped"):
        return [f"probes on {label!r} skipped: {probes['skipped']}"]
    results = probes["results"]
    cv = next(iter(results.values()))["cv"]
    lines = [
        f"probe accuracy on {label!r} ({probes['classes']} classes, {cv} "
        f"cross-validation on {probes['rows']} rows):",
        f"  {'representation':<14}  {'dims':>4}  logistic  5-NN",
    ]
    notes = []
    for name, r in results.items():
        shown = _REPRESENTATIONS[name]
        lines.append(
            f"  {shown:<14}  {r['dims']:>4}  {r['logistic']:>8.3f}  {r['knn']:>5.3f}"
        )
        if r.get("logistic_note"):
            notes.append(f"  logistic on {shown}: {r['logistic_note']}")
    if probes.get("note"):
        notes.append(f"  {probes['note']}")
    return lines + notes


def _labels(column: np.ndarray | None) -> np.ndarray | None:
    """A label column read as text, as numbers where it is numeric (10 after 9)."""
    import numpy as np

    if column is None or column.dtype.kind not in "OSU":
        return column
    try:
        values = column.astype(np.float64)
    except (TypeError, ValueError):
        return column
    if not np.isfinite(values).all():
        return column
    return values.astype(np.int64) if (values == np.round(values)).all() else values


# -- info ----------------------------------------------------------------------


def describe_model(est: AutoEncoder, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """What `aekit info` shows: family, architecture, parameters, training, provenance."""
    from ..io import CONFIG_FILE

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
        "train_config": _train_config(train_config),
    }


MAX_TRAIN_CONFIG_BYTES = 2**20


def _train_config(path: Path) -> dict[str, Any] | None:
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


def _cmd_info(args: argparse.Namespace) -> int:
    est = _load(args.model)
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
        print(f"dead units (last epoch): {_dead_text(t['dead_units'])}")
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
