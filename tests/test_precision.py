"""Precision settings: each trains where its kernels exist and is right, else a clear stop."""

import pytest
import torch
from helpers.runs import QUICK, compose_train, only_run, result_of, run_cli
from torch import nn

from seqmnist.config.build import build_run
from seqmnist.config.precision import choose_precision
from seqmnist.errors import ConfigError
from seqmnist.machine import Hardware, hardware
from seqmnist.models import S4DClassifier
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
    # torch has no fused bf16 GRU kernel on CPU (its products run in bf16 under autocast): the
    # check must not refuse it on a CPU without bf16 instructions
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


def facts(cpu_flags=(), gpu=None, gpu_bf16=False) -> Hardware:
    return Hardware("a CPU", tuple(cpu_flags), "AVX2", gpu, gpu_bf16, None)


LSTM = RecurrentClassifier(input_size=28, hidden=8, layers=1)


@pytest.mark.parametrize(
    ("hardware_facts", "device", "net", "chosen"),
    [
        (
            facts(["avx2", "avx512f", "avx512_bf16"]),
            "cpu",
            LSTM,
            "bf16-mixed" if BF16_LSTM else "32-true",
        ),
        (
            facts(["avx2", "amx_tile", "amx_bf16"]),
            "cpu",
            LSTM,
            "bf16-mixed" if BF16_LSTM else "32-true",
        ),
        (facts(["avx2", "fma"]), "cpu", LSTM, "32-true"),
        # a GRU runs in bf16 on such a CPU, but validated lower: auto leaves it in float32
        (facts(["avx512_bf16"]), "cpu", RecurrentClassifier(28, 8, 1, cell="gru"), "32-true"),
        (facts(gpu="A100", gpu_bf16=True), "cuda", LSTM, "16-mixed"),
        (facts(gpu="A100", gpu_bf16=True), "cuda", S4DClassifier(1, 8, 4, 1), "bf16-mixed"),
        (facts(gpu="T4", gpu_bf16=False), "cuda", LSTM, "32-true"),
    ],
    ids=["avx512-bf16", "amx", "avx2-only", "gru", "cuda-lstm", "cuda-s4d", "cuda-no-bf16"],
)
def test_auto_precision_follows_the_hardware_and_the_network(hardware_facts, device, net, chosen):
    precision, reason = choose_precision(net, device, hardware_facts)
    assert precision == chosen and reason


def test_auto_precision_on_this_machine_is_what_its_cpu_implies(tmp_path, synthetic_mnist):
    cfg = compose_train(tmp_path, *QUICK, *synthetic_mnist.overrides(), "logger=none")
    assert cfg.trainer.precision == "auto"
    build_run(cfg)
    expected = "bf16-mixed" if hardware().cpu_bf16 and BF16_LSTM else "32-true"
    assert cfg.trainer.precision == expected
    assert cfg.precision_choice.startswith(f"{expected}: ")
    assert hardware().describe_cpu().split(" (")[0] in cfg.precision_choice


def test_an_explicit_precision_wins_over_the_hardware(tmp_path, synthetic_mnist):
    overrides = [*QUICK, *synthetic_mnist.overrides(), "logger=none", "trainer.precision=32-true"]
    cfg = compose_train(tmp_path, *overrides)
    build_run(cfg)
    assert cfg.trainer.precision == "32-true"
    assert cfg.precision_choice == "32-true: set by trainer.precision"


def test_every_run_records_its_seed_precision_stack_and_hardware(tmp_path, synthetic_mnist):
    result = run_cli(
        "train.py", *QUICK, *synthetic_mnist.overrides(), "logger=none", "trainer.max_epochs=1",
        root=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    record = result_of(only_run(tmp_path))
    assert record["seed"] == 42  # train.yaml's, not overridden
    assert record["precision"] in ("bf16-mixed", "32-true")
    assert record["precision_choice"].startswith(record["precision"])
    assert set(record["stack"]) >= {"python", "torch", "torchvision", "lightning", "numpy"}
    assert record["stack"]["torch"] == torch.__version__.split("+")[0]
    assert record["hardware"]["cpu"] == hardware().cpu
    assert record["hardware"]["cpu_flags"] == list(hardware().cpu_flags)
