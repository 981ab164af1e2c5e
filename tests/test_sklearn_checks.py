"""scikit-learn's own estimator checks, for each family, over several seeds."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import AutoEncoder

SEEDS = (0, 1, 2)

# Checks that cannot pass by design, per family, each with its reason.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "halving": {
        "check_methods_sample_order_invariance": (
            "the sigmoid output is computed by vectorised kernels that take "
            "another code path for the last partial vector of a batch, so a "
            "row's reconstruction (and score_samples) can differ by 1-2 float32 "
            "ulps with its position among the rows (codes do not); the "
            "pca_anchored family has a linear output and passes this check"
        ),
    },
    "pca_anchored": {},
    "sparse": {},
    "denoising": {},
    "contractive": {},
    "variational": {},
    "convolutional": {},
}


def _small(model: str, seed: int) -> AutoEncoder:
    # latent_dim=1 keeps the network undercomplete for every check data set
    # (the smallest has 2 features; 1-feature data is refused, as it must be)
    return AutoEncoder(
        latent_dim=1,
        model=model,
        max_epochs=2,
        batch_size=64,
        random_state=seed,
        verbose=0,
        dead_units="ignore",
    )


# the variants share the estimator's code paths with the base families: one
# seed each keeps the suite fast
VARIANTS = ("sparse", "denoising", "contractive", "variational", "convolutional")
ESTIMATORS = [
    _small(model, seed)
    for model in EXPECTED_FAILED_CHECKS
    for seed in (SEEDS[:1] if model in VARIANTS else SEEDS)
]


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS[est.model]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("seed", range(8))
def test_pca_anchored_row_results_do_not_depend_on_row_order(seed):
    # to float32 rounding, not bitwise: on CPUs with AVX-512 the matrix
    # products block rows, so a row's sums can take another order with its
    # position among the rows (seen: 1 ulp, 5e-7 relative, on an Intel Xeon;
    # bitwise equal on an AMD Zen 3)
    import numpy as np

    X = np.random.default_rng(seed).random((37, 5))
    ae = _small("pca_anchored", seed).fit(X)
    idx = np.random.default_rng(seed + 100).permutation(len(X))
    for method in (ae.transform, ae.reconstruct, ae.score_samples):
        a, b = method(X)[idx], method(X[idx])
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6 * np.abs(a).max())
