"""callbacks=[default,ema]: the moving average of the weights is what gets validated, tested and saved."""

import pytest
import torch
from helpers.runs import QUICK, train_synthetic, train_then_evaluate
from torch import nn
from torch.optim.swa_utils import AveragedModel

from seqmnist.callbacks import AveragedWeights
from seqmnist.callbacks.weight_averaging import debiased_ema
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


def test_the_average_weighs_each_step_by_its_age_whatever_the_run_length():
    # a short run (fewer steps than 1 / (1 - decay)) gets nearly the plain mean of its steps,
    # not a mixture dominated by the first step's weights
    net = nn.Linear(1, 1, bias=False)
    average = AveragedModel(net, multi_avg_fn=debiased_ema(0.999))
    values = [0.0, *range(1, 11)]
    for value in values:
        net.weight.data.fill_(value)
        average.update_parameters(net)
    ages = torch.arange(len(values) - 1, -1, -1, dtype=torch.float64)
    expected = (0.999**ages * torch.tensor(values, dtype=torch.float64)).sum() / (0.999**ages).sum()
    assert average.module.weight.item() == pytest.approx(expected.item(), rel=1e-5)
    assert expected.item() == pytest.approx(sum(values) / len(values), rel=0.01)


def test_a_decay_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="decay must be between 0 and 1"):
        AveragedWeights(decay=1.0)
