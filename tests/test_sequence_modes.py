"""Every sequence mode, cell and dataset trains end to end with each of the others; a permuted run's pixel order travels
with its checkpoint to eval and predict."""

import pytest
import torch
from helpers.runs import QUICK, compose_train, train_then_evaluate
from helpers.synthetic import write_synthetic_mnist
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqmnist.config.build import load_trained
from seqmnist.data.datamodule import sequence_view_of
from seqmnist.data.datasets import DATASETS
from seqmnist.data.sequence import pixel_permutation
from seqmnist.records.checkpoints import PIXEL_ORDER_KEY
from seqmnist.training import train

MODES = ("rows", "columns", "pixels", "permuted")
CELLS = ("lstm", "gru", "rnn")


# every mode with every cell, every mode with every dataset and every cell with every dataset
# (a Latin square: 12 runs instead of all 36 combinations; the dataset only changes which
# torchvision class reads the files, the mode and cell decide the network's shapes)
PAIRWISE = [
    (list(DATASETS)[(m + c) % len(DATASETS)], mode, cell)
    for m, mode in enumerate(MODES)
    for c, cell in enumerate(CELLS)
]


@pytest.mark.parametrize(("dataset", "mode", "cell"), PAIRWISE)
def test_every_dataset_mode_and_cell_fits_and_tests(tmp_path, dataset, mode, cell):
    data = write_synthetic_mnist(tmp_path / "data", dataset=DATASETS[dataset])
    cfg = compose_train(
        tmp_path,
        *QUICK,
        f"data={dataset}",
        *data.overrides(),
        f"data.sequence={mode}",
        f"model.cell={cell}",
        "model.hidden=8",
        "+trainer.fast_dev_run=true",
    )
    assert cfg.model.input_size == (28 if mode in ("rows", "columns") else 1)
    assert 0.0 <= train(cfg)["test/acc"] <= 1.0


@pytest.mark.parametrize(("mode", "step"), [("columns", "column"), ("pixels", "pixel")])
def test_the_reading_figure_is_named_after_what_a_step_is(tmp_path, synthetic_mnist, mode, step):
    cfg = compose_train(
        tmp_path,
        *QUICK,
        *synthetic_mnist.overrides(),
        f"data.sequence={mode}",
        "model.hidden=8",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=1",
    )
    train(cfg)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert f"test/reading_{step}_by_{step}" in events.Tags()["images"]


@pytest.mark.parametrize(
    "overrides",
    [
        ["model.bidirectional=true"],
        ["model.readout=mean"],
        ["model.bidirectional=true", "model.readout=mean", "data.sequence=pixels"],
        ["data.augmentation={degrees: 10, translate: 2, scale: 0.1}", "data.sequence=columns"],
    ],
)
def test_bidirectional_mean_readout_and_augmentation_fit_and_test(
    tmp_path, synthetic_mnist, overrides
):
    cfg = compose_train(
        tmp_path, *QUICK, *synthetic_mnist.overrides(), *overrides, "+trainer.fast_dev_run=true"
    )
    assert 0.0 <= train(cfg)["test/acc"] <= 1.0


def test_permuted_pixel_order_is_the_same_after_reloading_the_checkpoint(tmp_path, synthetic_mnist):
    printed, recomputed, run_dir = train_then_evaluate(
        tmp_path,
        synthetic_mnist,
        *QUICK,
        "logger=none",
        "trainer.max_epochs=2",
        "data.sequence=permuted",
        "data.permutation_seed=11",
        "model.hidden=8",
    )
    assert recomputed == pytest.approx(printed, abs=1e-6)
    checkpoint_path = next((run_dir / "checkpoints").glob("epoch_*.ckpt"))
    checkpoint = torch.load(checkpoint_path, weights_only=True)
    stored = checkpoint[PIXEL_ORDER_KEY]
    assert torch.equal(stored, pixel_permutation(11))
    view = load_trained(checkpoint_path).view
    assert torch.equal(view.permutation, stored)


DATA_CFG = {"sequence": "permuted", "mean": 0.0, "std": 1.0, "permutation_seed": 0}


def test_a_stored_permutation_wins_over_the_seed_in_the_config():
    # a checkpoint made where torch drew another order (another version) must keep reading its own
    stored = torch.arange(784).flip(0)
    view = sequence_view_of(DATA_CFG, {PIXEL_ORDER_KEY: stored})
    assert torch.equal(view.permutation, stored)


@pytest.mark.parametrize("datamodule_entry", ["MNISTDataModule", "MyRenamedDataModule"])
def test_a_checkpoint_from_before_the_pixel_order_key_keeps_its_order(datamodule_entry):
    # it stored the order in the DataModule's state, under the DataModule's class name
    stored = torch.arange(784).roll(5)
    view = sequence_view_of(DATA_CFG, {datamodule_entry: {"pixel_permutation": stored}})
    assert torch.equal(view.permutation, stored)
