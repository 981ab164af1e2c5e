"""Model folders and training against another aekit's source: bitwise, per family.

For every family, an older aekit (``--old-src``, e.g. a worktree of a release)
trains a small model on scikit-learn's digits with a fixed seed and saves it;
this tree then (1) loads that folder and compares codes, reconstructions and
errors with what the older aekit computed, and (2) trains the same model itself
and compares its outputs with the older one's. Prints one line per family.

    git worktree add /tmp/old-release 19d0bd5
    python benchmarks/compat_release.py --old-src /tmp/old-release/src
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FAMILIES = [
    "halving", "pca_anchored", "sparse", "denoising", "contractive", "variational",
    "convolutional",
]  # fmt: skip

WRITE = """
import sys, warnings, numpy as np
from sklearn.datasets import load_digits
import aekit
warnings.simplefilter("ignore")
X = load_digits().data[:300]
out, families = sys.argv[1], sys.argv[2].split(",")
for fam in families:
    opts = {"image_shape": [8, 8]} if fam == "convolutional" else None
    ae = aekit.AutoEncoder(latent_dim=4, model=fam, model_options=opts, max_epochs=3,
                           random_state=0, verbose=0).fit(X)
    ae.save(f"{out}/{fam}")
    np.savez(f"{out}/{fam}.npz", codes=ae.transform(X), recon=ae.reconstruct(X),
             err=ae.reconstruction_error(X))
"""


def outputs(ae, X):  # noqa: ANN001, ANN201
    return {
        "codes": ae.transform(X),
        "recon": ae.reconstruct(X),
        "err": ae.reconstruction_error(X),
    }


def write(src: str, out: Path) -> None:
    """Train and save every family with the aekit of `src` (a fresh process)."""
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, "-c", WRITE, str(out), ",".join(FAMILIES)]
    subprocess.run(cmd, env=env, check=True)


def main() -> None:
    import numpy as np
    from sklearn.datasets import load_digits

    import aekit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-src", required=True, help="the src/ of another aekit")
    args = parser.parse_args()
    X = load_digits().data[:300]
    with tempfile.TemporaryDirectory() as d:
        old, new = Path(d, "old"), Path(d, "new")
        old.mkdir(), new.mkdir()
        write(args.old_src, old)
        write(str(Path(__file__).resolve().parents[1] / "src"), new)
        print(f"{'family':14s} {'old folder loads bitwise':>25s} {'trains bitwise':>15s}")
        for fam in FAMILIES:
            ref = np.load(old / f"{fam}.npz")
            loaded = outputs(aekit.load(old / fam), X)
            same_load = all(np.array_equal(loaded[k], ref[k]) for k in loaded)
            again = np.load(new / f"{fam}.npz")
            same_fit = all(np.array_equal(again[k], ref[k]) for k in loaded)
            print(f"{fam:14s} {str(same_load):>25s} {str(same_fit):>15s}")


if __name__ == "__main__":
    main()
