"""Resolving the options of `aekit train`: --config files, flags, checkpoints.

Flags given on the command line override the config file; flags not given never
do. Resuming, the checkpoint's parameters come first and the options given
override them where a resumed run allows it.
"""

from __future__ import annotations

import argparse
import difflib
import os
from pathlib import Path
from typing import Any

from .options import (
    DATA_OPTIONS,
    ESTIMATOR_OPTIONS,
    EXPLICIT_NONE,
    INFO_KEYS,
    CommandError,
    parse_names,
)


def resolve_train_options(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's options, overridden by every flag given on the command line."""
    options = read_config(args.config) if args.config else {}
    for name in [*ESTIMATOR_OPTIONS, *DATA_OPTIONS]:
        value = getattr(args, name)
        if value is not None:  # unset flags never override
            options[name] = None if value is EXPLICIT_NONE else value
    return options


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Options from a .json or .yaml file, checked: known names, right types.

    The file is read by `aekit.document.read_document`, which bounds its size,
    nesting, YAML alias expansion and numbers before anything is built from it.
    """
    from ..document import read_document  # imports scikit-learn, as errors do

    p = Path(path)
    raw = read_document(p, "config", "a config holds a few options")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CommandError(f"{p} must hold a mapping of option names to values")
    kinds = {**{k: v[0] for k, v in ESTIMATOR_OPTIONS.items()}, **DATA_OPTIONS}
    options: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name in INFO_KEYS:
            continue
        if name not in kinds:
            close = difflib.get_close_matches(name, list(kinds), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; choose from {sorted(kinds)}"
            )
            raise CommandError(f"{p}: unknown option {_short(key)}{hint}")
        options[name] = _check_value(p, name, kinds[name], value)
    return options


def _short(value: Any, k: int = 60) -> str:
    """repr(value), cut to `k` characters; a long list or mapping by its length."""
    if isinstance(value, (list, dict)) and len(value) > k:
        return f"a {type(value).__name__} of {len(value):,} items"
    from ..document import cut

    return cut(repr(value), k)


def _check_value(p: Path, name: str, kind: str, v: Any) -> Any:
    is_int = isinstance(v, int) and not isinstance(v, bool)
    ok = {
        "int": is_int,
        "float": is_int or isinstance(v, float),
        "str": isinstance(v, str) or (v is None and name in DATA_OPTIONS),
        "bool": isinstance(v, bool),
        "int_or_none": v is None or is_int,
        "int_or_auto": v is None or v == "auto" or is_int,
        "options": v is None
        or isinstance(v, dict)
        and all(isinstance(k, str) for k in v),
        "verbosity": v in (0, 1, 2) and not isinstance(v, bool),
        "widths": v is None
        or isinstance(v, list)
        and all(isinstance(w, int) and not isinstance(w, bool) for w in v),
        "names": v is None
        or isinstance(v, str)
        or isinstance(v, list)
        and all(isinstance(n, str) for n in v),
    }[kind]
    if not ok:
        expected = {
            "int": "an integer",
            "float": "a number",
            "str": "a string",
            "bool": "true or false",
            "int_or_none": "an integer or null",
            "int_or_auto": "an integer, 'auto' or null",
            "options": "a mapping of option names to values",
            "verbosity": "0, 1 or 2",
            "widths": "a list of integers or null",
            "names": "a list of column names",
        }[kind]
        raise CommandError(f"{p}: {name} must be {expected}, got {_short(v)}")
    if kind == "names" and isinstance(v, str):
        return parse_names(v)
    return v


# -- checkpoints ---------------------------------------------------------------


def checkpoint_options(args: argparse.Namespace) -> dict[str, Any]:
    """`fit`'s checkpoint arguments from the flags, and `params` when resuming.

    --resume DIR also saves new checkpoints in DIR (the folder holding DIR when
    DIR is one ``ckpt-*`` checkpoint), unless --checkpoint-dir says otherwise.
    A new run refuses a --checkpoint-dir that already holds checkpoints, so
    that two runs never mix in one folder.
    """
    given = [
        flag
        for flag, value in (
            ("--checkpoint-every", args.checkpoint_every),
            ("--keep-last", args.keep_last),
        )
        if value is not None
    ]
    if given and args.checkpoint_dir is None and args.resume is None:
        raise CommandError(
            f"{given[0]} only applies with --checkpoint-dir DIR or --resume DIR"
        )
    every, keep_last = args.checkpoint_every, args.keep_last
    options: dict[str, Any] = {
        "checkpoint_every": 1 if every is None else every,
        "keep_last": 3 if keep_last is None else keep_last,
    }
    if keep_last is EXPLICIT_NONE:  # --keep-last all
        options["keep_last"] = None
    directory = _checkpoint_dir(args)
    if directory is not None:
        options["checkpoint_dir"] = directory
    if args.resume is not None:
        from ..checkpoint import load_checkpoint

        resumed = load_checkpoint(args.resume)  # the newest good one of a folder
        options["resume_from"] = resumed.path
        options["params"] = resumed.params
    elif directory is not None:
        from ..checkpoint import latest_checkpoint

        if directory.is_dir() and (last := latest_checkpoint(directory)) is not None:
            raise CommandError(
                f"{directory} already holds checkpoints (newest: {last.name}); "
                f"continue that run with --resume {directory}, or choose a new "
                "folder for --checkpoint-dir"
            )
    return options


def check_resume_options(
    options: dict[str, Any], saved: dict[str, Any], path: Path
) -> None:
    """Refuse options that a resumed run may not change, naming the flag.

    `fit` refuses them too; this says it in the command line's terms.
    """
    from ..params import RESUME_MAY_CHANGE, same

    for name, value in options.items():
        if name not in ESTIMATOR_OPTIONS or name in RESUME_MAY_CHANGE:
            continue
        old = saved.get(name)
        if name in saved and not same(value, old):
            allowed = ", ".join(
                "--" + n.replace("_", "-") for n in RESUME_MAY_CHANGE if n != "verbose"
            )
            raise CommandError(
                f"cannot resume from {path}: it was trained with {name}={old!r}, "
                f"not {value!r}; leave out --{name.replace('_', '-')} (a resumed run "
                f"may change only {allowed}) or start a new run without --resume"
            )


def _checkpoint_dir(args: argparse.Namespace) -> Path | None:
    """Where checkpoints go: --checkpoint-dir, else the folder --resume names."""
    if args.checkpoint_dir is not None:
        return Path(args.checkpoint_dir)
    if args.resume is None:
        return None
    from ..checkpoint import STATE_FILE

    resume = Path(args.resume)
    return resume.parent if (resume / STATE_FILE).is_file() else resume
