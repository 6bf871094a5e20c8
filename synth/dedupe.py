"""Cross-source duplicate detection beyond shared identifiers.

Two records with no identifier in common are the same study when their
normalised titles match fuzzily (rapidfuzz) within a year of each other, no
identifier conflicts (a protocol and its results paper have near-identical
titles but different DOIs, and must stay apart), and nothing else tells them
apart: recurring titles ("Editorial", "Message from the Chairman") share a
journal but not their authors, volume, issue or pages.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

from rapidfuzz import fuzz, process

TITLE_THRESHOLD = 94.0  # token-sorted similarity, 0..100
MIN_TITLE_LEN = 25  # short titles ("Peer support") are too generic to match on


def conflicts(a: dict, b: dict) -> bool:
    """True when both carry the same kind of identifier with different values."""
    return any(a.get(k) and b.get(k) and a[k] != b[k] for k in ("doi", "pmid", "pmcid", "openalex"))


def distinct(a: dict, b: dict) -> bool:
    """True when two records with matching titles are shown to be different studies: no author
    family name in common, or a different volume, issue or first page (both sides must say)."""
    fa, fb = family_names(a.get("authors") or []), family_names(b.get("authors") or [])
    if fa and fb and not fa & fb:
        return True
    for key in ("volume", "issue", "pages"):
        x, y = _number(a.get(key)), _number(b.get(key))
        if x and y and x != y:
            return True
    return False


def family_names(authors: list[str]) -> set[str]:
    """Family names, accent- and case-folded: "Smith, John", "Smith JA", "Liu R.", "John Smith"."""
    out = set()
    for written in authors:
        name = unicodedata.normalize("NFKD", str(written)).encode("ascii", "ignore").decode()
        if re.search(r"\bet al\b", name, re.I):
            continue
        if "," in name:
            family = name.split(",", 1)[0]
        else:
            tokens = name.replace(".", " ").split()
            if len(tokens) > 1 and len(tokens[-1]) <= 3 and tokens[-1].isupper():
                family = " ".join(tokens[:-1])  # "Smith JA", "Liu R."
            else:
                family = tokens[-1] if tokens else ""
        family = re.sub(r"[^a-z]", "", family.lower())
        if len(family) > 1:
            out.add(family)
    return out


def _number(value) -> str:
    """The first number of a volume, issue or page range ("12(3)", "e0123", "S12-S13" → "12", "123", "12")."""
    m = re.search(r"\d+", str(value or ""))
    return m.group(0).lstrip("0") or "0" if m else ""


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
        found = self.candidates(key, year)
        return found[0] if found else None

    def candidates(self, key: str, year: int | None) -> list[str]:
        """Every live record whose title matches, best first (the same year first on ties)."""
        if len(key) < MIN_TITLE_LEN:
            return []
        years = [year] if year is None else [year, year - 1, year + 1]
        hits: list[tuple[float, int, str]] = []
        for rank, y in enumerate(years):
            block = self._year(y)
            if block:
                for _, score, rid in process.extract(key, block, scorer=fuzz.token_sort_ratio,
                                                     score_cutoff=TITLE_THRESHOLD, limit=None):
                    hits.append((-score, rank, rid))
        return [rid for *_, rid in sorted(hits)]

    def add(self, record_id: str, key: str, year: int | None) -> None:
        self.discard(record_id)
        self._year(year)[record_id] = key

    def discard(self, record_id: str) -> None:
        for block in self.by_year.values():
            block.pop(record_id, None)
