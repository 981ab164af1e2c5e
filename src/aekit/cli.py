"""The aekit command line: train, encode, reconstruct, evaluate, info.

A thin layer over the library: it parses arguments, calls aekit, prints, and
turns the errors a user can fix into one line on stderr. Exit status: 0 ok,
2 usage, data or model errors, 3 when training diverges, 130 when interrupted.
torch and the estimator are imported inside the commands, so ``aekit --help``
stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import json
import os
import re
import sys
import textwrap
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from . import __version__

if TYPE_CHECKING:
    from .data import Features
    from .estimator import AutoEncoder
    from .model import AutoEncoderNet

EXIT_OK = 0
EXIT_ERROR = 2  # usage, data and model errors
EXIT_DIVERGED = 3  # aekit.DivergenceError
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # the reader of stdout left: 128 + SIGPIPE, as shell tools do

TRAIN_CONFIG_FILE = "train_config.json"
HISTORY_FILE = "history.csv"


class CommandError(Exception):
    """A problem the user can fix; printed as ``aekit: error: ...``, exit status 2."""


class _Parser(argparse.ArgumentParser):
    commands: dict[str, argparse.ArgumentParser]  # subcommand parsers, by name

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see '{self.prog} --help')")


# -- options ---------------------------------------------------------------------

_NONE = "none"  # typed on the command line to set an option to None explicitly


class _ExplicitNone:
    """An option given as 'none'/'auto': it overrides the config with None."""


EXPLICIT_NONE: Any = _ExplicitNone()


def _widths(text: str) -> Any:
    if text.strip().lower() in (_NONE, "auto"):
        return EXPLICIT_NONE
    try:
        return [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated widths such as 512,128 (or 'auto'), got {text!r}"
        ) from None


def _int_or_none(text: str) -> Any:
    if text.strip().lower() == _NONE:
        return EXPLICIT_NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'none', got {text!r}"
        ) from None


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


# The AutoEncoder parameters that `train` exposes: name -> (kind, help). The
# defaults quoted in the help are the estimator's (a test keeps them in sync).
ESTIMATOR_OPTIONS: dict[str, tuple[str, str]] = {
    "latent_dim": (
        "int",
        "size of the code, below the number of features (default: 1000)",
    ),
    "hidden_dims": (
        "widths",
        "encoder hidden widths, e.g. 512,128 (the decoder mirrors them); 'auto' halves "
        "from the input size down to the code (default: auto)",
    ),
    "activation": (
        "str",
        "hidden activation: elu, gelu, leaky_relu, relu, tanh (default: relu)",
    ),
    "loss": ("str", "reconstruction loss: bce, mse (default: mse)"),
    "max_epochs": ("int", "upper bound on passes over the data (default: 100)"),
    "batch_size": ("int", "rows per optimizer step (default: 256)"),
    "lr": ("float", "Adam learning rate (default: 0.001)"),
    "weight_decay": ("float", "Adam L2 penalty (default: 0.0)"),
    "validation_fraction": (
        "float",
        "share of rows held out for early stopping, in [0, 1) (default: 0.1)",
    ),
    "patience": (
        "int_or_none",
        "stop after this many epochs without a better validation loss; 'none' trains "
        "all epochs (default: 10)",
    ),
    "random_state": (
        "int_or_none",
        "seed of weights, split and batch order (default: none, random)",
    ),
    "scale": ("bool", "min-max scale each column to [0, 1] (default: --scale)"),
    "dead_units": (
        "str",
        "when a ReLU layer dies: ignore, switch, warn (default: warn)",
    ),
    "dead_unit_threshold": (
        "float",
        "dead share of a layer that triggers --dead-units (default: 0.5)",
    ),
    "device": ("str", "auto, cpu, cuda or cuda:N (default: auto)"),
    "precision": ("str", "bf16, fp32 (default: fp32)"),
    "verbose": ("verbosity", ""),
}
# Data options that a config file may hold too.
DATA_OPTIONS: dict[str, str] = {
    "key": "str",
    "label_column": "str",
    "exclude_columns": "names",
}
# Recorded in train_config.json for the record and ignored when it is read back.
_INFO_KEYS = ("aekit_version", "data", "seed")


def _add_estimator_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and training (flags override --config)")
    parse: dict[str, Callable[[str], Any]] = {
        "int": int,
        "float": float,
        "str": str,
        "widths": _widths,
        "int_or_none": _int_or_none,
    }
    for name, (kind, help_text) in ESTIMATOR_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if kind == "bool":
            g.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif kind == "verbosity":
            v = g.add_mutually_exclusive_group()
            v.add_argument(
                "--verbose",
                dest="verbose",
                action="store_const",
                const=2,
                help="a line per epoch instead of the progress bar",
            )
            v.add_argument(
                "--quiet",
                dest="verbose",
                action="store_const",
                const=0,
                help="no progress bar and no summary",
            )
        else:
            metavar = {
                "int": "N",
                "float": "X",
                "str": "NAME",
                "widths": "W,W",
                "int_or_none": "N",
            }[kind]
            g.add_argument(flag, type=parse[kind], metavar=metavar, help=help_text)


def _add_data_options(p: argparse.ArgumentParser, *, carry: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--key", help="the array to read from an .npz holding several")
    g.add_argument(
        "--label-column",
        metavar="NAME",
        help="a label column, left out of the features",
    )
    g.add_argument(
        "--exclude-columns",
        type=_names,
        metavar="A,B",
        help="columns to leave out of the features",
    )
    if carry:
        g.add_argument(
            "--carry-columns",
            type=_names,
            metavar="A,B",
            default=[],
            help="columns to copy to the output, e.g. id,label",
        )


# -- the parser ------------------------------------------------------------------

_EXAMPLES = {
    "train": """\
example:
  aekit train digits.csv -o model --label-column label --latent-dim 16 \\
      --max-epochs 30 --random-state 0
  aekit train features.npy -o model --config train.yaml --lr 3e-4

A config file (.json, .yaml) maps option names (latent_dim: 16) to values; flags
given on the command line win. The resolved configuration is written to
MODEL_DIR/train_config.json, which can be passed back as --config.""",
    "encode": """\
example:
  aekit encode model digits.csv -o codes.csv --carry-columns label

Columns are matched to the model's features by name where both have names;
columns the model does not use are ignored.""",
    "reconstruct": """\
example:
  aekit reconstruct model digits.csv -o reconstructed.parquet""",
    "evaluate": """\
example:
  aekit evaluate model digits.csv
  aekit evaluate model digits.csv --json > metrics.json""",
    "info": """\
example:
  aekit info model""",
}


def build_parser() -> _Parser:
    """The argument parser of the `aekit` command."""
    parser = _Parser(
        prog="aekit",
        description="Compact representations of feature vectors with autoencoders.",
        epilog="example:\n  aekit train data.csv -o model --latent-dim 16\n"
        "  aekit encode model data.csv -o codes.csv\n\n"
        "Run 'aekit COMMAND --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    parser.commands = {}
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )

    def command(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int]
    ) -> Any:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=_EXAMPLES[name],
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        parser.commands[name] = p
        return p

    p = command("train", "train a model on a table and save it to a folder", _cmd_train)
    p.add_argument(
        "data", metavar="DATA", help="table: .npy, .npz, .csv, .tsv, .parquet"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="MODEL_DIR",
        required=True,
        help="folder to save the model in (created, or an aekit model replaced)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="options from a .json or .yaml file"
    )
    _add_data_options(p)
    _add_estimator_options(p)

    p = command("encode", "write the latent code of every row", _cmd_encode)
    _add_use_arguments(p, output=True)
    _add_data_options(p, carry=True)

    p = command(
        "reconstruct",
        "write the reconstruction of every row, in original units",
        _cmd_reconstruct,
    )
    _add_use_arguments(p, output=True)
    _add_data_options(p)

    p = command(
        "evaluate",
        "report the reconstruction error and dead units on a table",
        _cmd_evaluate,
    )
    _add_use_arguments(p, output=False)
    _add_data_options(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--worst",
        type=int,
        default=10,
        metavar="N",
        help="how many of the worst reconstructed features to list (default: 10)",
    )

    p = command("info", "describe a saved model", _cmd_info)
    p.add_argument(
        "model", metavar="MODEL_DIR", help="a folder written by 'aekit train'"
    )
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    return parser


def _add_use_arguments(p: argparse.ArgumentParser, *, output: bool) -> None:
    p.add_argument(
        "model", metavar="MODEL_DIR", help="a folder written by 'aekit train'"
    )
    p.add_argument(
        "data", metavar="DATA", help="table: .npy, .npz, .csv, .tsv, .parquet"
    )
    if output:
        p.add_argument(
            "-o",
            "--output",
            metavar="OUT",
            required=True,
            help="output table: .npy, .csv, .tsv, .parquet",
        )


# -- entry point -----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the aekit command line on `argv` (default: sys.argv[1:]); return the status.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    aekit 0.1.0
    0
    """
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            _unknown_arguments(parser, args.command, extra)
    except CommandError as e:
        return _error(str(e))
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else EXIT_OK
    return _run(args)


def _unknown_arguments(parser: _Parser, command: str, extra: list[str]) -> NoReturn:
    """Name the unknown arguments, suggesting the command's closest option."""
    sub = parser.commands[command]
    flags = re.findall(r"--[a-z][a-z0-9-]*", sub.format_usage())
    hint = ""
    first = next((a.split("=")[0] for a in extra if a.startswith("--")), None)
    close = difflib.get_close_matches(first, flags, n=1) if first else []
    if close:
        hint = f"; did you mean {close[0]}?"
    raise CommandError(
        f"unrecognized arguments: {' '.join(extra)}{hint} (see '{sub.prog} --help')"
    )


def _run(args: argparse.Namespace) -> int:
    from .errors import AekitError, DivergenceError

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            # encode & co. pass plain arrays after matching columns by name themselves
            warnings.filterwarnings(
                "ignore", message="X does not have valid feature names"
            )
            status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:  # e.g. `aekit evaluate --json | head`: the reader left
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print("aekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DivergenceError as e:
        return _error(str(e), args.debug, EXIT_DIVERGED)
    except (CommandError, AekitError, ValueError) as e:
        return _error(str(e), args.debug)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        return _error(f"{where}{e.strerror or e}", args.debug)


def _error(message: str, debug: bool = False, status: int = EXIT_ERROR) -> int:
    if debug:
        traceback.print_exc()
    print(f"aekit: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    print(f"aekit: warning: {message}", file=sys.stderr)


# -- train -----------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from . import data

    options = resolve_train_options(args)
    out = _check_model_dir(Path(args.output))
    table = data.read_table(args.data, key=options.get("key"))
    features = data.select_features(
        table,
        label_column=options.get("label_column"),
        exclude_columns=options.get("exclude_columns") or (),
    )
    est = _make_estimator(options)
    seconds = _fit(est, features, callbacks=_train_callbacks(args))
    _save_model(est, out, options, args)
    if est.verbose:
        print(_train_summary(est, out, seconds))
    return EXIT_OK


def resolve_train_options(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's options, overridden by every flag given on the command line."""
    options = read_config(args.config) if args.config else {}
    for name in [*ESTIMATOR_OPTIONS, *DATA_OPTIONS]:
        value = getattr(args, name)
        if value is not None:  # unset flags never override
            options[name] = None if value is EXPLICIT_NONE else value
    return options


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Options from a .json or .yaml file, checked: known names, right types."""
    p = Path(path)
    if not p.is_file():
        raise CommandError(
            f"config file {p} " + ("is a folder" if p.is_dir() else "does not exist")
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{p} is not UTF-8 text") from None
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise CommandError(f"{p} is not valid JSON: {e}") from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise CommandError(
                f"reading {p} needs PyYAML: pip install aekit[yaml] "
                "(or use a .json config)"
            ) from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise CommandError(f"{p} is not valid YAML: {e}") from None
    else:
        raise CommandError(f"config file {p} must end in .json, .yaml or .yml")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CommandError(f"{p} must hold a mapping of option names to values")
    kinds = {**{k: v[0] for k, v in ESTIMATOR_OPTIONS.items()}, **DATA_OPTIONS}
    options: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name in _INFO_KEYS:
            continue
        if name not in kinds:
            close = difflib.get_close_matches(name, list(kinds), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; choose from {sorted(kinds)}"
            )
            raise CommandError(f"{p}: unknown option {key!r}{hint}")
        options[name] = _check_value(p, name, kinds[name], value)
    return options


def _check_value(p: Path, name: str, kind: str, v: Any) -> Any:
    is_int = isinstance(v, int) and not isinstance(v, bool)
    ok = {
        "int": is_int,
        "float": is_int or isinstance(v, float),
        "str": isinstance(v, str) or (v is None and name in DATA_OPTIONS),
        "bool": isinstance(v, bool),
        "int_or_none": v is None or is_int,
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
            "verbosity": "0, 1 or 2",
            "widths": "a list of integers or null",
            "names": "a list of column names",
        }[kind]
        raise CommandError(f"{p}: {name} must be {expected}, got {v!r}")
    if kind == "names" and isinstance(v, str):
        return _names(v)
    return v


def _check_model_dir(out: Path) -> Path:
    """Refuse to train into a file, or into a folder that holds something else."""
    from .io import CONFIG_FILE

    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; -o needs a folder to save the model in")
    if out.is_dir() and any(out.iterdir()) and not (out / CONFIG_FILE).is_file():
        raise CommandError(
            f"{out} is not empty and holds no aekit model; choose a new or empty "
            "folder so that nothing in it is overwritten"
        )
    return out


def _make_estimator(options: dict[str, Any]) -> AutoEncoder:
    from .estimator import AutoEncoder

    params = {k: v for k, v in options.items() if k in ESTIMATOR_OPTIONS}
    params.setdefault("verbose", 1)
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    return AutoEncoder(**params)


def _train_callbacks(args: argparse.Namespace) -> list[Any]:
    """Callbacks for `fit`: the place for signal handling and progress hooks."""
    return []


def _fit(
    est: AutoEncoder, features: Features, callbacks: list[Any], **fit_kwargs: Any
) -> float:
    """Fit `est` on the features (recording their names); return the seconds taken.

    `fit_kwargs` go to `AutoEncoder.fit` as they are (e.g. checkpoint options).
    """
    import numpy as np

    t0 = time.perf_counter()
    est.fit(features.X, callbacks=callbacks, **fit_kwargs)
    if features.names is not None:
        # fitted on a plain array: record the columns' names as pandas input would
        est.feature_names_in_ = np.asarray(features.names, dtype=object)
    return time.perf_counter() - t0


def _save_model(
    est: AutoEncoder, out: Path, options: dict[str, Any], args: argparse.Namespace
) -> None:
    """The model (atomic per file), then the resolved configuration and the history."""
    from .io import write_atomic

    est.save(out)
    resolved = {
        "aekit_version": __version__,
        "data": os.path.abspath(args.data),
        **{k: options.get(k) for k in DATA_OPTIONS},
        **{k: v for k, v in est.get_params().items() if k in ESTIMATOR_OPTIONS},
        "seed": est.seed_,  # drawn from random_state; for the record
    }
    if resolved["hidden_dims"] is not None:
        resolved["hidden_dims"] = list(resolved["hidden_dims"])
    write_atomic(
        out / TRAIN_CONFIG_FILE, (json.dumps(resolved, indent=2) + "\n").encode()
    )
    write_atomic(out / HISTORY_FILE, history_csv(est.history_).encode())


def history_csv(history: list[dict[str, Any]]) -> str:
    """Per-epoch history as CSV: losses, seconds, dead share per layer, switches."""
    layers = list(history[0]["dead_fraction"]) if history else []
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(
        [
            "epoch",
            "train_loss",
            "val_loss",
            "seconds",
            *(f"dead_{n}" for n in layers),
            "switched",
        ]
    )
    for h in history:
        dead = [h["dead_fraction"].get(n, 0.0) for n in layers]
        val = "" if h["val_loss"] is None else h["val_loss"]
        w.writerow(
            [
                h["epoch"],
                h["train_loss"],
                val,
                f"{h['seconds']:.4f}",
                *dead,
                ";".join(h["switched"]),
            ]
        )
    return text.getvalue()


def _train_summary(est: AutoEncoder, out: Path, seconds: float) -> str:
    last = est.history_[-1] if est.history_ else {}
    which = "validation" if last.get("val_loss") is not None else "training"
    stop = (
        f"stopped early: {est.patience} epochs without improvement"
        if est.stopped_early_
        else "reached max_epochs"
    )
    return "\n".join(
        [
            f"trained {est.n_epochs_} epochs in {seconds:.1f} s ({stop})",
            f"best {which} loss: {est.best_loss_:.5g} "
            f"({est.loss}, epoch {est.best_epoch_})",
            f"dead units: {_dead_text(last.get('dead_fraction', {}))}",
            f"model saved to {out}",
        ]
    )


def _dead_text(dead: dict[str, float]) -> str:
    parts = [f"{name} {frac:.0%}" for name, frac in dead.items() if frac > 0]
    return ", ".join(parts) if parts else "none"


# -- encode, reconstruct, evaluate -----------------------------------------------


def _load(model: str) -> AutoEncoder:
    from .serialize import load

    return load(model)


def _features(
    est: AutoEncoder, args: argparse.Namespace, carry: Sequence[str] = ()
) -> Features:
    """The table's features in the model's order, checked against the model."""
    from . import data

    names = getattr(est, "feature_names_in_", None)
    return data.select_features(
        data.read_table(args.data, key=args.key),
        label_column=args.label_column,
        exclude_columns=args.exclude_columns or (),
        carry_columns=carry,
        model_names=None if names is None else [str(n) for n in names],
        n_model_features=int(est.n_features_in_),
    )


def _cmd_encode(args: argparse.Namespace) -> int:
    from . import data

    data.check_output(args.output, carried=bool(args.carry_columns))
    est = _load(args.model)
    features = _features(est, args, carry=args.carry_columns)
    Z = est.transform(features.X)
    data.write_table(
        args.output, Z, list(est.get_feature_names_out()), features.carried
    )
    print(f"wrote {Z.shape[0]} codes of {Z.shape[1]} dimensions to {args.output}")
    return EXIT_OK


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from . import data

    data.check_output(args.output)
    est = _load(args.model)
    features = _features(est, args)
    R = est.reconstruct(features.X)
    names = features.names or [f"x{i}" for i in range(R.shape[1])]
    data.write_table(args.output, R, names)
    print(
        f"wrote {R.shape[0]} reconstructed rows of {R.shape[1]} features "
        f"to {args.output}"
    )
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_model

    if args.worst < 0:
        raise CommandError(f"--worst must be >= 0, got {args.worst}")
    est = _load(args.model)
    features = _features(est, args)
    result = evaluate_model(
        est, features.X, feature_names=features.names, n_worst=args.worst
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
    for warning in result.get("warnings") or ():
        print(f"warning: {warning}")
    return EXIT_OK


# -- info ------------------------------------------------------------------------


def describe_model(est: AutoEncoder, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """What `aekit info` shows: architecture, parameters, training, provenance."""
    from .io import CONFIG_FILE

    folder = Path(folder)
    saved = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    net = cast("AutoEncoderNet", est.module_)
    cfg = net.config
    widths = cfg.widths
    layers = []
    for prefix, ws in (("encoder", widths), ("decoder", widths[::-1])):
        for i, (a, b) in enumerate(zip(ws[:-1], ws[1:], strict=True)):
            act_name = f"{prefix}.{2 * i + 1}"
            if i == len(ws) - 2:  # the code / the output
                act = "linear (code)" if prefix == "encoder" else "sigmoid (output)"
            else:
                act = cfg.layer_activations.get(act_name, cfg.activation)
            layers.append(
                {
                    "layer": f"{prefix}.{2 * i}",
                    "in": a,
                    "out": b,
                    "activation_layer": act_name,
                    "activation": act,
                }
            )
    names = getattr(est, "feature_names_in_", None)
    train_config = folder / TRAIN_CONFIG_FILE
    last = est.history_[-1] if est.history_ else {}
    return {
        "model": str(folder),
        "saved_by": saved.get("aekit_version"),
        "aekit_version": __version__,
        "widths": [*widths, *widths[-2::-1]],
        "layers": layers,
        "n_parameters": int(net.n_parameters()),
        "n_features": int(est.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
        "scaling": "min-max to [0, 1]" if est.scaling_ is not None else None,
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
        "train_config": (
            json.loads(train_config.read_text(encoding="utf-8"))
            if train_config.is_file()
            else None
        ),
    }


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
    print(f"architecture: {' -> '.join(map(str, d['widths']))}")
    for layer in d["layers"]:
        print(
            f"  {layer['layer']:<9} Linear({layer['in']} -> {layer['out']}) -> "
            f"{layer['activation_layer']} {layer['activation']}"
        )
    print(f"parameters: {d['n_parameters']:,}")
    print(f"features: {d['n_features']}{shown}; scaling: {d['scaling'] or 'none'}")
    if t["epochs"]:
        print(
            f"training: {t['epochs']} epochs in {t['seconds']:.1f} s, best {t['loss']} "
            f"loss {t['best_loss']:.5g} at epoch {t['best_epoch']}"
            + (", stopped early" if t["stopped_early"] else "")
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
