"""A family option's declaration: what it accepts, in words, and its stored form.

A family's config declares each option on its dataclass field
(`option(default, spec)`), so that the config itself, the estimator's
parameter check (`Family.check_options`), a checkpoint and a model folder
all go through the same test (`check_option`).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameterError


@dataclass(frozen=True)
class Option:
    """What a family option accepts: its check, its range in words, its stored form.

    Declared on the config's field (`option`), so that the config itself, the
    estimator's parameter check (`Family.check_options`), a checkpoint and a
    model folder all go through the same test.
    """

    check: Callable[[Any], bool]  # True when the value is acceptable
    describe: Callable[[], str]  # what it accepts, in words (read when asked)
    convert: Callable[[Any], Any] = lambda v: v  # the stored form of a good value

    @property
    def accepts(self) -> str:
        return self.describe()


def option(default: Any, spec: Option) -> Any:
    """A config field that is a family option of range `spec`."""
    return dataclasses.field(default=default, metadata={"option": spec})


def number(low: float, high: float, *, open_low: bool = False) -> Option:
    """A real number in [low, high] ((low, high] with `open_low`), stored as a float.

    The comparison comes before any conversion, so an integer of 350 digits
    or a NaN is refused, never overflowed.
    """

    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return False
        x: Any = v  # a Real compares with a float (NaN: never in range)
        return bool((low < x if open_low else low <= x) and x <= high)

    text = f"a number in {'(' if open_low else '['}{low:g}, {high:g}]"
    return Option(check, lambda: text, float)


def choice(values: Callable[[], list[Any]]) -> Option:
    """One of `values()` (a function: a registry of choices may grow)."""

    def check(v: Any) -> bool:
        return any(v == c and type(v) is type(c) for c in values())

    return Option(check, lambda: "one of " + ", ".join(map(_word, values())))


def _word(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else repr(v)


BOOLEAN = choice(lambda: [True, False])


def option_specs(config_class: type[Any]) -> dict[str, Option]:
    """The declared options of a config class, by field name."""
    return {
        f.name: f.metadata["option"]
        for f in dataclasses.fields(config_class)
        if "option" in f.metadata
    }


def check_option(name: str, value: Any, spec: Option, where: str = "") -> Any:
    """`value` in its stored form, or InvalidParameterError naming `name` and its range.

    `where` follows the option's name in the message (" of model 'sparse'").
    """
    if not spec.check(value):
        text = repr(value)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise InvalidParameterError(
            f"option {name!r}{where} must be {spec.accepts}. Got {text} instead."
        )
    return spec.convert(value)


def check_declared(config: Any) -> None:
    """Check and normalise, in place, every declared option of a config dataclass."""
    for name, spec in option_specs(type(config)).items():
        setattr(config, name, check_option(name, getattr(config, name), spec))
