"""At the end of every multirun: one table of all jobs, and one of every setting pooled over its
seeds (records/aggregate.py), each written as CSV and printed (TensorBoard's HPARAMS tab plots the
same runs against their settings)."""

import csv
import logging
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from seqmnist.errors import SWEEP_FAILED_EXIT_CODE
from seqmnist.records import aggregate
from seqmnist.records.results import COMPLETED, RESULT_FILE, RunResult, read_result

log = logging.getLogger(__name__)

COLUMNS = (
    "job",
    "status",
    "overrides",
    "val/acc_best",
    "test/acc",
    "params",
    "wall_time_s",
    "threads",
    "device",
    "error",
)


class SweepSummary(Callback):
    """Hydra callback: gathers every job's `result.json` under the sweep folder, then ends the
    sweep with exit code 1 if it failed (`sweep_failure`).

    Reading the folders (not in-memory returns) makes it work for every launcher, including
    jobs that ran in other processes or on other machines, and for failed jobs.
    """

    def __init__(self) -> None:
        self.started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()
        # sweepers that keep state in the sweep folder (Optuna's SQLite study) need it before job 0
        Path(config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = sorted(sweep_dir.glob(f"*/{RESULT_FILE}"), key=lambda p: _job_order(p.parent.name))
        if not jobs:
            log.warning("No job results under %s: nothing to summarise", sweep_dir)
            return
        columns = columns_with(config.get("optimized_metric"))
        results = {path: read_result(path) for path in jobs}
        rows = [summary_row(path.parent.name, result, columns) for path, result in results.items()]
        write_csv(rows, sweep_dir / "summary.csv", columns)
        table = markdown_table(rows, swept_values(rows), columns)
        failed = sum(row["status"] != COMPLETED for row in rows)
        print(
            f"\nSweep summary ({len(rows)} jobs, {failed} failed): {sweep_dir / 'summary.csv'}\n{table}\n"
        )
        if failed:
            log.error(
                "%d of %d sweep jobs failed: see the status and error columns above",
                failed,
                len(rows),
            )
        _summarise_settings(sweep_dir, [aggregate.Run(p.parent, r) for p, r in results.items()])
        # a search's folder keeps the trials of earlier invocations: judge this one's jobs
        mine = [r for p, r in results.items() if p.stat().st_mtime >= self.started - 1]
        searching = config.hydra.runtime.choices.get("hydra/sweeper") == "optuna"
        problem = sweep_failure(mine, searching)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            raise SystemExit(SWEEP_FAILED_EXIT_CODE)


def _summarise_settings(sweep_dir: Path, runs: list[aggregate.Run]) -> None:
    """The jobs pooled by setting (every override but the seed): written always, printed when
    some setting ran more than once."""
    try:
        rows = aggregate.aggregate(runs)
    except aggregate.PoolingRefused as refused:
        log.warning("No table by setting: %s", refused)
        return
    target = sweep_dir / "summary_by_setting.csv"
    aggregate.write_csv(rows, target)
    if len(rows) < len(runs):
        print(
            f"\nBy setting, over seeds ({len(rows)} settings): {target}\n{aggregate.markdown(rows)}\n"
        )


def sweep_failure(results: list[RunResult], searching: bool) -> str | None:
    """Why a sweep must end with a non-zero exit code, or None.

    A grid or list sweep fails if any job failed. A search is told by its failed trials where not
    to look, so it fails only if every trial failed, or one failed for another reason than its
    settings (data, checkpoints, the machine).
    """
    failed = [result for result in results if result.status != COMPLETED]
    if not failed:
        return None
    counts = f"{len(failed)} of {len(results)} jobs failed"
    if not searching:
        return f"{counts}; the summary above names each error (exit code {SWEEP_FAILED_EXIT_CODE})."
    if len(failed) == len(results):
        return f"every trial of the search failed ({counts}); the summary above names each error."
    others = [result for result in failed if not result.failed_for_settings]
    if others:
        return (
            f"{len(others)} trials of the search failed for another reason than their settings "
            f"(first: {others[0].error}); the summary above names each error."
        )
    return None


def _job_order(name: str) -> tuple[int, str]:
    return (int(name), name) if name.isdigit() else (1 << 30, name)


def columns_with(objective: str | None) -> tuple[str, ...]:
    """COLUMNS, plus the sweeper's objective after the accuracies when it is another metric."""
    if not objective or objective in COLUMNS:
        return COLUMNS
    at = COLUMNS.index("test/acc") + 1
    return (*COLUMNS[:at], objective, *COLUMNS[at:])


def summary_row(job: str, result: RunResult, columns: tuple[str, ...]) -> dict[str, str]:
    def metric(name: str, digits: int) -> str:
        return f"{result.metrics[name]:.{digits}f}" if name in result.metrics else ""

    extra = {name: metric(name, 4) for name in columns if name not in COLUMNS}
    return {
        **extra,
        "job": job,
        "status": result.status,
        "overrides": " ".join(result.overrides),
        "val/acc_best": metric("val/acc_best", 4),
        "test/acc": metric("test/acc", 4),
        "params": metric("model/params", 0),
        "wall_time_s": f"{result.wall_time_s:.1f}",
        "threads": "" if result.threads is None else str(result.threads),
        "device": result.device or "",
        "error": result.error or "",
    }


def write_csv(rows: list[dict[str, str]], path: Path, columns: tuple[str, ...]) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def markdown_table(
    rows: list[dict[str, str]], swept: dict[str, list[str]], columns: tuple[str, ...]
) -> str:
    """The CSV's columns, but only the overrides that differ between jobs (the rest is noise)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")[:160]

    shown_columns = [column if column != "overrides" else "swept" for column in columns]
    lines = ["| " + " | ".join(shown_columns) + " |", "|" + "---|" * len(shown_columns)]
    for index, row in enumerate(rows):
        shown = {
            **row,
            "swept": " ".join(f"{key}={values[index]}" for key, values in swept.items()),
        }
        lines.append("| " + " | ".join(cell(shown[column]) for column in shown_columns) + " |")
    return "\n".join(lines)


def swept_values(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    """Override keys whose value differs between jobs, with each job's value."""
    per_job = [dict(o.split("=", 1) for o in row["overrides"].split() if "=" in o) for row in rows]
    keys = sorted({key for overrides in per_job for key in overrides})
    return {
        key: [overrides.get(key, "") for overrides in per_job]
        for key in keys
        if len({overrides.get(key) for overrides in per_job}) > 1
    }
