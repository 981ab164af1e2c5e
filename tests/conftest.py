import numpy as np
import pytest
import torch

# tiny networks gain nothing from threads, and spinning threads stall under load
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits scaled to [0, 1]: (1797, 64) float32."""
    from sklearn.datasets import load_digits

    return (load_digits().data / 16.0).astype(np.float32)
