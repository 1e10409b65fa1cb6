"""Fixtures, and the process setup every test needs: the configs' resolvers, as the scripts do."""

import os
from pathlib import Path

import pytest
import torch
from helpers.runs import REAL_DATA_DIR
from helpers.synthetic import SyntheticMNIST, write_synthetic_mnist

from seqmnist.config.resolvers import register_resolvers
from seqmnist.data.sources import prepare_dataset
from seqmnist.machine import available_cores

register_resolvers()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, give each worker its share of the cores, as local_parallel does for jobs.

    Every torch process starts one thread per core, so two workers would run twice as many
    threads as cores and train ~2.6x slower together. OMP_NUM_THREADS is inherited by the runs the
    tests start with `python train.py ...`, so their default thread count is the worker's share.
    """
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        share = max(1, available_cores() // int(workers))
        os.environ["OMP_NUM_THREADS"] = str(share)
        torch.set_num_threads(share)


@pytest.fixture(scope="module")
def real_mnist() -> None:
    """The official files in the repository's data folder (fetched once, then verified)."""
    prepare_dataset(REAL_DATA_DIR)


@pytest.fixture
def synthetic_mnist(tmp_path: Path) -> SyntheticMNIST:
    return write_synthetic_mnist(tmp_path / "data")
