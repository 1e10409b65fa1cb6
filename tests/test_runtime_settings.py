"""Process-level settings a run makes before it touches the network."""

import warnings
from types import SimpleNamespace

import pytest
import torch
from helpers.runs import QUICK, compose_train
from lightning.pytorch.trainer.connectors import data_connector
from torch.utils.data import DataLoader

from seqmnist.errors import ConfigError
from seqmnist.machine import set_float32_precision, silence_dataloader_worker_hint
from seqmnist.training import train


@pytest.fixture
def restores_float32_precision():
    yield
    set_float32_precision("highest")


def test_float32_precision_high_allows_tf32_in_matrix_products_and_cudnn(
    tmp_path, synthetic_mnist, restores_float32_precision
):
    overrides = [*QUICK, *synthetic_mnist.overrides(), "logger=none", "float32_precision=high"]
    train(compose_train(tmp_path, *overrides, "+trainer.fast_dev_run=true"))
    assert torch.get_float32_matmul_precision() == "high"
    assert torch.backends.cudnn.allow_tf32


def test_float32_precision_highest_is_the_default_and_forbids_tf32_in_cudnn_too(tmp_path):
    assert compose_train(tmp_path).float32_precision == "highest"
    set_float32_precision("highest")
    assert torch.get_float32_matmul_precision() == "highest"
    assert not torch.backends.cudnn.allow_tf32


def test_an_unknown_float32_precision_names_the_choices():
    with pytest.raises(ConfigError, match="Use highest"):
        set_float32_precision("tf32")


def test_lightning_does_not_ask_for_workers_on_loaders_of_in_memory_tensors(monkeypatch):
    # Lightning only asks on machines with more than two cores per device: pretend to be one
    monkeypatch.setattr(data_connector, "suggested_max_num_workers", lambda devices: 8)
    loader = DataLoader(list(range(4)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data_connector._worker_check(
            trainer=SimpleNamespace(num_devices=1), dataloader=loader, name="test_dataloader"
        )
        asked = [w for w in caught if "does not have many workers" in str(w.message)]
        silence_dataloader_worker_hint()
        data_connector._worker_check(
            trainer=SimpleNamespace(num_devices=1), dataloader=loader, name="val_dataloader"
        )
    assert len(asked) == 1  # Lightning asks without the filter: the pretence works
    assert [w for w in caught if "does not have many workers" in str(w.message)] == asked
