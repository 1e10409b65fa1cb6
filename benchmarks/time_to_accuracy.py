"""Time to accuracy, measured in one run on this machine: `python benchmarks/time_to_accuracy.py`.

Trains the PyTorch tutorial's recipe (`experiment=torch_tutorial`) and the default recipe with the
real configs, DataModule and LightningModule, and measures accuracy on the full official 10k test
set at fixed points of training (evaluation time is excluded from the clock). Prints and writes
benchmarks/results/time_to_accuracy.md and .png:
  (b) training seconds for the default recipe to reach the accuracy the tutorial recipe ends with,
      versus the tutorial recipe's own training time, as a ratio; and its time to 98% and 99%.
Times are those of the first measuring point at or above the target, so they are upper bounds
with the granularity of --every (default recipe) and one epoch (tutorial recipe).
Not a test: nothing here asserts, it only measures. Takes about 8 minutes on 2 CPU cores.
"""

import argparse
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.pytorch import Callback, LightningModule, Trainer, seed_everything

from seqmnist.data import MNISTDataModule
from seqmnist.instantiate import build_module
from seqmnist.runtime import keep_freed_memory_in_process

REPO = Path(__file__).resolve().parents[1]


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
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        # no run folder: nothing is written (no logger, no checkpoints)
        fixed = [f"paths.data_dir={data_dir}", f"paths.output_dir={tempfile.gettempdir()}"]
        cfg = compose("train", overrides=[*fixed, *overrides])
    seed_everything(cfg.seed, workers=True)
    datamodule: MNISTDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup()
    recorder = TestAccuracyTimeline(datamodule, every)
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
    trainer.fit(build_module(cfg), datamodule=datamodule)
    return recorder.points


def first_time_at(points: list[tuple[float, float]], accuracy: float) -> float | None:
    return next((seconds for seconds, reached in points if reached >= accuracy), None)


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


def main() -> None:
    parser = training_benchmark_parser(__doc__)
    parser.add_argument(
        "--every", type=int, default=100, help="default recipe: steps between tests"
    )
    arguments = parser.parse_args()
    keep_freed_memory_in_process()

    tutorial = timeline(arguments.data_dir, None, "experiment=torch_tutorial", *arguments.override)
    default = timeline(arguments.data_dir, arguments.every, *arguments.override)
    tutorial_seconds, tutorial_final = tutorial[-1]

    def described(accuracy: float) -> str:
        seconds = first_time_at(default, accuracy)
        return "not reached" if seconds is None else f"{seconds:.1f} s"

    reached = first_time_at(default, tutorial_final)
    ratio = f"1/{tutorial_seconds / reached:.1f}" if reached else "not reached"
    lines = [
        f"# Time to accuracy on this machine ({torch.get_num_threads()} threads, torch "
        f"{torch.__version__}; full 10k test set, training time without evaluation)",
        "",
        "| recipe | measured | value |",
        "|---|---|---|",
        f"| tutorial (`experiment=torch_tutorial`, 10 epochs) | final test accuracy | {100 * tutorial_final:.2f} % |",
        f"| tutorial | its training time | {tutorial_seconds:.1f} s |",
        f"| default (`python train.py`) | time to the tutorial's final accuracy | {described(tutorial_final)} |",
        f"| | ratio to the tutorial's time | {ratio} |",
        f"| default | time to 98 % | {described(0.98)} |",
        f"| default | time to 99 % | {described(0.99)} |",
        f"| default | final test accuracy, training time | {100 * default[-1][1]:.2f} %, {default[-1][0]:.1f} s |",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "time_to_accuracy.md").write_text(report)

    figure, axis = plt.subplots(figsize=(7, 4))
    for name, points in (("tutorial recipe", tutorial), ("default recipe", default)):
        axis.plot(*zip(*points, strict=True), marker=".", label=name)
    axis.axhline(tutorial_final, color="gray", linestyle=":", label="tutorial's final accuracy")
    axis.set_xlabel("training seconds (evaluation excluded)")
    axis.set_ylabel("test accuracy (full 10k)")
    axis.set_ylim(0.95, 1.0)
    axis.legend()
    figure.tight_layout()
    figure.savefig(arguments.out / "time_to_accuracy.png", dpi=100)


if __name__ == "__main__":
    main()
