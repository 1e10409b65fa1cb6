"""The three families on 784-step sequences, in one run: `python benchmarks/state_space.py`.

Speed: trains `experiment=psmnist_s4d`, `psmnist_lstm` and `psmnist_lmu` through the real configs,
DataModule and LightningModule for `--batches` optimizer steps each, in turn for `--rounds`
rounds, in float32 and (where the CPU computes bfloat16) bf16-mixed, and reports training
samples/s and the time one epoch takes at that rate (validation excluded; the first `--warmup`
steps are not timed). Curves: `--runs DIR ...` adds, for each run folder of a finished recipe run
(e.g. `python train.py experiment=psmnist_s4d`), its validation accuracy after each epoch against
training minutes, the minutes to 90, 95 and 97 % validation accuracy, and its test accuracy, from
its TensorBoard events and result.json. Writes benchmarks/results/state_space.md and .png.
Not a test: nothing here asserts, it only measures.
"""

import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from common import fit, machine_line, precisions_here, publish, training_benchmark_parser
from lightning.pytorch import Callback, LightningModule, Trainer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqmnist.machine import keep_freed_memory_in_process
from seqmnist.records.results import RESULT_FILE, RunResult, read_result

RECIPES = ("psmnist_s4d", "psmnist_lstm", "psmnist_lmu")
TARGETS = (0.90, 0.95, 0.97)


class StepClock(Callback):
    """Seconds and samples of the training steps after the first `warmup`."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.seconds = 0.0
        self.samples = 0
        self.images_per_epoch = 0
        self._started = 0.0

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.images_per_epoch = len(trainer.datamodule.data_train)

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, *_) -> None:
        self._started = time.perf_counter()

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, _, batch, *__
    ) -> None:
        if trainer.global_step > self.warmup:
            self.seconds += time.perf_counter() - self._started
            self.samples += batch[1].size(0)


def speed(arguments) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(recipe, precision) -> [(samples/s, seconds per epoch)] per round; float32 and, where the
    CPU computes bfloat16, bf16-mixed, in turn."""
    cases = [(recipe, precision) for recipe in RECIPES for precision in precisions_here()]
    rounds: dict[tuple[str, str], list[tuple[float, float]]] = {case: [] for case in cases}
    for _ in range(arguments.rounds):
        for recipe, precision in cases:
            clock = fit(
                arguments.data_dir,
                lambda _: StepClock(arguments.warmup),
                f"experiment={recipe}",
                f"trainer.precision={precision}",
                "trainer.max_epochs=1",
                f"+trainer.limit_train_batches={arguments.warmup + arguments.batches}",
                *arguments.override,
            )
            rate = clock.samples / clock.seconds
            rounds[recipe, precision].append((rate, clock.images_per_epoch / rate))
    return rounds


def curve(run_dir: Path) -> tuple[str, list[tuple[float, float]], RunResult]:
    """(recipe, [(training minutes, val acc)] per epoch, result.json) of a finished run folder."""
    result = read_result(run_dir / RESULT_FILE)
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    start = events.Scalars("train/loss_step")[0].wall_time
    points = [(e.wall_time - start, e.value) for e in events.Scalars("val/acc")]
    recipe = next(
        (o.split("=", 1)[1] for o in result.overrides if o.startswith("experiment=")), "?"
    )
    return recipe, [(seconds / 60, accuracy) for seconds, accuracy in points], result


def main() -> None:
    parser = training_benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=40, help="timed steps per recipe and round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="finished run folders")
    arguments = parser.parse_args()
    keep_freed_memory_in_process()

    rounds = speed(arguments)
    medians = {case: statistics.median(s for s, _ in rates) for case, rates in rounds.items()}
    lines = [
        f"# Three families on 784 steps ({machine_line()})",
        "",
        f"Training steps of each recipe, {arguments.batches} timed per round, recipes in turn, "
        f"{arguments.rounds} rounds; an epoch is the 55,000-image training split at that rate.",
        "",
        "| recipe | precision | samples/s per round | median samples/s | epoch |",
        "|---|---|---|---|---|",
        *(
            f"| `experiment={recipe}` | {precision} | {', '.join(f'{s:.0f}' for s, _ in rates)} | "
            f"{medians[recipe, precision]:.0f} | "
            f"{statistics.median(e for _, e in rates) / 60:.1f} min |"
            for (recipe, precision), rates in rounds.items()
        ),
        "",
        *(
            f"Epoch time against the LSTM's, {precision}: "
            + ", ".join(
                f"{recipe} {medians['psmnist_lstm', precision] / medians[recipe, precision]:.2f}x"
                for recipe in RECIPES
            )
            for precision in precisions_here()
        ),
        "",
    ]
    if arguments.runs:
        figure, axes = plt.subplots(figsize=(7, 4))
        lines += [
            "| run | precision | epochs | validation accuracy per epoch | "
            + " | ".join(f"minutes to {100 * t:.0f} %" for t in TARGETS)
            + " | test accuracy |",
            "|---|---|---|---|" + "---|" * len(TARGETS) + "---|",
        ]
        for run_dir in arguments.runs:
            recipe, points, result = curve(run_dir)
            accuracies = ", ".join(f"{100 * a:.2f}" for _, a in points)
            reached = [next((m for m, a in points if a >= t), None) for t in TARGETS]
            lines.append(
                f"| `{recipe}` ({run_dir.name}) | {result.precision} | {len(points)} | "
                f"{accuracies} | "
                + " | ".join("not reached" if m is None else f"{m:.1f}" for m in reached)
                + f" | {100 * result.metrics['test/acc']:.2f} % |"
            )
            axes.plot(
                [m for m, _ in points], [100 * a for _, a in points], marker="o", label=recipe
            )
        axes.set(xlabel="training minutes (validation included)", ylabel="validation accuracy (%)")
        axes.legend()
        axes.grid(alpha=0.3)
        figure.tight_layout()
        arguments.out.mkdir(parents=True, exist_ok=True)
        figure.savefig(arguments.out / "state_space.png", dpi=120)
    publish("\n".join(lines), arguments.out / "state_space.md")


if __name__ == "__main__":
    main()
