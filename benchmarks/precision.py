"""Mixed precision against float32 on this CPU, in one run: `python benchmarks/precision.py`.

Trains the default recipe twice through the real configs, DataModule and LightningModule, once
with `trainer.precision=32-true` and once with `trainer.precision=bf16-mixed` (Lightning's CPU
autocast to bfloat16), from the same seed, and tests both on the full official 10k test set after
every epoch (off the clock). Prints and writes benchmarks/results/precision.md: training time,
the speed ratio, and final test accuracy of each. bf16 only pays on CPUs with bf16 instructions
(AVX512-BF16 or AMX); the report names the CPU and its instruction sets.
Not a test: nothing here asserts, it only measures.
"""

from common import machine_line, publish, timeline, training_benchmark_parser

from seqmnist.errors import ConfigError
from seqmnist.machine import keep_freed_memory_in_process

PRECISIONS = ("32-true", "bf16-mixed")


def main() -> None:
    parser = training_benchmark_parser(__doc__)
    parser.add_argument("--epochs", type=int, help="epochs to train (default: the recipe's own)")
    arguments = parser.parse_args()
    keep_freed_memory_in_process()

    finals: dict[str, tuple[float, float]] = {}
    refused: dict[str, str] = {}
    epochs = arguments.epochs
    for precision in PRECISIONS:
        try:
            points = timeline(
                arguments.data_dir,
                None,
                f"trainer.precision={precision}",
                *([f"trainer.max_epochs={arguments.epochs}"] if arguments.epochs else []),
                *arguments.override,
            )
        except ConfigError as error:  # e.g. no bf16 LSTM kernels on this CPU
            refused[precision] = str(error)
            continue
        finals[precision] = points[-1]
        epochs = len(points)  # one point at the end of every epoch
    lines = [
        f"# bf16-mixed against fp32 ({machine_line()})",
        "",
        f"Default recipe, {epochs} epoch(s), same seed; full 10k test set.",
        "",
        "| precision | training time | s/epoch | final test accuracy |",
        "|---|---|---|---|",
        *(
            f"| {precision} | {seconds:.1f} s | {seconds / epochs:.1f} | {100 * accuracy:.2f} % |"
            for precision, (seconds, accuracy) in finals.items()
        ),
        *(
            f"| {precision} | cannot run here: {reason} | | |"
            for precision, reason in refused.items()
        ),
        "",
    ]
    if len(finals) == len(PRECISIONS):
        (fp32_seconds, fp32_accuracy), (bf16_seconds, bf16_accuracy) = finals.values()
        lines += [
            f"- bf16-mixed speed relative to fp32: {fp32_seconds / bf16_seconds:.2f}x",
            f"- accuracy difference (bf16 - fp32): {100 * (bf16_accuracy - fp32_accuracy):+.2f} points",
            "",
        ]
    report = "\n".join(lines)
    publish(report, arguments.out / "precision.md")


if __name__ == "__main__":
    main()
