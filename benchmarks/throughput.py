"""Training throughput, measured in one run on this machine: `python benchmarks/throughput.py`.

Prints and writes (benchmarks/results/throughput.md and .png):
  (a) samples/s of the tutorial model (2x100 LSTM, batch 64, fp32) fed by the tutorial's pipeline
      (torchvision transforms per image + DataLoader) versus this project's in-memory batches;
  (c) the default model's achieved FLOP/s versus a matmul peak measured in the same run;
  (d) time per epoch against hidden size (rows, 28 steps) and against sequence length (28 rows vs
      784 pixels), extrapolated from timed steps;
  (e) a training step of each family (LSTM, GRU, tanh RNN, S4D, LMU) on rows, which
      `trainer.precision=auto` relies on when it picks bf16-mixed for every network.
(c), (d) and (e) are measured in float32 and, where the CPU computes bfloat16 (AMX-BF16, AVX512-BF16),
under bf16 autocast too. The report names the CPU; rerun for your hardware.
Not a test: nothing here asserts, it only measures.
"""

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from common import machine_line, precisions_here, publish
from lightning.pytorch.utilities import measure_flops
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import MNIST

from seqmnist.data import MNISTDataModule
from seqmnist.machine import keep_freed_memory_in_process
from seqmnist.models import LMUClassifier, RecurrentClassifier, S4DClassifier
from seqmnist.models.flops import register_flop_formulas

TRAIN_IMAGES = 55_000
Batch = tuple[Tensor, Tensor]


def tutorial_batches(data_dir: Path, batch_size: int) -> Iterator[Batch]:
    """The PyTorch tutorial's pipeline: PIL image -> ToTensor -> Normalize per image, then collate."""
    dataset = MNIST(
        str(data_dir),
        train=True,
        transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]),
    )
    for images, labels in DataLoader(dataset, batch_size=batch_size, shuffle=True):
        yield (
            images.view(-1, 28, 28).permute(1, 0, 2),
            labels,
        )  # rows as time steps, batch of one kept


def project_batches(data_dir: Path, batch_size: int) -> Iterator[Batch]:
    datamodule = MNISTDataModule(data_dir=str(data_dir), batch_size=batch_size, mean=0.5, std=0.5)
    datamodule.prepare_data()
    datamodule.setup()
    for batch in datamodule.train_dataloader():
        yield datamodule.on_after_batch_transfer(batch, 0)


def samples_per_second(
    net: nn.Module,
    batches: Iterator[Batch],
    steps: int,
    warmup: int = 5,
    precision: str = "32-true",
) -> float:
    """Full training steps (data, forward, backward, optimizer) per second, times the batch size;
    `bf16-mixed` runs forward and loss under CPU autocast, as Lightning does."""
    optimizer = torch.optim.Adadelta(net.parameters(), lr=0.1)
    seen, started = 0, 0.0
    for step in range(warmup + steps):
        if step == warmup:
            seen, started = 0, time.perf_counter()
        sequence, labels = next(batches)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            loss = nn.functional.cross_entropy(net(sequence), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += labels.numel()
    return seen / (time.perf_counter() - started)


def synthetic_batches(steps: int, batch_size: int, features: int) -> Callable[[], Iterator[Batch]]:
    def batches() -> Iterator[Batch]:
        sequence = torch.randn(steps, batch_size, features)
        labels = torch.randint(0, 10, (batch_size,))
        while True:
            yield sequence, labels

    return batches


def training_flops_per_sample(net: nn.Module, steps: int, features: int) -> float:
    """Matrix-product FLOPs of one image's forward pass, as torch counts them (seqmnist registers
    the fused LSTM kernels' formulas), times 3: a backward pass costs about twice the forward."""
    sequence = torch.zeros(steps, 1, features)
    register_flop_formulas()
    return 3.0 * measure_flops(net, lambda: net(sequence))


def matmul_peak_flops(size: int = 2048, repeats: int = 10, precision: str = "32-true") -> float:
    dtype = torch.bfloat16 if precision == "bf16-mixed" else torch.float32
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[1] / "data"
    )
    parser.add_argument("--steps", type=int, default=60, help="timed steps per measurement")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    arguments = parser.parse_args()
    keep_freed_memory_in_process()
    torch.manual_seed(0)
    precisions = precisions_here()
    lines = [f"# Throughput ({machine_line()})", ""]

    tutorial = samples_per_second(
        RecurrentClassifier(hidden=100), tutorial_batches(arguments.data_dir, 64), arguments.steps
    )
    ours = samples_per_second(
        RecurrentClassifier(hidden=100), project_batches(arguments.data_dir, 64), arguments.steps
    )
    lines += [
        "## (a) Tutorial model (2x100 LSTM, batch 64, fp32)",
        "",
        "| pipeline | samples/s |",
        "|---|---|",
        f"| tutorial: per-image transforms + DataLoader | {tutorial:,.0f} |",
        f"| seqmnist: in-memory batches, batch-wise normalisation | {ours:,.0f} |",
        f"| ratio | {ours / tutorial:.2f}x |",
        "",
    ]

    lines += [
        "## (c) Default model (2x128, batch 128): FLOP/s",
        "",
        "| precision | matmul peak (2048x2048) | default model training | share of the peak |",
        "|---|---|---|---|",
    ]
    flops_per_sample = training_flops_per_sample(RecurrentClassifier(hidden=128), 28, 28)
    for precision in precisions:
        peak = matmul_peak_flops(precision=precision)
        rate = samples_per_second(
            RecurrentClassifier(hidden=128),
            synthetic_batches(28, 128, 28)(),
            arguments.steps,
            precision=precision,
        )
        achieved = rate * flops_per_sample
        lines.append(
            f"| {precision} | {peak / 1e9:.1f} GFLOP/s | {rate:,.0f} samples/s = "
            f"{achieved / 1e9:.1f} GFLOP/s | {100 * achieved / peak:.0f}% |"
        )
    lines.append("")

    hidden_sizes = (64, 128, 256, 512)
    epoch_by_hidden: dict[str, list[float]] = {precision: [] for precision in precisions}
    pixel_epoch: dict[str, float] = {}
    for hidden in hidden_sizes:
        for precision in precisions:  # interleaved, so drift hits both alike
            rate = samples_per_second(
                RecurrentClassifier(hidden=hidden),
                synthetic_batches(28, 128, 28)(),
                max(10, arguments.steps // 4),
                warmup=2,
                precision=precision,
            )
            epoch_by_hidden[precision].append(TRAIN_IMAGES / rate)
    for precision in precisions:
        pixel_rate = samples_per_second(
            RecurrentClassifier(input_size=1, hidden=128),
            synthetic_batches(784, 128, 1)(),
            4,
            warmup=1,
            precision=precision,
        )
        pixel_epoch[precision] = TRAIN_IMAGES / pixel_rate
    lines += [
        "## (d) Time per epoch (55,000 images, batch 128, extrapolated from timed steps)",
        "",
        "| model | sequence | " + " | ".join(f"s/epoch {p}" for p in precisions) + " |",
        "|---|---|" + "---|" * len(precisions),
    ]
    lines += [
        f"| 2x{h} | 28 rows x 28 | "
        + " | ".join(f"{epoch_by_hidden[p][i]:.1f}" for p in precisions)
        + " |"
        for i, h in enumerate(hidden_sizes)
    ]
    lines += [
        "| 2x128 | 784 pixels x 1 | "
        + " | ".join(f"{pixel_epoch[p]:.1f}" for p in precisions)
        + " |",
        "",
    ]

    families = {
        "2x128 LSTM": lambda: RecurrentClassifier(hidden=128),
        "2x128 GRU": lambda: RecurrentClassifier(hidden=128, cell="gru"),
        "2x128 tanh RNN": lambda: RecurrentClassifier(hidden=128, cell="rnn"),
        "S4D 4x128, state 64": lambda: S4DClassifier(input_size=28),
        "LMU order 256": lambda: LMUClassifier(input_size=28, theta=28.0),
    }
    step_ms: dict[str, dict[str, list[float]]] = {
        name: {p: [] for p in precisions} for name in families
    }
    for _ in range(2):  # two rounds, each family's precisions back to back
        for name, build in families.items():
            for precision in precisions:
                torch.manual_seed(0)
                rate = samples_per_second(
                    build(), synthetic_batches(28, 128, 28)(), max(10, arguments.steps // 4),
                    warmup=3, precision=precision,
                )  # fmt: skip
                step_ms[name][precision].append(1000 * 128 / rate)
    lines += [
        "## (e) A training step of each family (28 rows x 28, batch 128), median of two rounds",
        "",
        "| network | "
        + " | ".join(f"ms/step {p}" for p in precisions)
        + (" | bf16 speed-up |" if len(precisions) > 1 else " |"),
        "|---|" + "---|" * (len(precisions) + (len(precisions) > 1)),
    ]
    for name, times in step_ms.items():
        medians = [statistics.median(times[p]) for p in precisions]
        ratio = f" {medians[0] / medians[1]:.2f}x |" if len(medians) > 1 else ""
        lines.append(f"| {name} | " + " | ".join(f"{m:.1f}" for m in medians) + f" |{ratio}")
    lines.append("")

    publish("\n".join(lines), arguments.out / "throughput.md")
    figure, axis = plt.subplots(figsize=(5, 3.5))
    for precision in precisions:
        axis.plot(hidden_sizes, epoch_by_hidden[precision], marker="o", label=precision)
    axis.legend()
    axis.set_xscale("log", base=2)
    axis.set_xlabel("hidden size (2 layers, 28 rows)")
    axis.set_ylabel("seconds per epoch")
    axis.set_title("Time per epoch against hidden size")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(arguments.out / "throughput.png", dpi=100)


if __name__ == "__main__":
    main()
