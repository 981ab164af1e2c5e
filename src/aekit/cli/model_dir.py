"""The model folder that `aekit train` and `aekit tune` write.

Which folder they accept (`check_model_dir`), and the per-epoch history saved
next to the model (`history_csv`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from .options import CommandError


def check_model_dir(out: Path, checkpoint_dir: Path | None = None) -> Path:
    """Refuse to train into a file, or into a folder that holds something else.

    A checkpoint folder inside `out` (``-o run --checkpoint-dir run/ckpt``) is
    no reason to refuse.
    """
    from ..io import CONFIG_FILE, model_target

    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; -o needs a folder to save the model in")
    try:
        out = model_target(out)  # follows a symlink; refuses a dangling one, a loop
    except FileExistsError as e:
        raise CommandError(f"-o {e}") from None
    ignored = checkpoint_dir.resolve() if checkpoint_dir is not None else None
    held = [p for p in out.iterdir() if p.resolve() != ignored] if out.is_dir() else []
    if held and not (out / CONFIG_FILE).is_file():
        raise CommandError(
            f"{out} is not empty and holds no aekit model; choose a new or empty "
            "folder so that nothing in it is overwritten"
        )
    return out


def history_csv(history: list[dict[str, Any]]) -> str:
    """Per-epoch history as CSV: losses, seconds, dead share per layer, switches."""
    layers = list(history[0]["dead_fraction"]) if history else []
    parts = list(history[0].get("train_parts") or {}) if history else []
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(
        [
            "epoch",
            "train_loss",
            "val_loss",
            "seconds",
            *(f"dead_{n}" for n in layers),
            *(f"train_{p}" for p in parts),
            *(f"val_{p}" for p in parts),
            "switched",
        ]
    )
    for h in history:
        dead = [h["dead_fraction"].get(n, 0.0) for n in layers]
        val = "" if h["val_loss"] is None else h["val_loss"]
        tp, vp = h.get("train_parts") or {}, h.get("val_parts") or {}
        w.writerow(
            [
                h["epoch"],
                h["train_loss"],
                val,
                f"{h['seconds']:.4f}",
                *dead,
                *(tp.get(p, "") for p in parts),
                *(vp.get(p, "") for p in parts),
                ";".join(h["switched"]),
            ]
        )
    return text.getvalue()
