"""Fixtures, and the process setup every test needs: the configs' resolvers, as the scripts do."""

from pathlib import Path

import pytest
from helpers.synthetic import SyntheticMNIST, write_synthetic_mnist

from seqmnist.config.resolvers import register_resolvers

register_resolvers()


@pytest.fixture
def synthetic_mnist(tmp_path: Path) -> SyntheticMNIST:
    return write_synthetic_mnist(tmp_path / "data")
