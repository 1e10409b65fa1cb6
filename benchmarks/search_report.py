"""A time-to-target search, written up from its sweep folder: `python benchmarks/search_report.py
logs/train/multiruns/optuna_time_to_0.975 --out benchmarks/results/time_to_target_97.md`.

Reads every trial's folder (what it trained, from Hydra's saved config; its training seconds to the
validation target or infinity and the test accuracy of the checkpoint that reached it, from
result.json) and prints the frontier, the fastest trial of each model, then every trial fastest
first. Measures nothing itself.
"""

import argparse
import math
from pathlib import Path

from common import publish
from omegaconf import DictConfig, OmegaConf

from seqmnist.callbacks import SECONDS_TO_TARGET
from seqmnist.records.results import COMPLETED, RESULT_FILE, RunResult, read_result


def recipe_of(trial_dir: Path) -> dict[str, object]:
    """What the trial trained, from the config Hydra saved in its folder."""
    cfg = OmegaConf.load(trial_dir / ".hydra" / "config.yaml")
    return {
        "model": f"{cfg.model.hidden}x{cfg.model.layers} {cfg.model.cell}",
        "batch": cfg.data.batch_size,
        "lr": f"{cfg.optimizer.lr:.2g}",
        "schedule": schedule_of(cfg.trainer),
    }


def schedule_of(trainer: DictConfig) -> str:
    """The one-cycle schedule's length: `max_steps` when a search set it, else `max_epochs`."""
    max_steps = trainer.get("max_steps", -1)
    return f"{max_steps} steps" if max_steps > 0 else f"{trainer.max_epochs} epochs"


def seconds(result: RunResult) -> float:
    return result.metrics.get(SECONDS_TO_TARGET, math.inf)


def row(recipe: dict[str, object], result: RunResult) -> str:
    reached = seconds(result)
    time = f"{reached:.1f} s" if math.isfinite(reached) else "stopped (not reached)"
    return (
        f"| {recipe['model']} | {recipe['batch']} | {recipe['lr']} | {recipe['schedule']} | {time} "
        f"| {100 * result.metrics.get('val/acc_best', 0):.2f} % "
        f"| {100 * result.metrics.get('test/acc', 0):.2f} % |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()

    trials = [
        (recipe_of(path.parent), read_result(path))
        for path in sorted(arguments.sweep_dir.glob(f"*/{RESULT_FILE}"))
    ]
    # fastest first; the trials that never reached the target, closest first
    completed = sorted(
        ((recipe, r) for recipe, r in trials if r.status == COMPLETED),
        key=lambda t: (seconds(t[1]), -t[1].metrics.get("val/acc_best", 0)),
    )
    reached = [(recipe, r) for recipe, r in completed if math.isfinite(seconds(r))]
    header = [
        "| model (hidden x layers, cell) | batch | peak lr | schedule "
        "| training time to target | val/acc best | test acc (that checkpoint) |",
        "|---|---|---|---|---|---|---|",
    ]
    frontier: dict[object, tuple[dict[str, object], RunResult]] = {}
    for recipe, result in reached:
        frontier.setdefault(recipe["model"], (recipe, result))
    lines = [
        f"# Time-to-target search: {arguments.sweep_dir.name}",
        "",
        f"{len(trials)} trials, {len(completed)} completed, {len(reached)} reached the validation "
        "target; the others were stopped once they had trained longer than the budget or the "
        "fastest finished trial.",
        "",
        "## Frontier: the fastest trial of each model size",
        "",
        *header,
        *(row(*trial) for trial in frontier.values()),
        "",
        "## Every trial, fastest first",
        "",
        *header,
        *(row(*trial) for trial in completed),
        "",
    ]
    publish("\n".join(lines), arguments.out)


if __name__ == "__main__":
    main()
