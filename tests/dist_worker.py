"""A fit run by each rank of the distributed tests (``torchrun ... dist_worker.py OUT``).

Rank 0 writes OUT (JSON): the loss curve and the final weights.
"""

import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)


def table() -> np.ndarray:
    return np.random.default_rng(7).random((203, 12)).astype(np.float32)


def fit_and_record(out: str | None) -> dict:
    from aekit import AutoEncoder, distributed

    ae = AutoEncoder(
        latent_dim=3, max_epochs=4, batch_size=32, verbose=0, random_state=0
    ).fit(table(), evaluate=False)
    record = {
        "world": distributed.world().size,
        "curve": [[h["train_loss"], h["val_loss"]] for h in ae.history_],
        "weights": {
            k: v.detach().cpu().numpy().ravel().tolist()
            for k, v in ae.fitted_.module.state_dict().items()
        },
    }
    if out is not None and distributed.world().is_main:
        with open(out, "w") as f:
            json.dump(record, f)
    return record


if __name__ == "__main__":
    fit_and_record(sys.argv[1])
