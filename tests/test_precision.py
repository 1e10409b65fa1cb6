"""Precision settings: each trains where its kernels exist and is right, else a clear stop."""

import pytest
import torch
from helpers.runs import QUICK, compose_train, run_cli
from torch import nn

from seqmnist.errors import ConfigError
from seqmnist.models.recurrent import RecurrentClassifier
from seqmnist.training import train


def torch_runs_a_bf16_lstm_on_this_cpu() -> bool:
    """Asked of torch directly, not of seqmnist's check, so the tests below can catch that check."""
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            nn.LSTM(2, 2)(torch.zeros(1, 1, 2))
    except RuntimeError:
        return False
    return True


BF16_LSTM = torch_runs_a_bf16_lstm_on_this_cpu()


@pytest.mark.skipif(BF16_LSTM, reason="this CPU has bf16 LSTM kernels")
def test_bf16_lstm_on_a_cpu_without_its_kernels_stops_before_training_naming_the_fix(
    tmp_path, synthetic_mnist
):
    run = [*QUICK, *synthetic_mnist.overrides(), "logger=none", "trainer.precision=bf16-mixed"]
    result = run_cli("train.py", *run, root=tmp_path)
    assert result.returncode == 2
    assert "trainer.precision=bf16-mixed cannot train this network here" in result.stderr
    assert "no bfloat16 kernel" in result.stderr
    assert "Use trainer.precision=32-true" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("logs/train/runs/*/checkpoints/*.ckpt"))


@pytest.mark.skipif(not BF16_LSTM, reason="this CPU has no bf16 LSTM kernels")
def test_bf16_lstm_trains_and_tests_on_a_cpu_with_its_kernels(tmp_path, synthetic_mnist):
    overrides = [*QUICK, *synthetic_mnist.overrides(), "trainer.precision=bf16-mixed"]
    metrics = train(compose_train(tmp_path, *overrides, "+trainer.fast_dev_run=true"))
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_a_gru_trains_with_bf16_mixed_on_any_cpu(tmp_path, synthetic_mnist):
    # autocast leaves GRUs in float32 on CPU, so the check must not refuse them
    overrides = [*QUICK, *synthetic_mnist.overrides(), "model.cell=gru"]
    cfg = compose_train(
        tmp_path, *overrides, "trainer.precision=bf16-mixed", "+trainer.fast_dev_run=true"
    )
    assert 0.0 <= train(cfg)["test/acc"] <= 1.0


def test_true_precision_feeds_the_network_sequences_of_its_own_dtype(tmp_path, synthetic_mnist):
    # Lightning converts a batch's floats before the DataModule turns uint8 images into float32
    # sequences; 64-true is the "-true" precision this CPU runs (16-true/bf16-true take the same path)
    overrides = [*QUICK, *synthetic_mnist.overrides(), "trainer.precision=64-true"]
    cfg = compose_train(tmp_path, *overrides, "+trainer.fast_dev_run=true")
    assert 0.0 <= train(cfg)["test/acc"] <= 1.0


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_bf16_mixed_on_a_gpu_is_refused_for_recurrent_layers_naming_16_mixed(cell):
    # decided from the device type alone, so it is checked here without a GPU
    net = RecurrentClassifier(input_size=28, hidden=8, layers=1, cell=cell)
    with pytest.raises(ConfigError, match=r"Use trainer\.precision=16-mixed"):
        net.ensure_precision_runs("bf16-mixed", "cuda")


def test_16_mixed_on_a_gpu_is_accepted():
    net = RecurrentClassifier(input_size=28, hidden=8, layers=1)
    net.ensure_precision_runs("16-mixed", "cuda")
