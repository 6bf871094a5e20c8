"""OpenAlex `/works` JSON (list pages with `meta`, or a single work)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spiders.parsers.common import PageError, Parsed, as_str, language, load_json, markup_to_text, parse_items, split_display_name
from synth.records import Record
from synth.retractions import retracted


@dataclass
class Page:
    records: list[Parsed] = field(default_factory=list)
    count: int = 0
    next_cursor: str | None = None
    size: int = 0


def parse_works(data) -> Page:
    d = load_json(data)
    if not isinstance(d, dict):
        raise PageError("OpenAlex response is not a JSON object")
    if "results" not in d:
        if str(d.get("id", "")).startswith("https://openalex.org/W"):  # a single work
            return Page(records=list(parse_items([d], record, source_id)), count=1, size=1)
        raise PageError(f"OpenAlex error: {d.get('error') or d.get('message') or 'no results'}")
    items = d.get("results") or []
    meta = d.get("meta") or {}
    return Page(records=list(parse_items(items, record, source_id)), count=int(meta.get("count") or 0),
                next_cursor=meta.get("next_cursor") or None, size=len(items))


def source_id(w: dict) -> str:
    return as_str(w.get("id")).rsplit("/", 1)[-1]


def abstract_from_inverted_index(index: dict | None) -> str:
    """Rebuild the text OpenAlex ships as {word: [positions]}."""
    if not index:
        return ""
    words: dict[int, str] = {}
    for word, positions in index.items():
        for p in positions:
            words[int(p)] = word
    text = " ".join(words[i] for i in sorted(words))
    # Publisher PDFs often contribute the heading as the first word ("Abstract Large language ...").
    return re.sub(r"^(?:Abstract|ABSTRACT|Summary)[:.]?\s+(?=[A-Z0-9])", "", text)


def record(w: dict) -> Record:
    ids = w.get("ids") or {}
    loc = w.get("primary_location") or {}
    src = loc.get("source") or {}
    kws = [as_str(k.get("display_name") if isinstance(k, dict) else k) for k in (w.get("keywords") or [])]
    types = [t for t in (as_str(w.get("type")), as_str(w.get("type_crossref"))) if t]
    return Record(
        source="openalex",
        source_id=source_id(w),
        openalex=source_id(w),
        doi=as_str(w.get("doi") or ids.get("doi")) or None,
        pmid=_digits(ids.get("pmid")),
        pmcid=("PMC" + _digits(ids.get("pmcid"))) if _digits(ids.get("pmcid")) else None,
        title=markup_to_text(as_str(w.get("title") or w.get("display_name"))).replace("\n", " "),
        # Publishers' abstracts sometimes reach OpenAlex with their JATS tags as words.
        abstract=markup_to_text(abstract_from_inverted_index(w.get("abstract_inverted_index"))),
        authors=[split_display_name(a.get("author", {}).get("display_name") or a.get("raw_author_name")) for a in (w.get("authorships") or [])],
        year=int(w["publication_year"]) if w.get("publication_year") else None,
        journal=as_str(src.get("display_name")),
        pub_types=types,
        keywords=[k for k in kws if k],
        language=language(as_str(w.get("language"))),
        url=as_str(loc.get("landing_page_url")) or as_str(w.get("doi")) or as_str(w.get("id")),
        # is_retracted; a notice is type "retraction" (read from pub_types by synth.retractions)
        retractions=[retracted("is_retracted")] if w.get("is_retracted") is True else [],
    )


def _digits(value) -> str | None:
    m = re.search(r"(\d+)\s*/?$", as_str(value))
    return m.group(1) if m else None


__all__ = ["parse_works", "abstract_from_inverted_index", "record", "Page"]
