"""The one item every spider yields: a parsed Record, or why a record could not be parsed."""

from __future__ import annotations

from dataclasses import dataclass

from synth.records import Record


@dataclass
class RecordItem:
    source: str
    record: Record | None
    source_id: str = ""
    error: str = ""  # parse failure: goes to quarantine with `raw`
    raw: str = ""
    location: str = ""  # the page URL it came from
