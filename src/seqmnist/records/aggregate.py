"""Runs pooled over seeds: one row per setting (every override but the seed and the paths), with
n, mean ± sample std, min and max of `val/acc_best` and `test/acc` and the mean wall time. n counts
seeds: a seed run again is named as a repeat, not counted twice. Failed runs are counted and named,
never averaged. Runs whose library stack, hardware, device or precision
differ are not pooled unless asked (`pool_across_machines`).

    python -m seqmnist.records.aggregate <run or sweep folders>... [--out by_setting.csv]

pools folders made on different days or machines; every multirun writes the same table beside its
`summary.csv` (records/sweep_summary.py).
"""

import argparse
import csv
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqmnist.errors import USER_ERROR_EXIT_CODE, SeqmnistError
from seqmnist.records.results import COMPLETED, RESULT_FILE, RunResult, read_result

METRICS = ("val/acc_best", "test/acc")
SEED = "seed"
# overrides that say where a run read and wrote, what recorded it or whether it read the test set:
# not part of its setting
NOT_A_SETTING = (
    "paths.", "data.data_dir", "data.offline_wheel", "data.checksums", "hydra.", "logger", "tags",
    "test=",
)  # fmt: skip
COLUMNS = (
    "setting",
    "n",
    *(f"{metric} {stat}" for metric in METRICS for stat in ("mean", "std", "min", "max")),
    "wall_time_s mean",
    "failed",
    "repeats",
    "precision",
    "device",
    "cpu",
    "stack",
)


class PoolingRefused(SeqmnistError):
    """Runs of one setting come from different stacks or machines."""


@dataclass(frozen=True)
class Run:
    folder: Path
    result: RunResult

    @property
    def setting(self) -> str:
        return setting_of(self.result.overrides)

    @property
    def seed(self) -> str | None:
        """The seed it ran with: recorded, else its `seed=` override (older records), else None
        (unseeded, or not known: such runs are never taken for repeats of each other)."""
        if self.result.seed is not None:
            return str(self.result.seed)
        overrides = [o.split("=", 1)[1] for o in self.result.overrides if o.startswith(f"{SEED}=")]
        return overrides[-1] if overrides and overrides[-1] != "null" else None

    @property
    def machine(self) -> dict[str, str]:
        """What makes two runs' numbers comparable besides their setting."""
        hardware = self.result.hardware or {}
        stack = self.result.stack or {}
        return {
            "stack": ", ".join(f"{k} {v}" for k, v in stack.items()) or "not recorded",
            "cpu": " ".join(
                [str(hardware.get("cpu") or "not recorded")]
                + [f"({', '.join(flags)})" for flags in [hardware.get("cpu_flags")] if flags]
            ),
            "gpu": str(hardware.get("gpu") or "none"),
            "device": self.result.device or "not recorded",
            "precision": self.result.precision or "not recorded",
        }


def setting_of(overrides: Iterable[str], with_seed: bool = False) -> str:
    """The overrides that make a recipe, sorted: not where it read and wrote, nor (unless
    `with_seed`) its seed. `(defaults)` for none."""
    skipped = NOT_A_SETTING if with_seed else (*NOT_A_SETTING, f"{SEED}=")
    kept = [o for o in overrides if not o.lstrip("+~").startswith(skipped)]
    return " ".join(sorted(kept)) or "(defaults)"


def find_runs(paths: Iterable[Path]) -> list[Run]:
    """Every run under `paths`: run folders (holding result.json) and folders of them (sweeps)."""
    runs = []
    for path in paths:
        files = [path / RESULT_FILE] if (path / RESULT_FILE).is_file() else path.rglob(RESULT_FILE)
        runs += [Run(file.parent, read_result(file)) for file in sorted(files)]
    return runs


def by_setting(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """The runs of each setting, in the order settings first appear."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.setting, []).append(run)
    return groups


def aggregate(runs: Sequence[Run], pool_across_machines: bool = False) -> list[dict[str, str]]:
    """One row per setting, in the order settings first appear."""
    return [
        _row(setting, members, pool_across_machines)
        for setting, members in by_setting(runs).items()
    ]


def _row(setting: str, runs: list[Run], pool_across_machines: bool) -> dict[str, str]:
    done, repeats, seeds = [], [], set()
    for run in (run for run in runs if run.result.status == COMPLETED):
        (repeats if run.seed is not None and run.seed in seeds else done).append(run)
        seeds.add(run.seed)
    failed = [run for run in runs if run.result.status != COMPLETED]
    machines = [run.machine for run in done]
    differing = sorted({key for m in machines for key in m if m[key] != machines[0][key]})
    if differing and not pool_across_machines:
        raise PoolingRefused(
            f"The runs of setting '{setting}' differ in {', '.join(differing)} ("
            + "; ".join(
                f"{run.folder}: " + ", ".join(run.machine[k] for k in differing) for run in done
            )
            + "), so their mean would mix numerics. Aggregate them separately, or pass "
            "--pool-across-machines to pool them anyway."
        )
    row = {"setting": setting, "n": str(len(done))}
    for metric in METRICS:
        values = [run.result.metrics[metric] for run in done if metric in run.result.metrics]
        row.update(_statistics(metric, values))
    times = [run.result.wall_time_s for run in done]
    row["wall_time_s mean"] = f"{statistics.fmean(times):.1f}" if times else ""
    row["failed"], row["repeats"] = (
        f"{len(group)}: " + ", ".join(str(run.folder) for run in group) if group else "0"
        for group in (failed, repeats)
    )
    for key in ("precision", "device", "cpu", "stack"):
        row[key] = " | ".join(sorted({m[key] for m in machines})) if machines else ""
    return row


def _statistics(metric: str, values: list[float]) -> dict[str, str]:
    if not values:
        return {f"{metric} {stat}": "" for stat in ("mean", "std", "min", "max")}
    return {
        f"{metric} mean": f"{statistics.fmean(values):.4f}",
        # the sample standard deviation; one run has none
        f"{metric} std": f"{statistics.stdev(values):.4f}" if len(values) > 1 else "",
        f"{metric} min": f"{min(values):.4f}",
        f"{metric} max": f"{max(values):.4f}",
    }


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def percent(row: dict[str, str], metric: str) -> str:
    """`99.12 ± 0.05 % (99.05-99.18)`, or `99.12 % (n = 1)` for a single run."""
    mean = row[f"{metric} mean"]
    if not mean:
        return "n/a"
    text = f"{100 * float(mean):.2f}"
    if row[f"{metric} std"]:
        low, high = (100 * float(row[f"{metric} {s}"]) for s in ("min", "max"))
        return f"{text} ± {100 * float(row[f'{metric} std']):.2f} % ({low:.2f}-{high:.2f})"
    return f"{text} % (n = 1)"


def markdown(rows: list[dict[str, str]]) -> str:
    lines = [
        "| setting | n | test/acc | val/acc_best | wall time | failed | precision |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['setting']} | {row['n']} | {percent(row, 'test/acc')} | "
        f"{percent(row, 'val/acc_best')} | {row['wall_time_s mean']} s | {row['failed']} | "
        f"{row['precision']} |"
        for row in rows
    ]
    return "\n".join(lines)


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", help="run folders or sweep folders")
    parser.add_argument("--out", type=Path, help="also write the table as CSV")
    parser.add_argument("--pool-across-machines", action="store_true")
    options = parser.parse_args(arguments)
    runs = find_runs(options.folders)
    if not runs:
        print(
            f"error: no {RESULT_FILE} under {', '.join(map(str, options.folders))}", file=sys.stderr
        )
        raise SystemExit(USER_ERROR_EXIT_CODE)
    try:
        rows = aggregate(runs, options.pool_across_machines)
    except PoolingRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT_CODE) from None
    print(markdown(rows))
    if options.out:
        write_csv(rows, options.out)
        print(f"Written: {options.out}")


if __name__ == "__main__":
    main()
