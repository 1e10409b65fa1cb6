"""The title of the final metrics says which test images the accuracy is out of."""

import pytest
import torch
from lightning.pytorch import Trainer

from seqmnist.records import report


def title_after_testing(images: int, **trainer_settings) -> str:
    trainer = Trainer(logger=False, enable_progress_bar=False, **trainer_settings)
    trainer.callback_metrics["test/images"] = torch.tensor(float(images))
    return report.tested_on(trainer, "MNIST")


def test_the_whole_test_set_is_named_the_official_test_set():
    assert title_after_testing(10_000) == "test = the full official MNIST test set, 10,000 images"


@pytest.mark.parametrize("limit", [1, 0.5])
def test_a_limited_test_names_the_limit(limit):
    assert title_after_testing(500, limit_test_batches=limit) == (
        f"test = 500 images of the official MNIST test set, "
        f"cut by trainer.limit_test_batches={limit}"
    )


def test_a_fast_dev_run_names_fast_dev_run_not_the_limit_it_sets():
    assert title_after_testing(25, fast_dev_run=True) == (
        "test = 25 images of the official MNIST test set, cut by trainer.fast_dev_run=True"
    )
