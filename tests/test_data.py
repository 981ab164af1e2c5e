"""Reading, validating and writing tables (aekit.data), on tiny generated files."""

from __future__ import annotations

import csv
import os
import re
import sys

import numpy as np
import pytest

from aekit.data import Table, check_output, read_table, select_features, write_table
from aekit.errors import DataError

NAMES = ["a", "b", "c"]
X = np.array([[0.0, 1.5, -2.0], [3.0, 4.0, 5.25], [6.0, 7.0, 8.0]])


def write_csv(path, rows, header=NAMES, delimiter=","):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_parquet(path, columns):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def tables(tmp_path):
    """The same 3x3 table in every input format."""
    paths = {
        "csv": write_csv(tmp_path / "t.csv", X.tolist()),
        "tsv": write_csv(tmp_path / "t.tsv", X.tolist(), delimiter="\t"),
        "parquet": write_parquet(
            tmp_path / "t.parquet", dict(zip(NAMES, X.T, strict=True))
        ),
    }
    np.save(tmp_path / "t.npy", X)
    np.savez(tmp_path / "t.npz", X)
    paths["npy"], paths["npz"] = tmp_path / "t.npy", tmp_path / "t.npz"
    return paths


# -- reading ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv", "npy", "npz", "parquet"])
def test_every_format_reads_the_same_features(tables, fmt):
    t = read_table(tables[fmt])
    f = select_features(t)
    assert f.X.dtype == np.float32
    np.testing.assert_array_equal(f.X, X.astype(np.float32))
    assert f.names == (None if fmt in ("npy", "npz") else NAMES)


def test_npz_key_picks_one_of_several_arrays(tmp_path):
    np.savez(tmp_path / "t.npz", train=X, other=X[:1])
    assert read_table(tmp_path / "t.npz", key="other").n_rows == 1
    with pytest.raises(
        DataError,
        match=r"holds 2 arrays \(train, other\); choose one "
        r"with --key NAME",
    ):
        read_table(tmp_path / "t.npz")
    with pytest.raises(
        DataError, match=r"has no array 'trian'; did you mean 'train'\?"
    ):
        read_table(tmp_path / "t.npz", key="trian")


def test_key_is_refused_for_other_formats(tables):
    with pytest.raises(
        DataError, match=r"--key only applies to \.npz files, not to t\.csv"
    ):
        read_table(tables["csv"], key="x")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "nope.csv", r"nope\.csv does not exist$"),
        (lambda p: p, r"is a folder; pass a data file \(\.npy, \.npz"),
        (
            lambda p: _touch(p / "t.txt", "1"),
            r"t\.txt has an unknown extension '\.txt'; "
            r"aekit reads \.npy, \.npz, \.csv",
        ),
        (
            lambda p: _touch(p / "t.csv", ""),
            r"t\.csv is empty; aekit needs a header line",
        ),
        (lambda p: _touch(p / "t.csv", "a,b\n"), r"t\.csv has no data rows$"),
        (
            lambda p: _touch(p / "t.csv", "a,b\n1,2\n3\n"),
            r"t\.csv: line 3 has 1 fields but the header has 2$",
        ),
        (
            lambda p: _touch(p / "t.csv", "a,a\n1,2\n"),
            r"t\.csv: column 'a' appears more than once in the header",
        ),
        (lambda p: _touch(p / "t.csv", "a,\n1,2\n"), r"t\.csv: column 1 has no name"),
        (
            lambda p: _touch(p / "t.csv", b"a,b\n\xff\xfe,1\n"),
            r"t\.csv is not UTF-8 text",
        ),
        (
            lambda p: _save(p / "t.npy", np.arange(3.0)),
            r"t\.npy holds a 1-D array of shape \(3,\); aekit needs a 2-D table",
        ),
        (
            lambda p: _save(p / "t.npy", np.array([["x", "y"]])),
            r"t\.npy holds <U1 values, not numbers",
        ),
        (
            lambda p: _save(p / "t.npy", np.array([[1, None]], dtype=object)),
            r"t\.npy holds Python objects \(pickled data\); "
            r"aekit reads numeric arrays only",
        ),
        (lambda p: _save(p / "t.npy", np.zeros((0, 3))), r"t\.npy has no data rows"),
        (
            lambda p: _touch(p / "t.npy", b"not an array"),
            r"t\.npy is not a valid \.npy file \(its header is not \.npy's\)$",
        ),
        (
            lambda p: _touch(p / "t.npz", b"not a zip"),
            r"t\.npz is not a valid \.npz file",
        ),
    ],
)
def test_unreadable_inputs_say_why(tmp_path, make, message):
    with pytest.raises(DataError, match=message):
        read_table(make(tmp_path))


def _touch(path, content):
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        f.write(content)
    return path


def _save(path, array):
    np.save(path, array, allow_pickle=True)
    return path


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root reads anything"
)
def test_unreadable_file(tmp_path):
    p = write_csv(tmp_path / "t.csv", X.tolist())
    p.chmod(0)
    with pytest.raises(DataError, match=r"t\.csv cannot be read: permission denied"):
        read_table(p)


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    p = _touch(tmp_path / "t.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(DataError, match=re.escape("pip install aekit[parquet]")):
        read_table(p)
    with pytest.raises(DataError, match=re.escape("pip install aekit[parquet]")):
        check_output(tmp_path / "out.parquet")


def test_corrupt_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    with pytest.raises(DataError, match=r"t\.parquet is not a valid Parquet file"):
        read_table(_touch(tmp_path / "t.parquet", b"PAR1 but not really"))


# -- validating the features -----------------------------------------------------


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            [[1, 2, 3], [4, "x", 6]],
            r"t\.csv: column 'b' is not numeric \(line 3 has 'x'\); leave it out with "
            r"--exclude-columns b$",
        ),
        (
            [[1, 2, 3], [4, "", 6]],
            r"t\.csv: column 'b' has an empty cell at line 3; "
            r"fill or drop those rows first$",
        ),
        (
            [[1, 2, 3], [4, 5, "nan"], [7, 8, "inf"]],
            r"t\.csv: column 'c' has NaN at line 3 \(and 1 more non-finite value\); "
            r"aekit "
            r"needs finite numbers: fill or drop those rows$",
        ),
        ([[1, 2, 3], [4, 5, 6], [7, "-inf", 9]], r"column 'b' has -inf at line 4;"),
        ([[1, 2, 3e39]], r"column 'c' has 3e\+39 at line 2, beyond float32's range"),
    ],
)
def test_bad_cells_are_named_by_column_and_line(tmp_path, rows, message):
    t = read_table(write_csv(tmp_path / "t.csv", rows))
    with pytest.raises(DataError, match=message):
        select_features(t)


def test_bad_cells_in_arrays_are_named_by_index(tmp_path):
    a = np.zeros((4, 3))
    a[2, 1] = np.inf
    np.save(tmp_path / "t.npy", a)
    with pytest.raises(DataError, match=r"t\.npy: column 1 has inf at row 2;"):
        select_features(read_table(tmp_path / "t.npy"))


def test_parquet_nulls_and_text_columns(tmp_path):
    p = write_parquet(
        tmp_path / "t.parquet",
        {"a": [1.0, None, 2.0], "s": ["x", "y", "z"], "n": [1, 2, 3]},
    )
    t = read_table(p)
    with pytest.raises(
        DataError, match=r"column 'a' has a missing value at row 1; fill"
    ):
        select_features(t)
    with pytest.raises(DataError, match=r"column 's' is not numeric \(row 0 has 'x'\)"):
        select_features(t, exclude_columns=["a"])
    f = select_features(t, exclude_columns=["a"], carry_columns=["s"])
    assert f.names == ["n"] and f.carried["s"].tolist() == ["x", "y", "z"]


def test_label_exclude_and_carry_columns(tmp_path):
    rows = [["id1", 0, 1.0, 2.0, 9], ["id2", 1, 3.0, 4.0, 9]]
    header = ["id", "label", "a", "b", "junk"]
    t = read_table(write_csv(tmp_path / "t.csv", rows, header=header))
    f = select_features(
        t, label_column="label", exclude_columns=["junk"], carry_columns=["id"]
    )
    assert f.names == ["a", "b"]
    assert f.X.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert f.carried["id"].tolist() == ["id1", "id2"]  # carried as written
    assert f.label is not None and f.label.tolist() == ["0", "1"]
    with pytest.raises(
        DataError,
        match=r"t\.csv has no column 'lable'; did you mean "
        r"'label'\?$",
    ):
        select_features(t, label_column="lable")
    with pytest.raises(
        DataError, match=r"has no column 'zzz'; it has 'id', 'label', 'a'"
    ):
        select_features(t, exclude_columns=["zzz"])
    with pytest.raises(
        DataError, match=r"no feature columns are left after --label-column"
    ):
        select_features(t, exclude_columns=["id", "label", "a", "b", "junk"])


def test_column_options_need_names(tables):
    with pytest.raises(
        DataError,
        match=r"t\.npy has no column names, so --exclude-columns "
        r"cannot be used; use a table with a header",
    ):
        select_features(read_table(tables["npy"]), exclude_columns=["a"])


def test_model_features_are_matched_by_name(tmp_path):
    rows = [[1, 2, 3, "p"], [4, 5, 6, "q"]]
    t = read_table(write_csv(tmp_path / "t.csv", rows, header=["c", "a", "b", "extra"]))
    f = select_features(t, model_names=["a", "b", "c"], n_model_features=3)
    assert f.names == ["a", "b", "c"]  # the model's order; 'extra' is not used
    assert f.X.tolist() == [[2, 3, 1], [5, 6, 4]]
    f = select_features(t, model_names=["a", "c"], carry_columns=["c", "extra"])
    assert f.names == ["a", "c"] and list(f.carried) == ["c", "extra"]
    with pytest.raises(
        DataError,
        match=r"t\.csv lacks 1 of the model's 4 feature columns: "
        r"'d'; columns the model does not use: 'extra' \(columns are "
        r"matched by name\)",
    ):
        select_features(t, model_names=["a", "b", "c", "d"])


def test_model_feature_count_without_names(tables):
    with pytest.raises(
        DataError,
        match=r"t\.npy has 3 feature columns, but the model "
        r"expects 4$",
    ):
        select_features(
            read_table(tables["npy"]), model_names=["a"] * 4, n_model_features=4
        )


def test_table_messages():
    t = Table("t.npy", None, [np.zeros(2)])
    assert (t.where(1), t.label(0)) == ("row 1", "column 0")


# -- writing ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".tsv", ".parquet"])
def test_write_then_read_round_trips(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    Z = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    carried = (
        {} if suffix == ".npy" else {"id": np.array(["r0", "r1", "r2", "r3", "r4"])}
    )
    out = tmp_path / "sub" / f"z{suffix}"  # missing folders are created
    write_table(out, Z, ["z0", "z1", "z2"], carried)
    t = read_table(out)
    f = select_features(t, carry_columns=list(carried))
    np.testing.assert_array_equal(f.X, Z)  # float32 text reads back exactly
    if carried:
        assert t.names == ["id", "z0", "z1", "z2"]
        assert f.carried["id"].tolist() == carried["id"].tolist()
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left


@pytest.mark.parametrize(
    "name, carried, message",
    [
        (
            "out.txt",
            False,
            r"out\.txt has an unknown extension '\.txt'; aekit writes "
            r"\.npy, \.csv, \.tsv, \.parquet$",
        ),
        ("out", False, r"out has an unknown extension '\(none\)'"),
        (
            "out.npy",
            True,
            r"out\.npy: \.npy holds numbers only, so carried columns cannot "
            r"go there; write \.csv, \.tsv or \.parquet$",
        ),
    ],
)
def test_bad_outputs_are_refused_before_any_work(tmp_path, name, carried, message):
    with pytest.raises(DataError, match=message):
        check_output(tmp_path / name, carried=carried)


def test_output_folder_or_file_in_the_way(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(
        DataError, match=r"d\.csv is a folder; give a file name such as"
    ):
        check_output(tmp_path / "d.csv")
    _touch(tmp_path / "f", "")
    with pytest.raises(
        DataError, match=r"cannot write .*f/o\.csv: .*f is a file, not a"
    ):
        check_output(tmp_path / "f" / "o.csv")


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        write_table(tmp_path / "z.csv", np.zeros((2, 2), np.float32), ["z0", "z1"])
    assert list(tmp_path.iterdir()) == []


def test_name_clash_between_carried_and_output_columns(tmp_path):
    with pytest.raises(
        DataError, match=r"carried column 'z0' has the name of an output"
    ):
        write_table(
            tmp_path / "z.csv",
            np.zeros((1, 1), np.float32),
            ["z0"],
            {"z0": np.array(["x"])},
        )
