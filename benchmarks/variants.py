"""The variant families against the plain model at the same code size, on real data.

Run from the repository root (the data lives in ../shared/data, see its README)::

    flock /tmp/bench.lock env OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/variants.py

Data (seeded, the loaders of benchmarks/quality.py): MNIST test set, rows of a
permutation with seed 0, the first 2000 to fit and the next 1000 held out;
COIL-20, 80% to fit and 20% held out, stratified by object. Pixels in [0, 1],
``scale=False``; latent_dim=32; every fit has the same fixed budget
(``--epochs``, batch 128, no early stopping, random_state=0, one thread).
Every figure is measured on the held-out rows; ratios are against the plain
model (pca_anchored, the default, unless said) fitted in the same run.

- sparse: shares of near-zero code values and encoder hidden activations
  (``|a| <= 0.01 * max|a|`` of the unit over the held-out rows), and MSE;
- denoising: MSE between the clean held-out rows and the reconstruction of
  corrupted copies (30% of the pixels set to 0; 30% swapped with the same
  pixel of another held-out row; Gaussian noise of std 0.2 clipped to [0, 1]);
- contractive: mean squared Frobenius norm of dz/dx, and MSE;
- variational: held-out ELBO parts per row (reconstruction nll, KL; codes =
  the means) and the MSE of reconstructing from the mean code;
- convolutional: MSE and seconds per epoch on MNIST and COIL-20 against the
  fully connected families.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import load, split  # noqa: E402

from aekit import AutoEncoder  # noqa: E402
from aekit.families.contractive import encoder_jacobian  # noqa: E402
from aekit.families.sparse import near_zero_shares  # noqa: E402

LATENT = 32


def fit(
    X: np.ndarray, model: str, options: dict[str, Any], args: Any, **kw: Any
) -> AutoEncoder:
    t = time.perf_counter()
    ae = AutoEncoder(
        latent_dim=LATENT,
        model=model,
        model_options=options,
        max_epochs=args.epochs,
        patience=None,
        batch_size=128,
        scale=False,
        random_state=0,
        verbose=0,
        dead_units="ignore",
        **kw,
    ).fit(X, evaluate=False)
    ae.wall_ = time.perf_counter() - t  # type: ignore[attr-defined]
    return ae


def mse(ae: AutoEncoder, seen: np.ndarray, target: np.ndarray) -> float:
    return float(((ae.reconstruct(seen) - target) ** 2).mean())


def per_epoch(ae: AutoEncoder) -> float:
    return statistics.median(h["seconds"] for h in ae.history_)


def label(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "–"


def table(header: list[str], rows: list[list[Any]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = [f"{c:.4g}" if isinstance(c, float) else str(c) for c in r]
        print("| " + " | ".join(cells) + " |")
    print()


def data(name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = load(name)
    if name == "mnist":
        perm = np.random.default_rng(0).permutation(len(X))
        return X[np.sort(perm[:2000])], X[np.sort(perm[2000:3000])]
    a, b = split(name, y)
    return X[a], X[b]


def sparse_section(
    X: np.ndarray, H: np.ndarray, plain: dict[str, AutoEncoder], args: Any
) -> None:
    print("### Sparse (MNIST)\n")
    held = torch.from_numpy(H)
    cases = [
        ("pca_anchored", {}),
        ("sparse", {"l1": 1e-3, "beta": 0.0}),
        ("sparse", {"l1": 1e-2, "beta": 0.0}),
        ("sparse", {"l1": 0.0, "beta": 0.1}),
        ("sparse", {"l1": 0.0, "beta": 1.0}),
        ("halving", {}),
        ("sparse", {"base": "halving", "l1": 1e-2, "beta": 0.0}),
        ("sparse", {"base": "halving", "l1": 0.1, "beta": 0.0}),
        ("sparse", {"base": "halving", "l1": 0.0, "beta": 1.0}),
    ]
    rows = []
    for model, opts in cases:
        base = opts.get("base", model if model != "sparse" else "pca_anchored")
        ae = plain[model] if model in plain else fit(X, model, opts, args)
        s = near_zero_shares(ae.module_, held)
        m = mse(ae, H, H)
        ref = mse(plain[base], H, H)
        rows.append([model, label(opts), s["code"], s["hidden"], m, m / ref])
    table(
        [
            "model",
            "options",
            "near-zero code",
            "near-zero hidden",
            "MSE",
            "MSE / plain (same base)",
        ],
        rows,
    )


def corruptions(H: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    hit = rng.random(H.shape) < 0.3
    donors = rng.integers(0, len(H), H.shape)
    swapped = np.where(hit, H[donors, np.arange(H.shape[1])], H)
    gauss = np.clip(H + 0.2 * rng.standard_normal(H.shape), 0, 1)
    return {
        "clean": H,
        "mask 30%": np.where(hit, 0.0, H).astype(np.float32),
        "swap 30%": swapped.astype(np.float32),
        "gaussian 0.2": gauss.astype(np.float32),
    }


def denoising_section(
    X: np.ndarray, H: np.ndarray, plain: dict[str, AutoEncoder], args: Any
) -> None:
    print("### Denoising (MNIST): MSE against the clean held-out rows\n")
    noisy = corruptions(H)
    cases = [
        ("pca_anchored", {}),
        ("denoising", {"noise": "mask", "level": 0.3}),
        ("denoising", {"noise": "swap", "level": 0.3}),
        ("denoising", {"noise": "gaussian", "level": 0.2}),
    ]
    ref = {k: mse(plain["pca_anchored"], v, H) for k, v in noisy.items()}
    rows = []
    for model, opts in cases:
        ae = plain[model] if model in plain else fit(X, model, opts, args)
        row: list[Any] = [model, label(opts)]
        for k, v in noisy.items():
            m = mse(ae, v, H)
            row.append(f"{m:.4g} ({m / ref[k]:.2f})")
        rows.append(row)
    table(["model", "options", *(f"{k} (/ plain)" for k in noisy)], rows)


def contractive_section(
    X: np.ndarray, H: np.ndarray, plain: dict[str, AutoEncoder], args: Any
) -> None:
    print("### Contractive (MNIST)\n")
    held = torch.from_numpy(H)
    cases = [
        ("pca_anchored", {}),
        ("contractive", {"contraction": 1e-4}),
        ("contractive", {"contraction": 1e-3}),
        ("contractive", {"contraction": 1e-2}),
    ]
    rows = []
    ref_j = ref_m = ref_t = 0.0
    for model, opts in cases:
        ae = plain[model] if model in plain else fit(X, model, opts, args)
        with torch.no_grad():
            j = float(encoder_jacobian(ae.module_, held)[1].pow(2).sum((1, 2)).mean())
        m, t = mse(ae, H, H), per_epoch(ae)
        if model == "pca_anchored":
            ref_j, ref_m, ref_t = j, m, t
        rows.append([model, label(opts), j, j / ref_j, m, m / ref_m, t, t / ref_t])
    table(
        [
            "model",
            "options",
            "‖J‖²_F",
            "/ plain",
            "MSE",
            "/ plain",
            "s/epoch",
            "/ plain",
        ],
        rows,
    )


def variational_section(
    X: np.ndarray, H: np.ndarray, plain: dict[str, AutoEncoder], args: Any
) -> None:
    print("### Variational (MNIST): held-out parts per row, codes = the means\n")
    held = torch.from_numpy(H)
    d = H.shape[1]
    rows = []
    for model, opts, loss in [
        ("pca_anchored", {}, "mse"),
        ("halving", {}, "mse"),
        ("variational", {"beta": 1.0, "sigma": 0.1}, "mse"),
        ("variational", {"beta": 4.0, "sigma": 0.1}, "mse"),
        ("variational", {"beta": 1.0}, "bce"),
    ]:
        ae = plain[model] if model in plain else fit(X, model, opts, args, loss=loss)
        m = mse(ae, H, H)
        nll = kl = "–"
        if model == "variational":
            with torch.no_grad():
                _, parts = ae.fitted_.family.objective(
                    ae.module_, held, loss=loss, rng=None
                )
            rec = float(parts["reconstruction"])
            per_row = rec * d / (2 * opts["sigma"] ** 2) if loss == "mse" else rec * d
            nll, kl = f"{per_row:.1f}", f"{float(parts['kl']):.1f}"
        rows.append(
            [model, label(opts), loss, nll, kl, m, m / mse(plain["pca_anchored"], H, H)]
        )
    table(
        [
            "model",
            "options",
            "likelihood (loss)",
            "recon. nll / row",
            "KL / row",
            "MSE",
            "MSE / pca_anchored",
        ],
        rows,
    )
    print(
        "nll: Gaussian (loss=mse, std sigma, constant d/2 log(2 pi sigma^2) left out) "
        "or Bernoulli cross-entropy (loss=bce); negative ELBO = nll + KL.\n"
    )


def convolutional_section(args: Any) -> None:
    print("### Convolutional: MSE and seconds per epoch\n")
    rows = []
    for name in ("mnist", "coil20"):
        X, H = data(name)
        ref = None
        for model in ("pca_anchored", "halving", "convolutional"):
            ae = fit(X, model, {}, args)
            m, t = mse(ae, H, H), per_epoch(ae)
            ref = ref or (m, t)
            rows.append(
                [name, model, ae.fitted_.n_parameters(), m, m / ref[0], t, t / ref[1]]
            )
    table(
        [
            "data",
            "model",
            "parameters",
            "MSE",
            "/ pca_anchored",
            "s/epoch",
            "/ pca_anchored",
        ],
        rows,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument(
        "--only",
        nargs="+",
        default=["sparse", "denoising", "contractive", "variational", "convolutional"],
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    X, H = data("mnist")
    print(
        f"MNIST: {len(X)} rows to fit, {len(H)} held out; latent_dim={LATENT}; "
        f"{args.epochs} epochs of batch 128; torch {torch.__version__}, 1 thread\n"
    )
    t = time.perf_counter()
    plain = {m: fit(X, m, {}, args) for m in ("pca_anchored", "halving")}
    sections = {
        "sparse": sparse_section,
        "denoising": denoising_section,
        "contractive": contractive_section,
        "variational": variational_section,
    }
    for name in args.only:
        if name in sections:
            sections[name](X, H, plain, args)
    if "convolutional" in args.only:
        convolutional_section(args)
    print(f"total {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
