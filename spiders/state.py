"""Per-source bookkeeping of one harvest: counts, failures, quarantine, the window.

`synth harvest` creates one SourceRun per source (all sharing one Store, so the
title index used for fuzzy de-duplication sees every source's records) and
hands it to the spider; `scrapy crawl NAME` makes its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from synth.errors import SynthError
from synth import harvestlog

COUNT_KEYS = ("requests", "seen", "new", "updated", "merged", "unchanged", "quarantined", "failed_requests")


def parse_day(value, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise SynthError(f"{what}: expected a date as YYYY-MM-DD, got {value!r}") from None


def resolve_window(project, since=None, until=None) -> tuple[date, date]:
    h = project.section("harvest")
    lo = parse_day(since or h.get("since") or "2000-01-01", "--since")
    hi = parse_day(until or h.get("until") or date.today().isoformat(), "--until")
    if lo > hi:
        raise SynthError(f"--since {lo} is after --until {hi}")
    return lo, hi


def query_hash(query: str) -> str:
    """Identity of a source's query: a changed query starts its windows afresh."""
    return hashlib.sha256(" ".join((query or "").split()).encode()).hexdigest()[:16]


@dataclass
class SourceRun:
    source: str
    store: object  # synth.store.Store
    run_id: int | None
    query: str
    since: date
    until: date
    max_records: int | None = None
    on_change: Callable[["SourceRun"], None] | None = None
    counts: dict = field(default_factory=lambda: {k: 0 for k in COUNT_KEYS})
    total: int | None = None  # hits the API reported, for progress
    errors: list[str] = field(default_factory=list)
    capped: bool = False  # stopped at --max: the window is not complete
    finish_reason: str = ""
    window_recorded: bool = False

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n
        if self.on_change:
            self.on_change(self)

    def set_total(self, total: int) -> None:
        self.total = total
        if self.on_change:
            self.on_change(self)

    @property
    def full(self) -> bool:
        """True once --max records have been seen; spiders stop paging."""
        if self.max_records is not None and self.counts["seen"] >= self.max_records:
            self.capped = True
            return True
        return False

    def quarantine(self, reason: str, raw: str = "", source_id: str = "", location: str = "") -> None:
        self.store.quarantine(self.source, reason, raw=raw or "", source_id=source_id, location=location, run_id=self.run_id)
        self.count("quarantined")

    def fail(self, url: str, error: str) -> None:
        """A request that failed after all retries: recorded, the source is marked failed."""
        harvestlog.record_failure(self.store, self.run_id, self.source, url, error)
        short = url if len(url) <= 100 else url[:97] + "..."
        self.errors.append(f"{error} ({short})")
        self.count("failed_requests")

    @property
    def ok(self) -> bool:
        return not self.errors and self.finish_reason in ("", "finished")

    def finish(self, reason: str) -> None:
        """Record the window [since, until] as complete when nothing was lost or cut short."""
        self.finish_reason = reason
        if reason != "finished" and not self.errors:
            self.errors.append(f"crawl ended: {reason}")
        if self.ok and not self.capped:
            harvestlog.record_window(self.store, self.source, query_hash(self.query), self.since.isoformat(),
                                     self.until.isoformat(), self.counts["seen"], self.run_id)
            self.window_recorded = True
        if self.on_change:
            self.on_change(self)

    def summary(self) -> dict:
        return {
            "source": self.source, **self.counts, "duplicates_merged": self.counts["merged"],
            "status": "ok" if self.ok else "failed", "window": [self.since.isoformat(), self.until.isoformat()],
            "window_complete": self.window_recorded, "capped": self.capped, "errors": self.errors[:20],
        }
