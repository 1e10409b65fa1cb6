"""What the benchmark scripts share: training through the real configs with the test accuracy
timed, their command-line options, and where their reports go."""

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.pytorch import Callback, LightningModule, Trainer, seed_everything

from seqmnist.config.build import build_module, settle_precision
from seqmnist.config.resolvers import register_resolvers
from seqmnist.data import MNISTDataModule
from seqmnist.machine import hardware

REPO = Path(__file__).resolve().parents[1]
C = TypeVar("C", bound=Callback)


class TestAccuracyTimeline(Callback):
    """Training seconds (evaluation excluded) and full-test-set accuracy every `every` steps and at
    every epoch end."""

    def __init__(self, datamodule: MNISTDataModule, every: int | None) -> None:
        self.datamodule = datamodule
        self.every = every
        self.points: list[tuple[float, float]] = []
        self.training_seconds = 0.0
        self.resumed_at = 0.0

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.resumed_at = time.perf_counter()

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *_: object) -> None:
        if self.every and trainer.global_step % self.every == 0:
            self._measure(pl_module)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._measure(pl_module)

    def _measure(self, pl_module: LightningModule) -> None:
        self.training_seconds += time.perf_counter() - self.resumed_at
        test = self.datamodule.data_test
        was_training = pl_module.training
        pl_module.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, len(test), 1000):
                images, labels = (
                    test.images[start : start + 1000],
                    test.labels[start : start + 1000],
                )
                logits = pl_module(self.datamodule.sequence_view(images))
                correct += int((logits.argmax(dim=-1) == labels).sum())
        pl_module.train(was_training)
        self.points.append((self.training_seconds, correct / len(test)))
        self.resumed_at = time.perf_counter()


def timeline(data_dir: Path, every: int | None, *overrides: str) -> list[tuple[float, float]]:
    recorder = fit(data_dir, lambda datamodule: TestAccuracyTimeline(datamodule, every), *overrides)
    return recorder.points


def fit(data_dir: Path, recorder_of: Callable[[MNISTDataModule], C], *overrides: str) -> C:
    """Train a recipe (configs + overrides) with one recording callback, writing nothing; return it."""
    register_resolvers()
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        # no run folder: nothing is written (no logger, no checkpoints)
        fixed = [f"paths.data_dir={data_dir}", f"paths.output_dir={tempfile.gettempdir()}"]
        cfg = compose("train", overrides=[*fixed, *overrides])
    seed_everything(cfg.seed, workers=True)
    datamodule: MNISTDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup()
    recorder = recorder_of(datamodule)
    module = build_module(cfg)
    settle_precision(cfg, module.net)
    trainer: Trainer = instantiate(
        cfg.trainer,
        callbacks=[recorder],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="cpu",
    )
    trainer.fit(module, datamodule=datamodule)
    return recorder


def training_benchmark_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark that trains through `timeline` takes: where data and results go."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Hydra override applied to every recipe, e.g. a short smoke run: "
        "--override trainer.max_epochs=1 --override +trainer.limit_train_batches=3",
    )
    return parser


def machine_line() -> str:
    """What every report names: the CPU and its instruction sets, the GPU, threads, torch."""
    facts = hardware()
    gpu = f"GPU {facts.gpu}" if facts.gpu else "no GPU"
    return (
        f"CPU {facts.describe_cpu()}, {gpu}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )


def precisions_here() -> tuple[str, ...]:
    """float32, and bfloat16 too where this CPU computes it (the same detection
    `trainer.precision=auto` uses), so reports compare both in one run."""
    return ("32-true", "bf16-mixed") if hardware().cpu_bf16 else ("32-true",)


def publish(report: str, path: Path) -> None:
    """Print a Markdown report and write it to `path` (benchmarks/results/ by default)."""
    print(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report if report.endswith("\n") else report + "\n")
