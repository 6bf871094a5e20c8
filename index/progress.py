"""Progress bars on stderr (rich): count, rate and ETA; silent when disabled."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second, with the unit given as the task's `unit` field."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed or (task.completed / task.elapsed if task.elapsed else None)
        unit = task.fields.get("unit", "it")
        return Text(f"{speed:,.1f} {unit}/s" if speed else f"- {unit}/s", style="progress.data.speed")


def progress_bar(enabled: bool = True, console: Console | None = None) -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        RateColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console or Console(stderr=True), disable=not enabled, transient=False,
    )
