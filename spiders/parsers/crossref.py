"""Crossref REST `/works` JSON (message-type work-list, or a single work)."""

from __future__ import annotations

from dataclasses import dataclass, field

from spiders.parsers.common import PageError, Parsed, as_str, author_name, collapse, first, language, load_json, markup_to_text, parse_items
from synth.records import Record


@dataclass
class Page:
    records: list[Parsed] = field(default_factory=list)
    total: int = 0
    next_cursor: str | None = None
    size: int = 0


def parse_works(data) -> Page:
    d = load_json(data)
    if not isinstance(d, dict) or d.get("status") not in (None, "ok"):
        msg = d.get("message") if isinstance(d, dict) else None
        raise PageError(f"Crossref error: {msg}")
    msg = d.get("message") or {}
    if d.get("message-type") == "work":
        return Page(records=list(parse_items([msg], record, source_id)), total=1, size=1)
    if "items" not in msg:
        raise PageError("Crossref response has no message.items")
    items = msg.get("items") or []
    return Page(records=list(parse_items(items, record, source_id)), total=int(msg.get("total-results") or 0),
                next_cursor=msg.get("next-cursor") or None, size=len(items))


def source_id(w: dict) -> str:
    return as_str(w.get("DOI")).lower()


def record(w: dict) -> Record:
    title = markup_to_text(as_str(first(w.get("title")))).replace("\n", " ")
    subtitle = markup_to_text(as_str(first(w.get("subtitle")))).replace("\n", " ")
    if subtitle and subtitle.lower() not in title.lower():
        title = f"{title}: {subtitle}" if title else subtitle
    authors = []
    for a in w.get("author") or []:
        authors.append(author_name(a.get("family"), a.get("given")) or collapse(a.get("name")))
    return Record(
        source="crossref",
        source_id=source_id(w),
        doi=as_str(w.get("DOI")) or None,
        title=title,
        abstract=markup_to_text(as_str(w.get("abstract"))),
        authors=[a for a in authors if a],
        year=_year(w),
        journal=markup_to_text(as_str(first(w.get("container-title")))).replace("\n", " "),
        pub_types=[as_str(w.get("type"))] if w.get("type") else [],
        keywords=[as_str(s) for s in (w.get("subject") or [])],
        language=language(as_str(w.get("language"))),
        url=as_str(w.get("URL")),
        retractions=retraction_signals(w),
    )


def retraction_signals(w: dict) -> list[dict]:
    """Crossmark updates and Retraction Watch, as the REST API carries them:

    `updated-by` [{DOI, type: retraction, source: publisher | retraction-watch, updated}]: this work is
    retracted by that notice; `update-to` [{DOI, type: retraction, ...}]: this work is the notice of
    that DOI (its own DOI: the work itself is the retracted one, as some publishers deposit it);
    `relation` {is-retracted-by | has-retraction: [{id}]} (retracted), {is-retraction-of: [{id}]} (notice).
    Types retraction, withdrawal and removal count; corrections and expressions of concern do not.
    """
    from synth import retractions as R

    own = as_str(w.get("DOI")).lower()
    out = []
    for key, is_notice in (("updated-by", False), ("update-to", True)):
        for u in w.get(key) or []:
            if not isinstance(u, dict):
                continue
            kind = as_str(u.get("type")).lower().replace("-", "_")
            if kind not in R.CROSSREF_RETRACTING:
                continue
            doi = as_str(u.get("DOI")).lower()
            date = R.date_parts(u.get("updated"))
            detail = " ".join(x for x in (kind if kind != "retraction" else "", as_str(u.get("source"))) if x)
            if is_notice and doi and doi != own:
                out.append(R.notice(key, target_doi=doi, date=date, detail=detail))
            else:
                out.append(R.retracted(key, notice_doi=doi if doi != own else None, date=date, detail=detail))
    rel = w.get("relation") if isinstance(w.get("relation"), dict) else {}
    for key, is_notice in (("is-retracted-by", False), ("has-retraction", False), ("is-retraction-of", True)):
        for item in rel.get(key) or []:
            rid = as_str(item.get("id")) if isinstance(item, dict) else ""
            doi = rid if "10." in rid and (not isinstance(item, dict) or item.get("id-type") in (None, "doi")) else None
            out.append(R.notice(f"relation {key}", target_doi=doi) if is_notice
                       else R.retracted(f"relation {key}", notice_doi=doi))
    return out


def _year(w: dict) -> int | None:
    for key in ("issued", "published", "published-print", "published-online", "created"):
        parts = (w.get(key) or {}).get("date-parts") or []
        if parts and parts[0] and parts[0][0]:
            return int(parts[0][0])
    return None
