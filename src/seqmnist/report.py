"""What a run prints at the end: the numbers exactly as they were logged."""

import logging
from pathlib import Path

from lightning.pytorch import Trainer
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree

from seqmnist.data import MNISTDataModule

# configs/hydra/default.yaml sends this logger to the run's log file only: the console already
# shows the rich table
log = logging.getLogger(__name__)

DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "kmnist": "KMNIST"}


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


def tested_on(trainer: Trainer, datamodule: MNISTDataModule) -> str:
    """Which test images a just-finished `trainer.test` saw, for the title of what it printed:
    `+trainer.limit_test_batches` makes it a subset, and that must not read as the test set."""
    official = len(datamodule.data_test)
    batches = sum(trainer.num_test_batches)
    tested = min(batches * datamodule.hparams.eval_batch_size * trainer.world_size, official)
    name = DATASET_NAMES.get(datamodule.hparams.dataset, datamodule.hparams.dataset)
    if tested == official:
        return f"test = the full official {name} test set, {official:,} images"
    return (
        f"test = only {tested:,} of the {official:,} official {name} test images "
        f"(trainer.limit_test_batches={trainer.limit_test_batches})"
    )


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
