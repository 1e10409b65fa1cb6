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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from common import publish, timeline, training_benchmark_parser

from seqmnist.runs.process import keep_freed_memory_in_process


def first_time_at(points: list[tuple[float, float]], accuracy: float) -> float | None:
    return next((seconds for seconds, reached in points if reached >= accuracy), None)


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
    publish(report, arguments.out / "time_to_accuracy.md")

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
