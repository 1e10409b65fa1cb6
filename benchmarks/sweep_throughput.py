"""Does a parallel sweep pay on this machine? A grid sweep, sequential against local_parallel.

Three sweeps of the same grid (by default 4 jobs, model.hidden=126,127,128,129; each job N training batches of the
default recipe on real MNIST; validation and test cut to one batch, since only training is timed):

1. sequential, every job with torch's default threads (all cores): `python train.py -m ...`;
2. parallel: `hydra/launcher=local_parallel`, jobs at once with cores // n_jobs threads each;
3. sequential again, but with the parallel jobs' thread count: the reference their results must
   equal (a thread count changes float reduction order, so results are compared like for like).

Prints and writes benchmarks/results/sweep_throughput.md: wall time of each sweep, the ratio,
per-job wall time and samples/s, and whether the parallel results equal the reference.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import publish

from seqmnist.runs.process import available_cores

REPO = Path(__file__).resolve().parents[1]
GRID = "model.hidden=126,127,128,129"


def sweep(
    root: Path, data_dir: Path, grid: str, batches: int, *extra: str
) -> tuple[float, list[dict]]:
    """Run the grid as `train.py -m` with logs under `root`: (wall seconds, summary rows)."""
    command = [
        sys.executable,
        str(REPO / "train.py"),
        "-m",
        grid,
        f"paths.data_dir={data_dir}",
        "trainer.max_epochs=1",
        f"+trainer.limit_train_batches={batches}",
        "+trainer.limit_val_batches=1",
        "+trainer.limit_test_batches=1",
        "logger=none",
        *extra,
    ]
    started = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        env={**os.environ, "SEQMNIST_ROOT": str(root)},
    )
    wall = time.perf_counter() - started
    (summary,) = root.glob("logs/train/multiruns/*/summary.csv")
    with summary.open() as stream:
        return wall, list(csv.DictReader(stream))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--batches", type=int, default=120, help="training batches per job")
    parser.add_argument(
        "--grid", default=GRID, help="the swept override (a smoke run: model.hidden=8,9)"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="jobs at once (default: one per core)"
    )
    arguments = parser.parse_args()

    cores = available_cores()
    jobs = arguments.jobs or cores
    threads = max(1, cores // jobs)
    samples = arguments.batches * 128  # the default batch size
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        settings = {
            "sequential (all cores per job)": (),
            f"local_parallel ({jobs} jobs x {threads} thread(s))": (
                "hydra/launcher=local_parallel",
                f"hydra.launcher.n_jobs={jobs}",
            ),
            f"sequential, {threads} thread(s) per job (reference)": (f"threads={threads}",),
        }
        for index, (name, extra) in enumerate(settings.items()):
            runs[name] = sweep(
                Path(scratch) / str(index),
                arguments.data_dir,
                arguments.grid,
                arguments.batches,
                *extra,
            )

    (
        (sequential, (sequential_wall, _)),
        (parallel, (parallel_wall, parallel_rows)),
        (
            reference,
            (_, reference_rows),
        ),
    ) = runs.items()
    metrics = ("val/acc_best", "test/acc")
    equal = [{m: r[m] for m in metrics} for r in parallel_rows] == [
        {m: r[m] for m in metrics} for r in reference_rows
    ]
    lines = [
        f"# Sweep throughput on this machine ({cores} cores; grid {arguments.grid}, "
        f"{arguments.batches} training batches of 128 per job, real MNIST)",
        "",
        "| sweep | wall time | per job: wall time (mean) | per job: samples/s over its wall time | threads per job |",
        "|---|---|---|---|---|",
    ]
    for name, (wall, rows) in runs.items():
        job_walls = [float(row["wall_time_s"]) for row in rows]
        mean_job = sum(job_walls) / len(job_walls)
        lines.append(
            f"| {name} | {wall:.1f} s | {mean_job:.1f} s | {samples / mean_job:,.0f} | "
            f"{', '.join(sorted({row['threads'] for row in rows}))} |"
        )
    lines += [
        "",
        f"- {parallel} against {sequential}: **{sequential_wall / parallel_wall:.2f}x** faster "
        f"(wall time of the whole sweep, launch included)",
        f"- parallel results equal the sequential run with the same threads per job ({reference}): "
        f"{'yes' if equal else 'NO'} ({', '.join(metrics)} of every job)",
        "",
    ]
    report = "\n".join(lines)
    publish(report, arguments.out / "sweep_throughput.md")
    if not equal:
        raise SystemExit("parallel jobs gave other results than the same jobs run one by one")


if __name__ == "__main__":
    main()
