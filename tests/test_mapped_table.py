"""A .npy table is memory-mapped and trained on without a copy in memory."""

from __future__ import annotations

import numpy as np
import pytest

from aekit import AutoEncoder
from aekit.data import read_table, select, select_features
from aekit.errors import DataError


def _save(tmp_path, X):
    p = tmp_path / "t.npy"
    np.save(p, X)
    return p


def test_npy_is_mapped_and_features_are_the_map_itself(tmp_path):
    X = np.random.default_rng(0).random((300, 6)).astype(np.float32)
    p = _save(tmp_path, X)
    table = read_table(p)
    assert isinstance(table.matrix.base, np.memmap) or isinstance(
        table.matrix, np.memmap
    )
    F = select_features(table).X
    assert np.shares_memory(F, table.matrix)  # no copy of the rows
    np.testing.assert_array_equal(F, X)


def test_nonfinite_found_in_a_late_block_names_its_row(tmp_path, monkeypatch):
    # 2 rows a block: the first block holding a bad value is rows 6-7; the
    # message is the one a whole-table check gives (first bad column, its row)
    monkeypatch.setattr(select, "CHECK_ROWS_VALUES", 12)
    X = np.ones((9, 6), np.float32)
    X[7, 4] = np.nan
    X[8, 1] = np.inf
    with pytest.raises(DataError, match=r"column 1 has inf at row 8 \(and 1 more"):
        select_features(read_table(_save(tmp_path, X)))


def test_training_on_the_map_equals_training_in_memory(tmp_path):
    X = np.random.default_rng(1).random((256, 8)).astype(np.float32)
    mapped = select_features(read_table(_save(tmp_path, X))).X
    kw = dict(latent_dim=2, max_epochs=3, verbose=0, random_state=0)
    a = AutoEncoder(**kw).fit(mapped, evaluate=False)
    b = AutoEncoder(**kw).fit(X, evaluate=False)
    assert [h["train_loss"] for h in a.history_] == [
        h["train_loss"] for h in b.history_
    ]
    np.testing.assert_array_equal(a.transform(mapped), b.transform(X))


def test_block_order_visits_every_row_once_reproducibly_in_runs_of_blocks():
    import torch

    from aekit.data.rows import block_order

    def draw(seed):
        return block_order(1024, 16, 4, torch.Generator().manual_seed(seed))

    a = draw(0)
    assert sorted(a.tolist()) == list(range(1024))
    assert torch.equal(a, draw(0)) and not torch.equal(a, draw(1))
    # each buffer of 4 blocks (64 rows) holds rows of 4 blocks only
    for w in range(0, 1024, 64):
        assert len({r // 16 for r in a[w : w + 64].tolist()}) <= 4


def test_mapped_fit_shuffles_by_blocks_and_resumes_bitwise(tmp_path, monkeypatch):
    from aekit.data.rows import ScaledRows
    from aekit.fitting import setup

    monkeypatch.setattr(setup, "SHUFFLE_BLOCK_ROWS", 8)
    monkeypatch.setattr(ScaledRows, "buffer_blocks", 3)
    X = np.random.default_rng(2).random((500, 8)).astype(np.float32)
    mapped = select_features(read_table(_save(tmp_path, X))).X
    kw = dict(latent_dim=2, verbose=0, random_state=0, batch_size=32)
    full = AutoEncoder(max_epochs=4, **kw).fit(mapped, evaluate=False)
    memory = AutoEncoder(max_epochs=4, **kw).fit(X, evaluate=False)
    assert full.history_[0]["train_loss"] != memory.history_[0]["train_loss"]
    ck = tmp_path / "ck"
    AutoEncoder(max_epochs=2, **kw).fit(mapped, evaluate=False, checkpoint_dir=ck)
    resumed = AutoEncoder(max_epochs=4, **kw).fit(
        mapped, evaluate=False, resume_from=ck
    )
    a = full.fitted_.module.state_dict()
    b = resumed.fitted_.module.state_dict()
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k
