"""Time to accuracy, measured in one run on this machine: `python benchmarks/time_to_accuracy.py`.

Trains the PyTorch tutorial's recipe (`experiment=torch_tutorial`), the default recipe and the two
recipes found by `hparams_search=time_to_target` (`experiment=fast_97`, `experiment=fast_99`) with
the real configs, DataModule and LightningModule, and measures accuracy on the full official 10k
test set at fixed points of training (evaluation time is excluded from the clock). Prints and
writes benchmarks/results/time_to_accuracy.md and .png:
  training seconds for each recipe to reach the accuracy the tutorial recipe ends with, as a ratio
  to the tutorial recipe's own training time (float32, as the tutorial), and to 98 % and 99 %;
  each recipe in float32 and, where the CPU computes bfloat16, in bf16-mixed too.
Times are those of the first measuring point at or above the target, so they are upper bounds
with the granularity of --every (in steps; the tutorial recipe is measured once per epoch).
Not a test: nothing here asserts, it only measures. Takes about 20 minutes on 2 CPU cores.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from common import machine_line, precisions_here, publish, timeline, training_benchmark_parser

from seqmnist.machine import keep_freed_memory_in_process

RECIPES = {
    "default (`python train.py`)": [],
    "`experiment=fast_97`": ["experiment=fast_97"],
    "`experiment=fast_99`": ["experiment=fast_99"],
}


def first_time_at(points: list[tuple[float, float]], accuracy: float) -> float | None:
    return next((seconds for seconds, reached in points if reached >= accuracy), None)


def main() -> None:
    parser = training_benchmark_parser(__doc__)
    parser.add_argument(
        "--every", type=int, default=10, help="training steps between tests (0.5 s for fast_97)"
    )
    arguments = parser.parse_args()
    keep_freed_memory_in_process()

    tutorial = timeline(
        arguments.data_dir,
        None,
        "experiment=torch_tutorial",
        "trainer.precision=32-true",
        *arguments.override,
    )
    tutorial_seconds, tutorial_final = tutorial[-1]
    timelines = {
        f"{name}, {precision}": timeline(
            arguments.data_dir,
            arguments.every,
            *overrides,
            f"trainer.precision={precision}",
            *arguments.override,
        )
        for name, overrides in RECIPES.items()
        for precision in precisions_here()
    }

    def time_to(points: list[tuple[float, float]], accuracy: float) -> str:
        seconds = first_time_at(points, accuracy)
        if seconds is None:
            return "not reached"
        ratio = f" (1/{tutorial_seconds / seconds:.1f})" if accuracy == tutorial_final else ""
        return f"{seconds:.1f} s{ratio}"

    lines = [
        f"# Time to accuracy ({machine_line()}; full 10k test set every {arguments.every} "
        "training steps, training time without evaluation)",
        "",
        f"Tutorial recipe (`experiment=torch_tutorial`, 10 epochs, float32): "
        f"{100 * tutorial_final:.2f} % "
        f"after {tutorial_seconds:.1f} s of training.",
        "",
        f"| recipe | time to {100 * tutorial_final:.2f} % (ratio to the tutorial's time) "
        "| time to 98 % | time to 99 % | final test accuracy, training time |",
        "|---|---|---|---|---|",
    ]
    for name, points in timelines.items():
        cells = [time_to(points, accuracy) for accuracy in (tutorial_final, 0.98, 0.99)]
        final = f"{100 * points[-1][1]:.2f} %, {points[-1][0]:.1f} s"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {final} |")
    publish("\n".join([*lines, ""]), arguments.out / "time_to_accuracy.md")

    figure, axis = plt.subplots(figsize=(7, 4))
    for name, points in {"tutorial recipe": tutorial, **timelines}.items():
        axis.plot(*zip(*points, strict=True), marker=".", label=name)
    axis.axhline(tutorial_final, color="gray", linestyle=":", label="tutorial's final accuracy")
    axis.axhline(0.99, color="black", linestyle=":", label="99 %")
    axis.set_xlabel("training seconds (evaluation excluded)")
    axis.set_ylabel("test accuracy (full 10k)")
    axis.set_ylim(0.95, 1.0)
    axis.legend()
    figure.tight_layout()
    figure.savefig(arguments.out / "time_to_accuracy.png", dpi=100)


if __name__ == "__main__":
    main()
