"""Claims about real MNIST, on the real files (fetched once into the repository's data folder)."""

import pytest
from conftest import REAL_DATA_DIR, run_cli
from test_training import printed_metric

from seqmnist.data.checksums import MNIST_MD5, md5_of
from seqmnist.data.datamodule import MNISTDataModule
from seqmnist.data.sources import prepare_mnist, raw_folder

pytestmark = pytest.mark.slow


def test_prepared_files_are_the_official_mnist_files():
    prepare_mnist(REAL_DATA_DIR)
    for name, md5 in MNIST_MD5.items():
        assert md5_of(raw_folder(REAL_DATA_DIR) / name) == md5


def test_default_split_is_55k_train_5k_val_and_the_official_10k_test():
    datamodule = MNISTDataModule(data_dir=str(REAL_DATA_DIR))
    datamodule.prepare_data()
    datamodule.setup()
    assert (len(datamodule.data_train), len(datamodule.data_val), len(datamodule.data_test)) == (
        55_000,
        5_000,
        10_000,
    )


def test_one_epoch_of_the_default_recipe_reaches_95_percent_on_the_full_test_set(tmp_path):
    result = run_cli(
        "train.py",
        "trainer=cpu",
        "trainer.max_epochs=1",
        f"paths.data_dir={REAL_DATA_DIR}",
        "logger=none",
        root=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert printed_metric(result.stdout, "test/acc") >= 0.95
