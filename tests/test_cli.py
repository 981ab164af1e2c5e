"""The aekit command line, end to end through main(argv) and a few real processes."""

from __future__ import annotations

import csv
import inspect
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import aekit
from aekit.cli import ESTIMATOR_OPTIONS, main

# the tests call transform on plain arrays of models that know their feature names
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")

TINY = [
    "--model",
    "halving",  # the founding design: these tests name its layers
    "--latent-dim",
    "3",
    "--max-epochs",
    "2",
    "--batch-size",
    "16",
    "--random-state",
    "0",
    "--device",
    "cpu",
    "--dead-units",
    "ignore",
    "--quiet",
]
N_ROWS, N_FEATURES = 40, 10


def run(capsys, *argv):
    """(status, stdout, stderr) of `aekit argv...`."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_error(capsys, argv, message, status=2):
    """`aekit argv` fails with exactly one line `aekit: error: <message regex>`."""
    code, _, err = run(capsys, *argv)
    assert code == status, err
    assert re.fullmatch(f"aekit: error: {message}\n", err), err


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same small table as .csv, .tsv, .parquet (with id and label), .npy, .npz."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = (rng.random((N_ROWS, N_FEATURES)) * 10 - 2).astype(np.float32)  # not in [0, 1]
    ids = [f"r{i}" for i in range(N_ROWS)]
    labels = rng.integers(0, 3, N_ROWS)
    names = [f"f{j}" for j in range(N_FEATURES)]
    header = ["id", "label", *names]
    rows = [
        [i, int(y), *map(repr, map(float, x))]
        for i, y, x in zip(ids, labels, X, strict=True)
    ]
    np.save(d / "t.npy", X)
    np.savez(d / "t.npz", X=X, y=labels)
    cols = {"id": ids, "label": labels, **{n: X[:, j] for j, n in enumerate(names)}}
    pq.write_table(pa.table(cols), d / "t.parquet")
    return SimpleNamespace(
        dir=d,
        X=X,
        ids=ids,
        names=names,
        csv=write_csv(d / "t.csv", header, rows),
        tsv=write_csv(d / "t.tsv", header, rows, delimiter="\t"),
        npy=d / "t.npy",
        npz=d / "t.npz",
        parquet=d / "t.parquet",
    )


@pytest.fixture(scope="module")
def model(files):
    """A tiny model trained from the CSV: label and id left out of the features."""
    out = files.dir / "model"
    argv = [
        "train",
        files.csv,
        "-o",
        out,
        "--label-column",
        "label",
        "--exclude-columns",
        "id",
        *TINY,
    ]
    assert main([str(a) for a in argv]) == 0
    return out


# -- help and version ------------------------------------------------------------


def test_help_does_not_import_torch():
    code = (
        "import sys; from aekit.cli import main; "
        "codes = [main(['--help']), main(['train', '--help'])]; "
        "print(codes, 'torch' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert r.stdout.splitlines()[-1] == "[0, 0] False"


@pytest.mark.parametrize(
    "command", ["train", "encode", "reconstruct", "evaluate", "info"]
)
def test_every_command_has_help_with_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert f"usage: aekit {command}" in out
    assert f"example:\n  aekit {command} " in out


def test_version(capsys):
    assert run(capsys, "--version") == (0, f"aekit {aekit.__version__}\n", "")


def test_every_estimator_parameter_has_a_flag_with_its_true_default(capsys):
    from aekit.devices import DEVICES
    from aekit.layers import HIDDEN_ACTIVATIONS
    from aekit.losses import LOSSES
    from aekit.train import DEAD_UNIT_POLICIES, PRECISIONS

    params = inspect.signature(aekit.AutoEncoder).parameters
    assert set(ESTIMATOR_OPTIONS) == set(params)
    shown = {name: str(p.default) for name, p in params.items()}
    shown.update(
        hidden_dims="auto", model_options="none", random_state="none", scale="--scale"
    )
    for name, (kind, help_text) in ESTIMATOR_OPTIONS.items():
        if kind != "verbosity":
            assert help_text.endswith(f"(default: {shown[name]})"), name
    choices = {
        "activation": HIDDEN_ACTIVATIONS,
        "loss": LOSSES,
        "dead_units": DEAD_UNIT_POLICIES,
        "precision": (*PRECISIONS, "auto"),
        "device": DEVICES,
    }
    for name, values in choices.items():
        assert ", ".join(sorted(values)) in ESTIMATOR_OPTIONS[name][1], name
    _, out, _ = run(capsys, "train", "--help")
    for name in params:
        if name != "verbose":
            assert "--" + name.replace("_", "-") in out
    assert "--no-scale" in out and "--quiet" in out and "--verbose" in out


def builtin_families():
    """The families that aekit's own families package registers."""
    from aekit.families import FAMILIES

    return sorted(
        n
        for n, f in FAMILIES.items()
        if type(f).__module__.startswith("aekit.families")
    )


def test_model_help_names_every_family(capsys):
    from aekit.cli.arguments import builtin_family_names
    from aekit.families import FAMILIES

    families = builtin_families()
    assert len(families) > 2
    assert sorted(builtin_family_names()) == families  # read without importing torch
    _, out, _ = run(capsys, "train", "--help")
    shown = " ".join(out.split())
    registered = ", ".join(sorted(FAMILIES))  # by other tests too, once loaded
    assert f"model family: {registered} (default: pca_anchored)" in shown


def test_model_help_without_torch_names_every_family():
    code = (
        "import sys; from aekit.cli import main; main(['train', '--help']); "
        "print('torch' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    shown = " ".join(r.stdout.split())
    assert shown.endswith(" False")
    assert f"model family: {', '.join(builtin_families())} (default:" in shown


def test_train_asks_for_progress_whatever_the_estimator_default(
    capsys, files, tmp_path, monkeypatch
):
    init = aekit.AutoEncoder.__init__
    defaults = dict(inspect.signature(init).parameters)
    assert defaults["verbose"].default is not inspect.Parameter.empty
    quiet = tuple(
        0 if name == "verbose" else p.default
        for name, p in defaults.items()
        if p.default is not inspect.Parameter.empty
    )
    monkeypatch.setattr(init, "__defaults__", quiet)  # the estimator says verbose=0
    assert aekit.AutoEncoder().verbose == 0
    for flags, verbose in (([], 1), (["--verbose"], 2), (["--quiet"], 0)):
        m = tmp_path / f"m{verbose}"
        code, out, _ = run(capsys, "train", files.npy, "-o", m, *TINY[:-1], *flags)
        assert code == 0
        assert json.loads((m / "train_config.json").read_text())["verbose"] == verbose
        assert ("model saved to" in out) == (verbose > 0)


# -- every command, every format -------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv", "npy", "npz", "parquet"])
def test_train_encode_reconstruct_evaluate_info(capsys, files, tmp_path, fmt):
    data = getattr(files, fmt)
    named = fmt in ("csv", "tsv", "parquet")
    columns = ["--label-column", "label", "--exclude-columns", "id"] if named else []
    key = ["--key", "X"] if fmt == "npz" else []
    m = tmp_path / "model"
    assert run(capsys, "train", data, "-o", m, *columns, *key, *TINY) == (0, "", "")
    est = aekit.load(m)
    expected_names = files.names if named else None
    assert (
        None if not hasattr(est, "feature_names_in_") else list(est.feature_names_in_)
    ) == expected_names

    carry = ["--carry-columns", "id"] if named else []
    code, out, err = run(
        capsys, "encode", m, data, "-o", tmp_path / "z.csv", *key, *carry
    )
    assert (code, err) == (0, "")
    assert out == f"wrote {N_ROWS} codes of 3 dimensions to {tmp_path / 'z.csv'}\n"
    with open(tmp_path / "z.csv", newline="") as f:
        table = list(csv.reader(f))
    head = ["id"] * named + ["autoencoder0", "autoencoder1", "autoencoder2"]
    assert table[0] == head
    if named:
        assert [r[0] for r in table[1:]] == files.ids  # rows in input order
    Z = np.array([r[named:] for r in table[1:]], dtype=np.float32)
    np.testing.assert_array_equal(Z, est.transform(files.X))

    assert run(capsys, "reconstruct", m, data, "-o", tmp_path / "r.npy", *key)[0] == 0
    R = np.load(tmp_path / "r.npy")
    np.testing.assert_allclose(R, est.reconstruct(files.X), rtol=1e-6)
    assert R.min() < 0 or R.max() > 1  # original units, not the scaled space

    code, out, _ = run(capsys, "evaluate", m, data, "--json", *key)
    result = json.loads(out)
    assert code == 0 and result["n_rows"] == N_ROWS
    assert result["mse"] == pytest.approx(-est.score(files.X), rel=1e-5)

    code, out, _ = run(capsys, "info", m)
    assert code == 0 and "architecture: 10 → 5 → 3 → 5 → 10\n" in out


def test_train_prints_a_summary_and_writes_config_and_history(capsys, files, tmp_path):
    m = tmp_path / "m"
    code, out, err = run(
        capsys,
        "train",
        files.csv,
        "-o",
        m,
        "--label-column",
        "label",
        "--exclude-columns",
        "id",
        *TINY[:-1],
    )  # not --quiet
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(
        r"trained 2 epochs in \d+\.\d s \(reached max_epochs\)", lines[0]
    )
    assert re.fullmatch(r"best validation loss: \S+ \(mse, epoch [12]\)", lines[1])
    assert lines[2].startswith("dead units: ")
    assert lines[3] == f"model saved to {m}"
    config = json.loads((m / "train_config.json").read_text())
    assert config["latent_dim"] == 3 and config["random_state"] == 0
    assert config["label_column"] == "label" and config["exclude_columns"] == ["id"]
    assert (
        config["data"] == str(files.csv)
        and config["aekit_version"] == aekit.__version__
    )
    history = (m / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,train_loss,val_loss,seconds,dead_encoder.1,")
    assert [h.split(",")[0] for h in history[1:]] == ["1", "2"]


def test_encode_carries_columns_to_parquet(capsys, files, model, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "z.parquet"
    code, _, _ = run(
        capsys, "encode", model, files.csv, "-o", out, "--carry-columns", "id,label"
    )
    t = pq.read_table(out)
    assert code == 0
    assert t.column_names == [
        "id",
        "label",
        "autoencoder0",
        "autoencoder1",
        "autoencoder2",
    ]
    assert t.column("id").to_pylist() == files.ids


def test_columns_are_matched_by_name(capsys, files, model, tmp_path):
    """Shuffled columns give the same codes; columns the model does not use are left."""
    order = files.names[::-1]
    shuffled = write_csv(
        tmp_path / "s.csv",
        ["extra", *order],
        [["x", *map(repr, map(float, x[::-1]))] for x in files.X],
    )
    assert run(capsys, "encode", model, shuffled, "-o", tmp_path / "a.npy")[0] == 0
    assert run(capsys, "encode", model, files.csv, "-o", tmp_path / "b.npy")[0] == 0
    np.testing.assert_array_equal(
        np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    )


def test_evaluate_text(capsys, files, model):
    code, out, err = run(capsys, "evaluate", model, files.csv, "--worst", "3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{files.csv}: {N_ROWS} rows, {N_FEATURES} features"
    assert lines[1].startswith("reconstruction MSE (data scaled to [0, 1]): ")
    i = lines.index("worst 3 features by MSE:")
    assert all(re.fullmatch(r"  f\d\s+\S+", line) for line in lines[i + 1 : i + 4])
    assert any(line.startswith("dead units on these rows: ") for line in lines)


def test_info(capsys, model):
    code, out, _ = run(capsys, "info", model)
    assert code == 0
    assert f"saved by aekit {aekit.__version__}" in out
    assert "model family: halving (symmetric network" in out
    assert "  encoder.0     Linear(10 -> 5) -> encoder.1 relu\n" in out
    assert "  decoder.2     Linear(5 -> 10) -> decoder.3 sigmoid\n" in out
    assert "parameters: 153\n" in out  # (10*5+5 + 5*3+3) + (3*5+5 + 5*10+10)
    assert "features: 10 (f0 ... f9)" in out and "training: 2 epochs" in out
    d = json.loads(run(capsys, "info", model, "--json")[1])
    assert d["n_parameters"] == 153 and d["train_config"]["latent_dim"] == 3


# -- configuration files ---------------------------------------------------------


def test_config_file_and_flags_that_override_it(capsys, files, tmp_path):
    pytest.importorskip("yaml")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "latent_dim: 2\nmax-epochs: 1\nhidden_dims: [6]\nlabel_column: label\n"
        "exclude_columns: id\nverbose: 0\ndead_units: ignore\n"
    )
    m = tmp_path / "m"
    assert run(
        capsys,
        "train",
        files.csv,
        "-o",
        m,
        "--config",
        cfg,
        "--latent-dim",
        "3",
        "--random-state",
        "0",
    ) == (0, "", "")
    resolved = json.loads((m / "train_config.json").read_text())
    assert (resolved["latent_dim"], resolved["max_epochs"]) == (3, 1)  # the flag wins
    assert resolved["hidden_dims"] == [6] and resolved["exclude_columns"] == ["id"]
    # train_config.json is itself a config: the same run again, the same weights
    m2 = tmp_path / "m2"
    assert (
        run(capsys, "train", files.csv, "-o", m2, "--config", m / "train_config.json")[
            0
        ]
        == 0
    )
    np.testing.assert_array_equal(
        aekit.load(m).transform(files.X), aekit.load(m2).transform(files.X)
    )
    # an explicit 'auto' / 'none' overrides the config with None
    assert (
        run(
            capsys,
            "train",
            files.csv,
            "-o",
            m2,
            "--config",
            cfg,
            "--hidden-dims",
            "auto",
            "--patience",
            "none",
        )[0]
        == 0
    )
    resolved = json.loads((m2 / "train_config.json").read_text())
    assert resolved["hidden_dims"] is None and resolved["patience"] is None


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "c.json",
            '{"latnt_dim": 2}',
            r".*c\.json: unknown option 'latnt_dim'; did you "
            r"mean 'latent_dim'\?",
        ),
        (
            "c.json",
            '{"latent_dim": "2"}',
            r".*c\.json: latent_dim must be an integer, "
            r"got '2'",
        ),
        ("c.json", '{"scale": 1}', r".*c\.json: scale must be true or false, got 1"),
        (
            "c.json",
            "[1, 2]",
            r".*c\.json must hold a mapping of option names to values",
        ),
        ("c.json", "{", r".*c\.json is not valid JSON: Expecting .*"),
        ("c.toml", "", r"config file .*c\.toml must end in \.json, \.yaml or \.yml"),
    ],
)
def test_bad_config_files(capsys, files, tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    assert_error(
        capsys,
        ["train", files.csv, "-o", tmp_path / "m", "--config", tmp_path / name],
        message,
    )
    assert not (tmp_path / "m").exists()


def test_yaml_config_without_pyyaml_names_the_extra(
    capsys, files, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "yaml", None)
    (tmp_path / "c.yaml").write_text("latent_dim: 2\n")
    assert_error(
        capsys,
        ["train", files.csv, "-o", tmp_path / "m", "--config", tmp_path / "c.yaml"],
        r"reading .*c\.yaml needs PyYAML: pip install aekit\[yaml\] \(or use a "
        r"\.json config\)",
    )


# -- errors ----------------------------------------------------------------------


def _corrupt_model(d: Path) -> Path:
    d.mkdir()
    (d / "config.json").write_text("{not json")
    return d


def _foreign_model(d: Path) -> Path:
    d.mkdir()
    (d / "config.json").write_text('{"model_type": "bert"}')
    return d


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "{d}/missing.csv"], r".*missing\.csv does not exist"),
        (
            ["train", "{d}"],
            r".* is a folder; pass a data file \(\.npy, \.npz, \.csv, \.tsv, "
            r"\.parquet\)",
        ),
        (
            ["train", "{d}/t.txt"],
            r".*t\.txt has an unknown extension '\.txt'; aekit reads "
            r"\.npy, \.npz, \.csv, \.tsv, \.parquet",
        ),
        (["train", "{d}/empty.csv"], r".*empty\.csv has no data rows"),
        (
            ["train", "{d}/t.csv"],
            r".*t\.csv: column 'id' is not numeric \(line 2 has 'r0'\); "
            r"leave it out with --exclude-columns id",
        ),
        (
            ["train", "{d}/nan.csv"],
            r".*nan\.csv: column 'b' has NaN at line 3; aekit needs "
            r"finite numbers: fill or drop those rows",
        ),
        (
            [
                "train",
                "{d}/t.csv",
                "--exclude-columns",
                "id",
                "--label-column",
                "lable",
            ],
            r".*t\.csv has no column 'lable'; did you mean 'label'\?",
        ),
        (
            ["train", "{d}/t.npy", "--validation-fraction", "1.5"],
            r"--validation-fraction must be a float in \[0, 1\)\. Got 1\.5 instead\.",
        ),
        (
            ["train", "{d}/t.npy", "--activation", "sigmoidal"],
            r"--activation must be one of 'elu', 'gelu', 'leaky_relu', 'relu', "
            r"'tanh'\. Got 'sigmoidal' instead\.",
        ),
        (
            ["train", "{d}/t.npy", "--latent-dim", "10"],
            r"latent_dim=10 is not smaller than the number of features \(10\); .*",
        ),
        (
            ["train", "{d}/t.npy", "--latent-dim", "three"],
            r"argument --latent-dim: invalid int value: 'three' "
            r"\(see 'aekit train --help'\)",
        ),
        (
            ["train", "{d}/t.npy", "--latnt-dim", "3"],
            r"unrecognized arguments: --latnt-dim 3; did you mean --latent-dim\? \(see "
            r"'aekit train --help'\)",
        ),
        (
            ["train", "{d}/t.npy", "--hidden-dims", "8,x"],
            r"argument --hidden-dims: expected comma-separated widths such as "
            r"512,128 \(or "
            r"'auto'\), got '8,x' \(see 'aekit train --help'\)",
        ),
        ([], r"the following arguments are required: COMMAND \(see 'aekit --help'\)"),
        (
            ["encode", "{m}", "{d}/t.csv", "-o", "{d}/out.txt"],
            r".*out\.txt has an unknown extension '\.txt'; "
            r"aekit writes \.npy, \.csv, \.tsv, "
            r"\.parquet",
        ),
        (
            [
                "encode",
                "{m}",
                "{d}/t.csv",
                "-o",
                "{d}/out.npy",
                "--carry-columns",
                "id",
            ],
            r".*out\.npy: \.npy holds numbers only, so carried columns cannot go "
            r"there; "
            r"write \.csv, \.tsv or \.parquet",
        ),
        (
            ["encode", "{d}/nomodel", "{d}/t.csv", "-o", "{d}/out.csv"],
            r"model folder .*nomodel does not exist",
        ),
        (
            ["encode", "{d}/t.csv", "{d}/t.csv", "-o", "{d}/out.csv"],
            r".*t\.csv is a file, not a model folder; pass the folder that holds "
            r"config\.json "
            r"and model\.safetensors",
        ),
        (
            ["encode", "{d}/corrupt", "{d}/t.csv", "-o", "{d}/out.csv"],
            r".*corrupt/config\.json is not valid JSON .*; the file is corrupted",
        ),
        (
            ["encode", "{d}/foreign", "{d}/t.csv", "-o", "{d}/out.csv"],
            r".*foreign/config\.json is not an aekit model config .*; "
            r"was this folder written "
            r"by another tool\?",
        ),
        (
            [
                "encode",
                "{m}",
                "{d}/t.npy",
                "-o",
                "{d}/out.csv",
                "--exclude-columns",
                "id",
            ],
            r".*t\.npy has no column names, so --exclude-columns cannot be used; "
            r"use a table "
            r"with a header \(\.csv, \.tsv, \.parquet\)",
        ),
        (
            ["encode", "{m}", "{d}/renamed.csv", "-o", "{d}/out.csv"],
            r".*renamed\.csv lacks 1 of the model's 10 feature columns: 'f3'; "
            r"columns the "
            r"model does not use: 'id', 'label', 'F3' \(columns are matched by name\)",
        ),
        (
            ["reconstruct", "{m}", "{d}/narrow.npy", "-o", "{d}/out.csv"],
            r".*narrow\.npy has 9 feature columns, but the model expects 10",
        ),
        (
            ["evaluate", "{m}", "{d}/t.csv", "--worst", "-1"],
            r"--worst must be >= 0, got -1",
        ),
        (
            ["info", "{d}/foreign"],
            r".*foreign/config\.json is not an aekit model config .*",
        ),
    ],
)
def test_errors_are_one_line_with_status_2_and_no_output(
    capsys, files, model, argv, message
):
    d = files.dir
    if not (d / "empty.csv").exists():
        (d / "empty.csv").write_text("a,b\n")
        (d / "nan.csv").write_text("a,b\n1,2\n3,nan\n")
        (d / "t.txt").write_text("1,2\n")
        np.save(d / "narrow.npy", files.X[:, :9])
        _corrupt_model(d / "corrupt")
        _foreign_model(d / "foreign")
        header = ["id", "label", *["F3" if n == "f3" else n for n in files.names]]
        write_csv(d / "renamed.csv", header, [["r", 0, *x] for x in files.X.tolist()])
    before = set(d.iterdir())
    tiny = TINY if argv and argv[0] == "train" and "--latent-dim" not in argv else []
    full = [a.format(d=d, m=model) for a in argv]
    if argv and argv[0] == "train":
        full += ["-o", str(d / "new-model")]
    assert_error(capsys, [*full, *tiny], message)
    assert set(d.iterdir()) == before  # no output, no model folder, no temporary file


def test_training_into_a_file_or_a_foreign_folder_is_refused(capsys, files, tmp_path):
    (tmp_path / "f").write_text("")
    assert_error(
        capsys,
        ["train", files.npy, "-o", tmp_path / "f", *TINY],
        r".*f is a file; -o needs a folder to save the model in",
    )
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("keep me")
    assert_error(
        capsys,
        ["train", files.npy, "-o", tmp_path / "home", *TINY],
        r".*home is not empty and holds no aekit model; choose a new or empty "
        r"folder so that nothing in it is overwritten",
    )


def test_retraining_replaces_a_model_folder(capsys, files, model, tmp_path):
    m = tmp_path / "m"
    assert run(capsys, "train", files.npy, "-o", m, *TINY)[0] == 0
    assert run(capsys, "train", files.npy, "-o", m, *TINY, "--latent-dim", "2")[0] == 0
    assert aekit.load(m).transform(files.X).shape == (N_ROWS, 2)


def test_divergence_exits_3_and_saves_nothing(capsys, files, tmp_path):
    m = tmp_path / "m"
    assert_error(
        capsys,
        ["train", files.npy, "-o", m, *TINY, "--lr", "1e38"],
        r"training diverged: the loss became nan at epoch 1, step \d+; the "
        r"learning rate \(lr=1e\+38\) is the likely cause, try a value 10x smaller",
        status=3,
    )
    assert not m.exists()


def test_interrupt_exits_130_with_one_line(capsys, files, tmp_path, monkeypatch):
    def interrupted(self, X, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(aekit.AutoEncoder, "fit", interrupted)
    assert run(capsys, "train", files.npy, "-o", tmp_path / "m", *TINY) == (
        130,
        "",
        "aekit: interrupted\n",
    )
    assert not (tmp_path / "m").exists()


def test_debug_shows_the_traceback(capsys, files, tmp_path):
    code, _, err = run(
        capsys, "train", files.dir / "missing.csv", "-o", tmp_path / "m", "--debug"
    )
    assert code == 2
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("missing.csv does not exist\n")
    assert err.splitlines()[-1].startswith("aekit: error: ")


def test_warnings_are_one_line(capsys, files, tmp_path, monkeypatch):
    fit = aekit.AutoEncoder.fit

    def fit_and_warn(self, X, **kwargs):
        warnings.warn(
            "60% of the ReLU units in hidden layer encoder.1 ...",
            aekit.DeadUnitWarning,
            stacklevel=2,
        )
        return fit(self, X, **kwargs)

    monkeypatch.setattr(aekit.AutoEncoder, "fit", fit_and_warn)
    code, _, err = run(capsys, "train", files.npy, "-o", tmp_path / "m", *TINY)
    assert code == 0
    assert (
        err == "aekit: warning: 60% of the ReLU units in hidden layer encoder.1 ...\n"
    )


# -- real processes --------------------------------------------------------------


def test_python_m_aekit_exit_codes_without_tracebacks(files, model, tmp_path):
    def aekit_(*argv):
        return subprocess.run(
            [sys.executable, "-m", "aekit", *map(str, argv)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = aekit_("info", model)
    assert (
        ok.returncode == 0 and ok.stdout.startswith(f"model {model} ") and not ok.stderr
    )
    bad = aekit_("encode", model, files.dir / "missing.csv", "-o", tmp_path / "z.csv")
    assert bad.returncode == 2
    assert bad.stderr == f"aekit: error: {files.dir / 'missing.csv'} does not exist\n"
    assert not (tmp_path / "z.csv").exists()


def test_a_closed_pipe_is_not_an_error(model):
    p = subprocess.Popen(
        [sys.executable, "-m", "aekit", "info", str(model), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # like `| head` that has read enough
    assert (p.wait(timeout=120), p.stderr.read()) == (141, b"")
    p.stderr.close()


def test_console_script():
    script = Path(sys.executable).with_name("aekit")
    if not script.exists():
        pytest.skip("the aekit console script is not installed in this environment")
    r = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=60
    )
    assert (r.returncode, r.stdout) == (0, f"aekit {aekit.__version__}\n")
    r = subprocess.run([script, "train"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr == (
        "aekit: error: the following arguments are required: DATA, "
        "-o/--output (see 'aekit train --help')\n"
    )
