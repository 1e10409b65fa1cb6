"""What a run prints at the end: the numbers exactly as they were logged."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree


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
    Console(width=160).print(table)


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
