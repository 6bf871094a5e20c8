"""Cross-source duplicate detection beyond shared identifiers.

Two records with no identifier in common are the same study when their
normalised titles match fuzzily (rapidfuzz) within a year of each other and no
identifier conflicts (a protocol and its results paper have near-identical
titles but different DOIs, and must stay apart).
"""

from __future__ import annotations

import sqlite3

from rapidfuzz import fuzz, process

TITLE_THRESHOLD = 94.0  # token-sorted similarity, 0..100
MIN_TITLE_LEN = 25  # short titles ("Peer support") are too generic to match on


def conflicts(a: dict, b: dict) -> bool:
    """True when both carry the same kind of identifier with different values."""
    return any(a.get(k) and b.get(k) and a[k] != b[k] for k in ("doi", "pmid", "pmcid", "openalex"))


class TitleIndex:
    """Title keys of live records, blocked by year, loaded lazily from the store."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.by_year: dict[int | None, dict[str, str]] = {}
        self._loaded: set = set()

    def _year(self, year):
        if year not in self._loaded:
            rows = self.conn.execute(
                "SELECT id, title_key FROM records WHERE merged_into IS NULL AND year IS ?", (year,)
            ).fetchall()
            self.by_year[year] = {r[0]: r[1] for r in rows}
            self._loaded.add(year)
        return self.by_year[year]

    def match(self, key: str, year: int | None) -> str | None:
        if len(key) < MIN_TITLE_LEN:
            return None
        years = [year] if year is None else [year, year - 1, year + 1]
        best: tuple[float, str] | None = None
        for y in years:
            block = self._year(y)
            if not block:
                continue
            hit = process.extractOne(key, block, scorer=fuzz.token_sort_ratio, score_cutoff=TITLE_THRESHOLD)
            if hit and (best is None or hit[1] > best[0] or (y == year and hit[1] == best[0])):
                best = (hit[1], hit[2])
        return best[1] if best else None

    def add(self, record_id: str, key: str, year: int | None) -> None:
        self.discard(record_id)
        self._year(year)[record_id] = key

    def discard(self, record_id: str) -> None:
        for block in self.by_year.values():
            block.pop(record_id, None)
