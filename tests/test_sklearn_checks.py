"""scikit-learn's own estimator checks, on a small and fast configuration."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import AutoEncoder

# Checks that cannot pass by design, each with its reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


def _small() -> AutoEncoder:
    # latent_dim=1 keeps the network undercomplete for every check data set
    # (the smallest has 2 features; 1-feature data is refused, as it must be)
    return AutoEncoder(
        latent_dim=1,
        max_epochs=2,
        batch_size=64,
        random_state=0,
        verbose=0,
        dead_units="ignore",
    )


@parametrize_with_checks(
    [_small()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
