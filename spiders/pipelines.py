"""Item pipelines: validate → normalise → store (de-duplicated, provenance merged).

A record that cannot be parsed or fails validation is quarantined with its
reason and raw text, counted, and reported in the harvest summary; it is never
silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from scrapy.exceptions import DropItem

from spiders.items import RecordItem
from synth.records import InvalidRecord


class _Stage:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def state(self):
        return self.crawler.spider.state


def _raw(item: RecordItem) -> str:
    if item.raw:
        return item.raw
    return json.dumps(asdict(item.record), ensure_ascii=False) if item.record else ""


class ValidatePipeline(_Stage):
    """Parse failures and records that fail Record.validate() (after normalising) go to quarantine."""

    def process_item(self, item: RecordItem):
        self.state.count("seen")
        reason = item.error
        if not reason:
            try:
                item.record.normalized().validate()
            except InvalidRecord as e:
                reason = f"invalid: {e}"
            except Exception as e:  # noqa: BLE001 - a field of the wrong type, etc.
                reason = f"invalid: {type(e).__name__}: {e}"
        if reason:
            self.state.quarantine(reason, raw=_raw(item), source_id=item.source_id, location=item.location)
            raise DropItem(f"quarantined {item.source}:{item.source_id}: {reason}")
        return item


class NormalizePipeline(_Stage):
    """Unicode NFC, markup (HTML/JATS/MathML) removed, whitespace, canonical identifiers."""

    def process_item(self, item: RecordItem):
        item.record = item.record.normalized()
        return item


class StorePipeline(_Stage):
    """Upsert into the SQLite store; counts new / updated / merged / unchanged."""

    def process_item(self, item: RecordItem):
        try:
            outcome, _ = self.state.store.upsert(item.record, run_id=self.state.run_id)
        except InvalidRecord as e:
            self.state.quarantine(f"invalid: {e}", raw=_raw(item), source_id=item.source_id, location=item.location)
            raise DropItem(str(e)) from None
        self.state.count(outcome)
        return item
