"""callbacks=[default,ema]: the moving average of the weights is what gets validated, tested and saved."""

import pytest
import torch
from helpers.runs import QUICK, train_synthetic, train_then_evaluate

from seqmnist.errors import CheckpointError

EMA = ["callbacks=[default,ema]", "callbacks.ema.decay=0.9", "trainer.max_epochs=2"]


def test_the_printed_test_accuracy_is_the_averaged_weights_one_that_eval_recomputes(
    tmp_path, synthetic_mnist
):
    # Lightning's own EMAWeightAveraging fails this: the Trainer tests the raw weights it stores
    # beside the average, while eval.py loads the average
    printed, recomputed, run_dir = train_then_evaluate(tmp_path, synthetic_mnist, *QUICK, *EMA)
    assert recomputed == pytest.approx(printed, abs=1e-6)

    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    average, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert average.keys() == raw.keys()
    assert not all(torch.equal(average[name], raw[name]) for name in average)


def test_resuming_an_averaged_run_without_averaging_is_refused_before_training(
    tmp_path, synthetic_mnist
):
    runs = tmp_path / "logs" / "train" / "runs"
    train_synthetic(runs / "averaged", synthetic_mnist, *EMA)
    last = runs / "averaged" / "checkpoints" / "last.ckpt"
    with pytest.raises(
        CheckpointError, match=r"trained with weight averaging.*callbacks=\[default,ema\]"
    ):
        train_synthetic(
            runs / "plain", synthetic_mnist, "trainer.max_epochs=2", f"ckpt_path={last}"
        )
    assert not (runs / "plain" / "checkpoints").exists()
