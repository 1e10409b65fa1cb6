"""What a run prints at the end: the numbers exactly as they were logged."""

from rich.console import Console
from rich.table import Table


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
