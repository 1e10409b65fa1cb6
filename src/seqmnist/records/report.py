"""What a run prints at the end: the numbers exactly as they were logged."""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree

# configs/hydra/default.yaml sends this logger to the run's log file only: the console already
# shows the rich table
log = logging.getLogger(__name__)


def as_floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Logged metrics (tensors) as plain numbers, for result.json and the printed table."""
    return {name: float(value) for name, value in metrics.items()}


def print_metrics(
    title: str, metrics: dict[str, float], notes: dict[str, str] | None = None
) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in sorted(metrics):
        table.add_row(name, f"{metrics[name]:.6f}")
    for name, text in (notes or {}).items():
        table.add_row(name, text)
    console = Console(width=160, record=True)
    console.print(table)
    log.info("\n%s", console.export_text())


def tested_on(trainer: Trainer, name: str) -> str:
    """Which test images a just-finished `trainer.test` saw, for the title of what it printed:
    `+trainer.limit_test_batches` makes it a subset, and that must not read as the test set."""
    tested = round(float(trainer.callback_metrics["test/images"]))
    limit = trainer.limit_test_batches
    # Lightning reads the int 1 as one batch and the float 1.0 as all of them
    if isinstance(limit, float) and limit == 1.0:
        return f"test = the full official {name} test set, {tested:,} images"
    # fast_dev_run sets the limit itself: name what the user set
    cut_by = (
        f"trainer.fast_dev_run={trainer.fast_dev_run}"
        if trainer.fast_dev_run
        else f"trainer.limit_test_batches={limit}"
    )
    return f"test = {tested:,} images of the official {name} test set, cut by {cut_by}"


@rank_zero_only  # plain DDP and SLURM start this script once per rank: print and save it once
def print_config_tree(cfg: DictConfig, save_to: Path) -> None:
    """Show the composed config as a tree at start, and keep the same text in the run folder."""
    tree = Tree("config", guide_style="dim")
    for group, node in cfg.items():
        text = (
            OmegaConf.to_yaml(node, resolve=True) if isinstance(node, DictConfig) else f"{node}\n"
        )
        tree.add(f"[bold]{group}[/bold]").add(Syntax(text, "yaml", theme="ansi_dark"))
    Console(width=120).print(tree)
    save_to.parent.mkdir(parents=True, exist_ok=True)
    with save_to.open("w") as stream:
        Console(file=stream, width=120, color_system=None).print(tree)
