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
    assert back.get_params() == est.get_params()  # as saved: no rewritten seed
    assert back.seed_ == est.seed_ and back.fit_timings_ == est.fit_timings_
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


def _edited(saved, tmp_path, edit):
    """A copy of the saved model whose config.json `edit` changed in place."""
    import shutil

    folder = tmp_path / "edited"
    shutil.copytree(saved[2], folder)
    cfg = json.loads((folder / CONFIG_FILE).read_text())
    edit(cfg)
    (folder / CONFIG_FILE).write_text(json.dumps(cfg))
    return folder


@pytest.mark.parametrize("width", [10**19, 2**62])
def test_impossible_widths_in_a_config_are_a_format_error(saved, tmp_path, width):
    """A forged architecture is refused as a model-file problem (issue case F8)."""

    def edit(cfg):
        cfg["architecture"]["hidden_dims"] = [width]

    with pytest.raises(ModelFormatError, match=r"config\.json"):
        aekit.load(_edited(saved, tmp_path, edit))


def test_duplicate_feature_names_are_refused(saved, tmp_path):
    """One column would feed every input of that name (issue case F24)."""

    def edit(cfg):
        names = [f"f{i}" for i in range(cfg["n_features_in"])]
        names[1] = names[0]
        cfg["feature_names"] = names

    with pytest.raises(ModelFormatError, match=r"duplicates \(\['f0'\]\)"):
        aekit.load(_edited(saved, tmp_path, edit))


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ({"dead_fraction": [0.5]}, r"training\.history\[0\]\.epoch must be"),
        ({"epoch": 1, "dead_fraction": [0.5]}, r"dead_fraction must map layers"),
        ({"epoch": 1, "seconds": "1s"}, r"seconds must be a number or null"),
        ({"epoch": 1, "switched": "encoder.1"}, r"switched must be a list"),
    ],
)
def test_malformed_training_records_are_refused(saved, tmp_path, record, match):
    """Hand-edited history that `aekit info` and the report would trip on (F11)."""

    def edit(cfg):
        cfg["training"]["history"] = [record]

    with pytest.raises(ModelFormatError, match=match):
        aekit.load(_edited(saved, tmp_path, edit))


def test_info_and_report_take_a_record_without_seconds(saved, tmp_path, capsys):
    """`training.seconds: null` is valid and shown as unknown (issue case F11)."""
    from aekit.cli import main

    def edit(cfg):
        cfg["training"]["seconds"] = None
        for h in cfg["training"]["history"]:
            h["seconds"] = None

    folder = _edited(saved, tmp_path, edit)
    assert main(["info", str(folder)]) == 0
    assert " in ? s, best " in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    assert main(["report", str(folder), "-o", str(tmp_path / "r.html")]) == 0
