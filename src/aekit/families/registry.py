"""Model families by name: a plain dict filled by `register_family`.

`aekit.families` imports every built-in family module, and each registers
itself as it loads, so once `aekit.families` (or any module in it) is
imported the registry is complete; a family of another module (a plugin, a
test) joins it when that module is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .base import Family

FAMILIES: dict[str, Family] = {}
DEFAULT_FAMILY = "pca_anchored"

FamilyT = TypeVar("FamilyT", bound="Family")


def register_family(family: FamilyT) -> FamilyT:
    """Register a `Family` instance under its ``name``; return it.

    A family registered from any module (a plugin, a test) trains, saves,
    loads and resumes like the built-in ones once that module is imported.
    """
    name = getattr(family, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError("a family needs a non-empty string name")
    FAMILIES[name] = family
    return family


def get_family(name: Any) -> Family:
    """The registered family called `name`; ValueError naming the choices."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(FAMILIES)}")
    return FAMILIES[name]


def family_names() -> list[str]:
    """The registered families' names, sorted."""
    return sorted(FAMILIES)
