"""`aekit evaluate`: reconstruction error against PCA, probes and diagnostics."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..arguments import add_data_options, add_use_arguments
from ..inputs import FeatureChoice, labels, load_model, model_features
from ..options import EXIT_OK, CommandError
from ..text import dead_text

NAME = "evaluate"
HELP = "reconstruction error against PCA, probes and diagnostics on a table"
EXAMPLE = """\
example:
  aekit evaluate model digits.csv
  aekit evaluate model digits.csv --label-column label
  aekit evaluate model digits.csv --json > metrics.json

Errors are measured in the model's [0, 1] scaled space, next to the PCA of the
same size stored with the model. With --label-column, probes (logistic
regression and 5-nearest-neighbours, cross-validated) compare how well the
labels can be read from the latent codes, the PCA codes and the raw features;
--no-probes skips them."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR DATA, the data options, --json, --worst and --no-probes."""
    add_use_arguments(p, output=False)
    add_data_options(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--worst",
        type=int,
        default=10,
        metavar="N",
        help="how many of the worst reconstructed features to list (default: 10)",
    )
    p.add_argument(
        "--no-probes",
        action="store_true",
        help="skip the probes on --label-column (the slow part)",
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate the model on DATA; print the results, as text or JSON."""
    if args.worst < 0:
        raise CommandError(f"--worst must be >= 0, got {args.worst}")
    est = load_model(args.model)
    features = model_features(est, args.data, FeatureChoice.from_args(args), args.key)
    result = est.evaluate(
        features.X,
        None if args.no_probes else labels(features.label),
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
    print(f"dead units on these rows: {dead_text(result['dead_units'])}")
    if result["probes"] is not None:
        print("\n".join(probe_lines(result["probes"], args.label_column)))
    for warning in result.get("warnings") or ():
        print(f"warning: {warning}")
    return EXIT_OK


_REPRESENTATIONS = {"autoencoder": "autoencoder", "pca": "PCA", "raw": "raw features"}


def probe_lines(probes: dict[str, Any], label: str) -> list[str]:
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
