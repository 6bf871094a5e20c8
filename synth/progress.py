"""The one progress-bar builder (rich, on stderr): count, rate and ETA; silent when disabled.
Used by harvest (one bar per source), import, embedding and coding."""

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


def progress_bar(enabled: bool = True, console: Console | None = None, info: bool = False) -> Progress:
    """A bar per task: description, bar, done/total, rate, elapsed, ETA; with INFO, the task's
    `info` field (e.g. a source's request and merge counts) instead of the rate."""
    middle = [TextColumn("{task.fields[info]}")] if info else [RateColumn()]
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        *middle, TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console or Console(stderr=True), disable=not enabled, transient=False,
    )
