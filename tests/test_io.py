import json
import os

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit import AutoEncoder, ModelFormatError
from aekit.io import CONFIG_FILE, WEIGHTS_FILE, write_atomic


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X = np.random.default_rng(0).random((120, 12)) * 50
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(12)])
    est = AutoEncoder(
        latent_dim=3,
        max_epochs=3,
        random_state=0,
        verbose=0,
        dead_units="switch",
        dead_unit_threshold=0.01,
    ).fit(df)
    path = tmp_path_factory.mktemp("m") / "model"
    est.save(path)
    return est, df, path


def test_folder_contents(saved):
    est, _, path = saved
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) == [
        CONFIG_FILE,
        WEIGHTS_FILE,
    ]
    cfg = json.loads((path / CONFIG_FILE).read_text())
    assert cfg["format"] == "aekit-model" and cfg["aekit_version"] == aekit.__version__
    assert cfg["architecture"]["n_features"] == 12
    assert cfg["feature_names"] == [f"c{i}" for i in range(12)]
    assert len(cfg["scaling"]["data_min"]) == 12
    assert cfg["training"]["epochs"] == est.n_epochs_
    assert len(cfg["training"]["history"]) == len(est.history_)


def test_reload_is_bitwise_identical(saved):
    est, df, path = saved
    back = aekit.load(path)
    assert np.array_equal(back.transform(df), est.transform(df))
    assert np.array_equal(
        back.inverse_transform(est.transform(df)),
        est.inverse_transform(est.transform(df)),
    )
    assert list(back.feature_names_in_) == list(df.columns)
    assert back.get_params() == {**est.get_params(), "random_state": est.seed_}
    # the dead-unit switch is part of the architecture
    assert back.module_.config.layer_activations == est.module_.config.layer_activations
    assert est.module_.config.layer_activations  # threshold 1% switched something


def test_loading_never_unpickles_and_is_checked(saved, tmp_path):
    _, _, path = saved
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        (bad / name).write_bytes((path / name).read_bytes())
    data = bytearray((bad / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0x01
    (bad / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="does not match the checksum"):
        aekit.load(bad)
    (bad / WEIGHTS_FILE).write_bytes(bytes(data[:100]))
    with pytest.raises(ModelFormatError, match="truncated, corrupted"):
        aekit.load(bad)
    (bad / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelFormatError, match=r"model\.safetensors is missing"):
        aekit.load(bad)


@pytest.mark.parametrize(
    "content, msg",
    [
        (b"{not json", "is not valid JSON"),
        (b'{"format": "keras"}', "not an aekit model config"),
        (b"[1, 2]", "not an aekit model config"),
        (
            b'{"format": "aekit-model", "format_version": 99}',
            "format version 99.*install a matching",
        ),
        (
            b'{"format": "aekit-model", "format_version": "1"}',
            "format_version must be an integer",
        ),
    ],
)
def test_foreign_or_corrupt_config(saved, tmp_path, content, msg):
    _, _, path = saved
    (tmp_path / WEIGHTS_FILE).write_bytes((path / WEIGHTS_FILE).read_bytes())
    (tmp_path / CONFIG_FILE).write_bytes(content)
    with pytest.raises(ModelFormatError, match=msg):
        aekit.load(tmp_path)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(ModelFormatError, match="does not exist"):
        aekit.load(tmp_path / "nope")
    f = tmp_path / "f.json"
    f.write_text("{}")
    with pytest.raises(ModelFormatError, match="is a file, not a model folder"):
        aekit.load(f)


def test_write_atomic_leaves_no_temp_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_save_unfitted_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        AutoEncoder().save(tmp_path / "m")


def test_written_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", b"x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
