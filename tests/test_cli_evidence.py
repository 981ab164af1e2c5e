"""`aekit score`, `aekit report` and the probes of `aekit evaluate`, through main(argv)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pytest

from aekit import load
from aekit.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")

TINY = [
    "--model",
    "halving",  # its bounded output keeps an outlier's error in its own feature
    "--latent-dim",
    "2",
    "--max-epochs",
    "3",
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
N_FEATURES = 12
OUTLIERS = [5, 17, 29]  # rows of the scored table with planted outliers
OUTLIER_FEATURES = [3, 7]  # their features set far outside the training range
N_NEW = 33


def run(capsys, *argv):
    """(status, stdout, stderr) of `aekit argv...`."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(path, delimiter=","):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Rows near a plane in 12-D to train on; new rows, 3 of them planted outliers."""
    d = tmp_path_factory.mktemp("evidence")
    rng = np.random.default_rng(0)
    W = rng.random((2, N_FEATURES))

    def rows(n):
        return (
            rng.random((n, 2)) @ W / 2 + rng.normal(0, 0.01, (n, N_FEATURES))
        ).astype(np.float32)

    X_train, X_new = rows(120), rows(N_NEW)
    X_new[np.ix_(OUTLIERS, OUTLIER_FEATURES)] = 10.0  # the training rows stay below 2
    names = [f"f{j}" for j in range(N_FEATURES)]

    def table(path, X, first="id"):
        labels = (X[:, 0] > np.median(X[:, 0])).astype(int)
        body = [
            [f"r{i}", int(y), *map(repr, map(float, x))]
            for i, (y, x) in enumerate(zip(labels, X, strict=True))
        ]
        return write_csv(path, [first, "label", *names], body)

    np.save(d / "new.npy", X_new)
    table(d / "row-ids.csv", X_new, first="row")  # ids in a column named `row`
    return SimpleNamespace(
        dir=d,
        names=names,
        X_new=X_new,
        train=table(d / "train.csv", X_train),
        new=table(d / "new.csv", X_new),
        npy=d / "new.npy",
    )


@pytest.fixture(scope="module")
def model(files):
    out = files.dir / "model"
    argv = ["train", files.train, "-o", out, "--label-column", "label"]
    argv += ["--exclude-columns", "id", *TINY]
    assert main([str(a) for a in argv]) == 0
    return out


def assert_error(capsys, argv, message):
    """`aekit argv` fails with status 2 and exactly `aekit: error: <message regex>`."""
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert re.fullmatch(f"aekit: error: {message}\n", err), err
    assert out == ""


# -- score -----------------------------------------------------------------------


def _read_scores(path):
    """{column: values} of a score table, in the file's column order."""
    suffix = path.suffix
    if suffix == ".npy":
        M = np.load(path)
        assert M.dtype == np.float64
        return dict(
            zip(["row", "reconstruction_error", "is_anomaly"], M.T, strict=True)
        )
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        assert str(t.schema.field("row").type) == "int64"
        assert str(t.schema.field("is_anomaly").type) == "bool"
        return {n: np.asarray(c.to_numpy()) for n, c in zip(t.column_names, t.columns)}
    header, body = read_csv(path, "\t" if suffix == ".tsv" else ",")
    cols = dict(zip(header, map(np.array, zip(*body, strict=True)), strict=True))
    assert set(cols["is_anomaly"]) <= {"True", "False"}
    cols["row"] = cols["row"].astype(int)
    cols["reconstruction_error"] = cols["reconstruction_error"].astype(np.float32)
    cols["is_anomaly"] = cols["is_anomaly"] == "True"
    return cols


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "npy"])
def test_score_writes_every_format_and_flags_the_planted_outliers(
    capsys, files, model, tmp_path, fmt
):
    out = tmp_path / f"scores.{fmt}"
    carry = [] if fmt == "npy" else ["--carry-columns", "id"]
    code, stdout, err = run(capsys, "score", model, files.new, "-o", out, *carry)
    assert (code, err) == (0, "")
    cols = _read_scores(out)
    expected = ["row", "reconstruction_error", "is_anomaly"]
    assert list(cols) == (expected if fmt == "npy" else ["id", *expected])
    if fmt != "npy":
        assert list(cols["id"]) == [f"r{i}" for i in range(N_NEW)]
    assert list(cols["row"]) == list(range(N_NEW))
    est = load(model)
    np.testing.assert_allclose(
        cols["reconstruction_error"], est.reconstruction_error(files.X_new), rtol=1e-6
    )
    flagged = np.flatnonzero(cols["is_anomaly"])
    assert set(OUTLIERS) <= set(flagged) and len(flagged) <= len(OUTLIERS) + 2
    assert stdout == (
        f"wrote the reconstruction errors of {N_NEW} rows to {out}\n"
        f"{len(flagged)} of {N_NEW} rows flagged as anomalous: reconstruction error "
        f"above the threshold {est.threshold_:.5g} stored with the model\n"
    )


@pytest.mark.parametrize("source", ["new", "npy"])
def test_score_per_feature_names_the_columns_after_the_features(
    capsys, files, model, tmp_path, source
):
    out = tmp_path / "scores.csv"
    code, _, err = run(
        capsys, "score", model, getattr(files, source), "-o", out, "--per-feature"
    )
    assert (code, err) == (0, "")
    header, body = read_csv(out)
    errors = [f"error_{n}" for n in files.names]  # .npy: the model's names
    assert header == ["row", "reconstruction_error", "is_anomaly", *errors]
    E = np.array([r[3:] for r in body], dtype=np.float64)
    np.testing.assert_allclose(
        E.mean(axis=1), np.array([r[1] for r in body], dtype=np.float64), rtol=1e-5
    )
    for i in OUTLIERS:  # the planted features are the worst of their rows
        assert set(np.argsort(E[i])[-2:]) == set(OUTLIER_FEATURES)


def test_score_of_a_model_without_threshold(capsys, files, model, tmp_path):
    old = tmp_path / "old-model"
    shutil.copytree(model, old)
    config = json.loads((old / "config.json").read_text())
    del config["anomaly_threshold"]
    (old / "config.json").write_text(json.dumps(config))
    out = tmp_path / "scores.csv"
    code, stdout, err = run(capsys, "score", old, files.new, "-o", out)
    assert (code, err) == (0, "")
    header, body = read_csv(out)
    assert header == ["row", "reconstruction_error"] and len(body) == N_NEW
    assert stdout.splitlines()[1] == (
        "no anomaly threshold is stored with this model (saved by an older aekit), "
        "so no row is flagged and is_anomaly is left out"
    )


# -- report ----------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_data(self, data):
        self.text.append(data)


def _page(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page = _Page()
    page.feed(text)
    assert page.tags[:2] == ["html", "head"] and "body" in page.tags
    assert "script" not in page.tags and "link" not in page.tags
    assert page.sources and all(
        s.startswith("data:image/png;base64,") for s in page.sources
    )
    return page, " ".join(page.text)


def test_report_on_data_with_labels(capsys, files, model, tmp_path):
    out = tmp_path / "new" / "folder" / "report.html"
    argv = ["report", model, files.new, "-o", out, "--label-column", "label"]
    argv += ["--image-shape", "3x4", "--title", "Plane <12>"]
    code, stdout, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    assert stdout == (
        f"wrote the report of {model} on {N_NEW} rows of {files.new} to {out}\n"
    )
    page, text = _page(out)
    assert "<title>Plane &lt;12&gt;</title>" in out.read_text(encoding="utf-8")
    assert "Reconstruction examples" in text and "logistic probe" in text
    assert len(page.sources) >= 5  # curves, examples, errors, projection, variance


def test_report_of_the_model_alone(capsys, model, tmp_path):
    out = tmp_path / "report.html"
    code, stdout, err = run(capsys, "report", model, "-o", out)
    assert (code, err) == (0, "")
    assert stdout == f"wrote the report of {model} to {out}\n"
    _, text = _page(out)
    assert "Training curves" in text and "Reconstruction examples" not in text


def test_report_without_matplotlib_is_one_line(capsys, model, tmp_path, monkeypatch):
    for mod in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, mod, None)
    assert_error(
        capsys,
        ["report", model, "-o", tmp_path / "sub" / "r.html"],
        r"the HTML report needs matplotlib: pip install aekit\[report\]",
    )
    assert list(tmp_path.iterdir()) == []  # no file, and no folder made for it


# -- evaluate's probes -----------------------------------------------------------


def test_evaluate_prints_the_probes_side_by_side(capsys, files, model):
    argv = ["evaluate", model, files.train, "--label-column", "label"]
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    i = lines.index(
        "probe accuracy on 'label' (2 classes, stratified 5-fold cross-validation "
        "on 120 rows):"
    )
    assert lines[i + 1] == "  representation  dims  logistic  5-NN"
    for line, (name, dims) in zip(
        lines[i + 2 : i + 5],
        [("autoencoder", 2), ("PCA", 2), ("raw features", N_FEATURES)],
        strict=True,
    ):
        assert re.fullmatch(rf"  {name} +{dims}  +[01]\.\d{{3}}  +[01]\.\d{{3}}", line)
    result = json.loads(run(capsys, *argv, "--json")[1])
    assert set(result["probes"]["results"]) == {"autoencoder", "pca", "raw"}
    code, out, _ = run(capsys, *argv, "--no-probes")
    assert code == 0 and "probe" not in out
    assert json.loads(run(capsys, *argv, "--no-probes", "--json")[1])["probes"] is None
    code, out, _ = run(capsys, "evaluate", model, files.train, "--label-column", "id")
    assert (
        code == 0
        and (
            "probes on 'id' skipped: 120 distinct labels in 120 rows: probes need at "
            "least 2 classes and at least 2 rows per class on average\n"
        )
        in out
    )


# -- help and errors -------------------------------------------------------------


@pytest.mark.parametrize("command", ["score", "report"])
def test_help_with_examples(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and f"usage: aekit {command}" in out
    assert f"example:\n  aekit {command} " in out
    assert f"    {command} " in run(capsys, "--help")[1]


def test_help_of_the_new_commands_does_not_import_torch():
    code = (
        "import sys; from aekit.cli import main; "
        "codes = [main(['score', '--help']), main(['report', '--help'])]; "
        "print(codes, 'torch' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert r.stdout.splitlines()[-1] == "[0, 0] False"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["score", "{m}", "{d}/new.csv", "-o", "{t}/scores.txt"],
            r".*scores\.txt has an unknown extension '\.txt'; aekit writes \.npy, "
            r"\.csv, \.tsv, \.parquet",
        ),
        (
            ["score", "{m}", "{d}/new.csv", "-o", "{t}/s.npy", "--carry-columns", "id"],
            r".*s\.npy: \.npy holds numbers only, so carried columns cannot go there; "
            r"write \.csv, \.tsv or \.parquet",
        ),
        (
            [
                "score",
                "{m}",
                "{d}/row-ids.csv",
                "-o",
                "{t}/s.csv",
                "--carry-columns",
                "row",
            ],
            r"--carry-columns 'row' has the name of a score column; the scores are "
            r"row, reconstruction_error, is_anomaly",
        ),
        (
            ["score", "{m}", "{d}/missing.csv", "-o", "{t}/s.csv"],
            r".*missing\.csv does not exist",
        ),
        (
            ["report", "{m}", "-o", "{t}/report.txt"],
            r".*report\.txt: the report is an HTML file; give a name ending in "
            r"\.html, such as report\.html",
        ),
        (
            ["report", "{m}", "-o", "{t}/folder.html"],
            r".*folder\.html is a folder; give a file name such as report\.html",
        ),
        (
            ["report", "{m}", "-o", "{t}/r.html", "--label-column", "label"],
            r"--label-column needs DATA, the table to report on",
        ),
        (
            ["report", "{m}", "-o", "{t}/r.html", "--image-shape", "28"],
            r"argument --image-shape: expected HEIGHTxWIDTH such as 28x28, got '28' "
            r"\(see 'aekit report --help'\)",
        ),
        (
            ["report", "{m}", "-o", "{t}/r.html", "--image-shape", "5x5"],
            r"--image-shape 5x5 holds 25 pixels, but the model has 12 features",
        ),
        (
            [
                "report",
                "{m}",
                "{d}/new.csv",
                "-o",
                "{t}/r.html",
                "--label-column",
                "lab",
            ],
            r".*new\.csv has no column 'lab'; did you mean 'label'\?",
        ),
    ],
)
def test_errors_are_one_line_with_status_2_and_no_output(
    capsys, files, model, tmp_path, argv, message
):
    (tmp_path / "folder.html").mkdir()
    before = set(tmp_path.iterdir())
    full = [a.format(m=model, d=files.dir, t=tmp_path) for a in argv]
    assert_error(capsys, full, message)
    assert set(tmp_path.iterdir()) == before  # no output, no temporary file
