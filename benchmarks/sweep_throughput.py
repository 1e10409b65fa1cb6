"""Does a parallel sweep pay on this machine? A grid sweep, sequential against local_parallel.

Three sweeps of the same grid (by default 4 jobs, model.hidden=126,127,128,129; each job one epoch
of the default recipe on real MNIST, the shortest job a real sweep runs, or --batches training
batches; validation and test cut to one batch, since only training is timed):

1. sequential, every job with torch's default threads (all cores): `python train.py -m ...`;
2. parallel: `hydra/launcher=local_parallel`, jobs at once with cores // n_jobs threads each;
3. sequential again, but with the parallel jobs' thread count: the reference their results must
   equal (a thread count changes float reduction order, so results are compared like for like).

The three run in turn, `--rounds` times (the machine's speed drifts, and how much two jobs slow
each other varies on a shared VM). Prints and writes benchmarks/results/sweep_throughput.md: wall
time of each sweep, the ratio of every round and their median, per-job wall time and samples/s,
and whether the parallel results equal the reference in every round.
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import publish

from seqmnist.machine import available_cores, hardware

REPO = Path(__file__).resolve().parents[1]
GRID = "model.hidden=126,127,128,129"
# the default recipe's epoch: 55,000 training images in whole batches of 128
EPOCH_BATCHES = 55_000 // 128


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
    parser.add_argument(
        "--batches",
        type=int,
        default=EPOCH_BATCHES,
        help=f"training batches per job (default {EPOCH_BATCHES}: one epoch of 55k images)",
    )
    parser.add_argument(
        "--grid", default=GRID, help="the swept override (a smoke run: model.hidden=8,9)"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="jobs at once (default: one per core)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times the three sweeps run, interleaved (the machine's speed drifts)",
    )
    arguments = parser.parse_args()

    cores = available_cores()
    jobs = arguments.jobs or cores
    threads = max(1, cores // jobs)
    samples = arguments.batches * 128  # the default batch size
    sequential = "sequential (all cores per job)"
    parallel = f"local_parallel ({jobs} jobs x {threads} thread(s))"
    reference = f"sequential, {threads} thread(s) per job (reference)"
    settings = {
        sequential: (),
        parallel: ("hydra/launcher=local_parallel", f"hydra.launcher.n_jobs={jobs}"),
        reference: (f"threads={threads}",),
    }
    runs: dict[str, list[tuple[float, list[dict]]]] = {name: [] for name in settings}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(arguments.rounds):
            for index, (name, extra) in enumerate(settings.items()):
                runs[name].append(
                    sweep(
                        Path(scratch) / f"{round_}_{index}",
                        arguments.data_dir,
                        arguments.grid,
                        arguments.batches,
                        *extra,
                    )
                )

    metrics = ("val/acc_best", "test/acc")
    results = {
        name: [[{m: row[m] for m in metrics} for row in rows] for _, rows in sweeps]
        for name, sweeps in runs.items()
    }
    equal = all(
        result == results[reference][0] for result in results[parallel] + results[reference]
    )
    ratios = sorted(
        sequential_wall / parallel_wall
        for (sequential_wall, _), (parallel_wall, _) in zip(
            runs[sequential], runs[parallel], strict=True
        )
    )
    lines = [
        f"# Sweep throughput (CPU {hardware().describe_cpu()}, {cores} cores; grid {arguments.grid}, "
        f"{arguments.batches} training batches of 128 per job"
        f"{' (one epoch)' if arguments.batches == EPOCH_BATCHES else ''}, real MNIST; "
        f"{arguments.rounds} round(s), the three sweeps in turn)",
        "",
        "| sweep | wall time (median) | per job: wall time (mean) | per job: samples/s over its wall time | threads per job |",
        "|---|---|---|---|---|",
    ]
    for name, sweeps in runs.items():
        job_walls = [float(row["wall_time_s"]) for _, rows in sweeps for row in rows]
        mean_job = sum(job_walls) / len(job_walls)
        every_thread_count = {row["threads"] for _, rows in sweeps for row in rows}
        lines.append(
            f"| {name} | {statistics.median(wall for wall, _ in sweeps):.1f} s "
            f"({', '.join(f'{wall:.1f}' for wall, _ in sweeps)}) | {mean_job:.1f} s | "
            f"{samples / mean_job:,.0f} | {', '.join(sorted(every_thread_count))} |"
        )
    lines += [
        "",
        f"- {parallel} against {sequential}: **{statistics.median(ratios):.2f}x** faster, median "
        f"of the rounds (each round: {', '.join(f'{ratio:.2f}x' for ratio in ratios)}, sorted; "
        f"wall time of the whole sweep, launch included)",
        f"- parallel results equal the sequential run with the same threads per job ({reference}), "
        f"in every round: {'yes' if equal else 'NO'} ({', '.join(metrics)} of every job)",
        "",
    ]
    report = "\n".join(lines)
    publish(report, arguments.out / "sweep_throughput.md")
    if not equal:
        raise SystemExit("parallel jobs gave other results than the same jobs run one by one")


if __name__ == "__main__":
    main()
