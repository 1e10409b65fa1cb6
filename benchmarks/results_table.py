"""The README's results table, written from run folders, never typed:

    python benchmarks/results_table.py <run or sweep folders>... [--readme README.md]

One row per recipe (the command without its seed), pooled over seeds by
seqmnist.records.aggregate: n, test accuracy as mean ± sample std (min-max) on the full official
test set, best validation accuracy, epochs, mean wall time, parameters, precision, CPU and stack;
the published figures of the same benchmark beside it. Writes benchmarks/results/results.md and,
with --readme, the table between the README's results-table markers. Runs of one recipe from
different stacks or machines are refused (aggregate's rule); give each machine its own table.
"""

import argparse
from pathlib import Path

from omegaconf import OmegaConf

from seqmnist.records.aggregate import Run, aggregate, by_setting, find_runs, percent

RESULTS = Path(__file__).resolve().parent / "results"
START, END = "<!-- results-table:start -->", "<!-- results-table:end -->"
# what the literature reports for the same benchmark (for comparison; not measured here)
PUBLISHED = {
    "experiment=torch_tutorial": "PyTorch tutorial: ~98 %",
    "experiment=tf_tutorial": "TensorFlow tutorial: ~98 %",
    "experiment=smnist_lstm": "plain LSTM: 98.2-98.9 %",
    "experiment=psmnist_lstm": "plain LSTM: 88-95 %",
    "experiment=smnist_s4d": "S4 99.63 %, S4D 99.53 %",
    "experiment=psmnist_s4d": "S4 98.70 %, S4D 97.79 %",
    "experiment=psmnist_lmu": "LMU 97.15 %, parallel LMU 98.49 %",
}

# row order: the default and its variants, the tutorials, then rows, pixels and permuted pixels
ORDER = (
    "torch_tutorial", "tf_tutorial", "fast_97", "fast_99", "row_lstm", "row_s4d", "row_lmu",
    "smnist_lstm", "smnist_s4d", "smnist_lmu", "psmnist_lstm", "psmnist_s4d", "psmnist_lmu",
)  # fmt: skip


def order_of(setting: str) -> int:
    experiments = [o.split("=", 1)[1] for o in setting.split() if o.startswith("experiment=")]
    if not experiments:
        return 0
    return 1 + ORDER.index(experiments[0]) if experiments[0] in ORDER else len(ORDER) + 1


def epochs_of(run: Run) -> str:
    """trainer.max_steps or max_epochs of the run's composed config."""
    config = run.folder / ".hydra" / "config.yaml"
    if not config.is_file():
        return "?"
    trainer = OmegaConf.load(config).trainer
    steps = trainer.get("max_steps", -1)
    return f"{steps} steps" if steps and steps > 0 else str(trainer.max_epochs)


def table(runs: list[Run]) -> str:
    rows = sorted(aggregate(runs), key=lambda row: order_of(row["setting"]))
    groups = by_setting(runs)
    lines = [
        "| command | n | test accuracy, mean ± std (min-max) | best validation | epochs | "
        "wall time | parameters | precision | published |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        members = groups[row["setting"]]
        params = {m.result.metrics.get("model/params") for m in members} - {None}
        command = "python train.py" + (
            "" if row["setting"] == "(defaults)" else f" {row['setting']}"
        )
        wall = row["wall_time_s mean"]
        lines.append(
            f"| `{command}` | {row['n']} | {percent(row, 'test/acc')} | "
            f"{percent(row, 'val/acc_best')} | {epochs_of(members[0])} | "
            f"{float(wall) / 60:.1f} min | {', '.join(f'{p:,.0f}' for p in sorted(params))} | "
            f"{row['precision']} | {PUBLISHED.get(row['setting'], '')} |"
            if wall
            else f"| `{command}` | 0 | failed: {row['failed']} | | | | | | |"
        )
    # a setting whose runs all failed recorded no machine
    machines = sorted({(row["cpu"], row["device"], row["stack"]) for row in rows if row["cpu"]})
    lines += [""] + [
        f"Measured on: CPU {cpu}, device {device}; {stack}." for cpu, device, stack in machines
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--readme", type=Path, help="replace the table between its markers")
    parser.add_argument("--out", type=Path, default=RESULTS / "results.md")
    options = parser.parse_args()
    text = table(find_runs(options.folders))
    print(text)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(f"# Results (written by benchmarks/results_table.py)\n\n{text}\n")
    if options.readme:
        readme = options.readme.read_text()
        before, _, rest = readme.partition(START)
        _, _, after = rest.partition(END)
        if not rest:
            raise SystemExit(f"error: {options.readme} has no {START} ... {END} markers")
        options.readme.write_text(f"{before}{START}\n{text}\n{END}{after}")


if __name__ == "__main__":
    main()
