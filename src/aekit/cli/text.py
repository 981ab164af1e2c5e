"""Pieces of text that several commands print."""

from __future__ import annotations


def dead_text(dead: dict[str, float]) -> str:
    """The dead share of each layer that has dead units, or "none"."""
    parts = [f"{name} {frac:.0%}" for name, frac in dead.items() if frac > 0]
    return ", ".join(parts) if parts else "none"
