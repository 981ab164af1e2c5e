"""Tables a block at a time: iter_table, TableWriter, and the streamed CLI commands.

A streamed command must give exactly what the whole table in memory gives,
whatever the block size, and name the same cell when a block holds a bad one.
"""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aekit import AutoEncoder, data
from aekit.cli import main
from aekit.cli import stream as cli_stream
from aekit.errors import DataError

FORMATS = [".csv", ".tsv", ".parquet", ".npy"]


def _write(path, X, names=None):
    names = names or [f"f{j}" for j in range(X.shape[1])]
    suffix = path.suffix
    if suffix == ".npy":
        np.save(path, X)
    elif suffix == ".parquet":
        pq.write_table(
            pa.table({n: X[:, j] for j, n in enumerate(names)}), path, row_group_size=4
        )
    else:
        with open(path, "w", newline="") as f:
            w = csv.writer(f, delimiter="\t" if suffix == ".tsv" else ",")
            w.writerow(names)
            w.writerows(X.tolist())
    return path


@pytest.fixture(scope="module")
def table():
    return np.random.default_rng(0).random((23, 5)).astype(np.float32)


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("rows", [1, 4, 7, 23, 100])
def test_blocks_join_to_the_whole_table(tmp_path, table, suffix, rows):
    p = _write(tmp_path / f"t{suffix}", table)
    whole = data.select_features(data.read_table(p)).X
    blocks = list(data.iter_table(p, rows))
    sizes = [b.n_rows for b in blocks]
    if suffix == ".parquet":  # blocks end at row groups (of 4 rows here) too
        assert all(0 < m <= min(rows, 4) for m in sizes)
    else:
        assert sizes[:-1] == [rows] * (len(blocks) - 1)
    X = np.concatenate([data.select_features(b).X for b in blocks])
    np.testing.assert_array_equal(X, whole)


@pytest.mark.parametrize(
    ("suffix", "where"),
    [
        (".csv", "line 19"),
        (".tsv", "line 19"),
        (".parquet", "row 17"),
        (".npy", "row 17"),
    ],
)
def test_a_bad_cell_in_a_late_block_is_named_as_in_the_whole_table(
    tmp_path, table, suffix, where
):
    X = table.copy()
    X[17, 3] = np.nan
    p = _write(tmp_path / f"t{suffix}", X)
    with pytest.raises(DataError) as whole:
        data.select_features(data.read_table(p))
    with pytest.raises(DataError) as streamed:  # noqa: PT012
        for b in data.iter_table(p, 5):
            data.select_features(b)
    assert str(streamed.value) == str(whole.value)
    assert f"NaN at {where}" in str(streamed.value)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_with_a_header_and_no_rows_is_refused_before_any_block(
    tmp_path, suffix
):
    p = _write(tmp_path / f"t{suffix}", np.zeros((0, 3), np.float32))
    with pytest.raises(DataError, match="has no data rows"):
        next(data.iter_table(p, 4))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".npy"])
def test_blocks_written_one_by_one_read_back_as_one_write(tmp_path, table, suffix):
    names = [f"z{j}" for j in range(table.shape[1])]
    carried = {} if suffix == ".npy" else {"id": np.array([f"r{i}" for i in range(23)])}
    whole = tmp_path / f"whole{suffix}"
    data.write_table(whole, table, names, carried)
    parts = tmp_path / f"parts{suffix}"
    with data.TableWriter(parts) as w:
        for i in range(0, 23, 6):
            cols = {k: v[i : i + 6] for k, v in carried.items()}
            w.write({**cols, **{n: table[i : i + 6, j] for j, n in enumerate(names)}})
    assert w.rows == 23
    if suffix == ".npy":
        np.testing.assert_array_equal(np.load(parts), np.load(whole))
        assert np.load(parts, mmap_mode="r").dtype == np.float32
    elif suffix == ".parquet":
        assert pq.read_table(parts).equals(pq.read_table(whole))
    else:
        assert parts.read_bytes() == whole.read_bytes()


def test_a_npy_header_keeps_its_size_for_any_shape(tmp_path):
    from aekit.data.write import NPY_HEADER, _npy_header

    for shape in [(0, 0), (3, 2), (10**18, 10**9)]:
        assert len(_npy_header(np.dtype(np.float64), shape)) == NPY_HEADER
    p = tmp_path / "e.npy"
    with data.TableWriter(p) as w:
        w.write_matrix(np.zeros((0, 4), np.float32))
    assert np.load(p).shape == (0, 4)


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".parquet"])
def test_a_failure_between_blocks_leaves_no_file_and_the_old_one_intact(
    tmp_path, table, suffix
):
    p = tmp_path / f"out{suffix}"
    p.write_bytes(b"before")
    with pytest.raises(RuntimeError), data.TableWriter(p) as w:  # noqa: PT012
        w.write({"a": table[:5, 0]})
        raise RuntimeError("killed between blocks")
    assert p.read_bytes() == b"before"
    assert sorted(x.name for x in tmp_path.iterdir()) == [p.name]


@pytest.fixture(scope="module")
def model(tmp_path_factory, table):
    X = np.random.default_rng(1).random((200, 5)).astype(np.float32)
    d = tmp_path_factory.mktemp("model")
    est = AutoEncoder(latent_dim=2, max_epochs=3, verbose=0, random_state=0).fit(X)
    est.save(d / "m")
    return d / "m", est


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy"])
@pytest.mark.parametrize("out_suffix", [".csv", ".parquet", ".npy"])
def test_streamed_commands_equal_the_model_on_the_whole_table(
    tmp_path, table, model, monkeypatch, suffix, out_suffix
):
    folder, est = model
    p = _write(tmp_path / f"t{suffix}", table)
    monkeypatch.setattr(cli_stream, "BLOCK_VALUES", 4 * 5)  # blocks of 4 rows
    expected = {
        "encode": est.transform(table),
        "reconstruct": est.reconstruct(table),
        "score": est.reconstruction_error(table),
    }
    for cmd, want in expected.items():
        out = tmp_path / f"{cmd}{out_suffix}"
        assert main([cmd, str(folder), str(p), "-o", str(out)]) == 0
        back = data.read_table(out)
        skip = ["is_anomaly"] if cmd == "score" and back.names else []
        got = data.select_features(back, exclude_columns=skip).X
        if cmd == "score":
            np.testing.assert_array_equal(got[:, 0], np.arange(23))  # rows counted on
            got = got[:, 1]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# -- the columnar cache of `aekit train` ----------------------------------------

TRAIN = ["--latent-dim", "2", "--max-epochs", "3", "--random-state", "0"]


def _weights(folder):
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_large_table_trains_from_its_cache_as_from_the_npy(
    tmp_path, monkeypatch, capsys, suffix
):
    from aekit.data import cache

    X = np.random.default_rng(2).random((300, 6)).astype(np.float32)
    src = _write(tmp_path / f"big{suffix}", X)
    npy = _write(tmp_path / "same.npy", X)
    monkeypatch.setattr(cache, "CACHE_ABOVE", 0)
    monkeypatch.setattr(cache, "BLOCK_VALUES", 7 * 6)  # blocks of 7 rows
    assert main(["train", str(src), "-o", str(tmp_path / "a"), *TRAIN]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"converting big{suffix}"), said
    (made,) = (tmp_path / "aekit-cache").iterdir()
    assert sorted(p.name for p in made.iterdir()) == ["features.npy", "meta.json"]
    np.testing.assert_array_equal(np.load(made / "features.npy"), X)
    assert main(["train", str(npy), "-o", str(tmp_path / "b"), *TRAIN]) == 0
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # the unchanged file reuses its cache; names are kept for the model
    assert main(["train", str(src), "-o", str(tmp_path / "c"), *TRAIN]) == 0
    assert "from its cache" in capsys.readouterr().out
    assert len(list((tmp_path / "aekit-cache").iterdir())) == 1
    info = (tmp_path / "c" / "config.json").read_text()
    assert '"f5"' in info
    # a changed file makes a new one
    _write(src, X[::-1].copy())
    assert main(["train", str(src), "-o", str(tmp_path / "d"), *TRAIN]) == 0
    assert capsys.readouterr().out.startswith("converting big")
    assert len(list((tmp_path / "aekit-cache").iterdir())) == 2


def test_a_bad_cell_in_a_large_csv_fails_as_in_memory_and_leaves_no_cache(
    tmp_path, monkeypatch, capsys
):
    from aekit.data import cache

    X = np.random.default_rng(2).random((300, 6)).astype(np.float32)
    X[250, 2] = np.inf
    src = _write(tmp_path / "big.csv", X)
    assert main(["train", str(src), "-o", str(tmp_path / "a"), *TRAIN]) == 2
    whole = capsys.readouterr().err
    monkeypatch.setattr(cache, "CACHE_ABOVE", 0)
    monkeypatch.setattr(cache, "BLOCK_VALUES", 7 * 6)
    assert main(["train", str(src), "-o", str(tmp_path / "b"), *TRAIN]) == 2
    assert capsys.readouterr().err == whole
    assert "inf at line 252" in whole
    assert not (tmp_path / "aekit-cache").exists()
    assert not (tmp_path / "b").exists()
