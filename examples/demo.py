"""The aekit command line on scikit-learn's digits, every command from train to report.

Usage: python examples/demo.py OUT_DIR   (or `make demo`, which writes demo-output/)

Writes OUT_DIR/digits.csv (64 pixel columns scaled to [0, 1] and a `label`
column), then runs each step through `aekit.cli.main`, exactly as the shell
command it prints would.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from sklearn.datasets import load_digits

from aekit.cli import main

# 100 epochs of 13 optimizer steps each (1617 training rows, batches of 128)
TRAIN_OPTIONS = (
    "--label-column label --latent-dim 16 --max-epochs 100 --batch-size 128 "
    "--lr 5e-3 --random-state 0"
)


def write_digits(path: Path) -> None:
    """1797 images of 8x8 pixels as rows: pixel_R_C in [0, 1], then the digit."""
    digits = load_digits()
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"pixel_{i // 8}_{i % 8}" for i in range(64)] + ["label"])
        for image, label in zip(digits.data / 16.0, digits.target, strict=True):
            writer.writerow([f"{v:g}" for v in image] + [int(label)])


def run(*argv: str) -> None:
    """Print the shell command, run it, stop the demo if it fails."""
    print(f"\n$ aekit {' '.join(argv)}", flush=True)
    status = main(list(argv))
    sys.stdout.flush()
    if status != 0:
        sys.exit(status)


def demo(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data, model, codes = out / "digits.csv", out / "model", out / "codes.csv"
    scores, report = out / "scores.csv", out / "report.html"
    write_digits(data)
    print(f"wrote {data}: 1797 rows, 64 pixel columns and a label column")
    run("train", str(data), "-o", str(model), *TRAIN_OPTIONS.split())
    run("encode", str(model), str(data), "-o", str(codes), "--carry-columns", "label")
    run("evaluate", str(model), str(data), "--worst", "5", "--label-column", "label")
    run("score", str(model), str(data), "-o", str(scores), "--carry-columns", "label")
    run("report", str(model), str(data), "-o", str(report), "--label-column", "label")
    run("info", str(model))
    print(
        f"\ndata:    {data}\nmodel:   {model}/ (config.json, model.safetensors, "
        f"train_config.json, history.csv)\ncodes:   {codes} (label + 16 latent columns)"
        f"\nscores:  {scores} (label, row, reconstruction_error, is_anomaly)"
        f"\nreport:  {report} (open it in a browser)"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(f"usage: {Path(sys.argv[0]).name} OUT_DIR")
    demo(Path(sys.argv[1]))
