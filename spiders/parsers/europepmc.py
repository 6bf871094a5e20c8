"""Europe PMC REST `search` JSON (resultType=core)."""

from __future__ import annotations

from dataclasses import dataclass, field

from spiders.parsers.common import Parsed, as_str, author_name, collapse, load_json, markup_to_text, parse_items
from synth.records import Record


@dataclass
class Page:
    records: list[Parsed] = field(default_factory=list)
    hit_count: int = 0
    next_cursor: str | None = None  # None: end of results (key absent)
    size: int = 0  # items on the page, parsed or not


def parse_search(data) -> Page:
    d = load_json(data)
    if not isinstance(d, dict) or "resultList" not in d:
        from spiders.parsers.common import PageError

        msg = d.get("errMsg") if isinstance(d, dict) else None
        raise PageError(f"Europe PMC error: {msg}" if msg else "Europe PMC response has no resultList")
    items = (d.get("resultList") or {}).get("result") or []
    return Page(
        records=list(parse_items(items, record, source_id)),
        hit_count=int(d.get("hitCount") or 0),
        next_cursor=d.get("nextCursorMark") or None,
        size=len(items),
    )


def source_id(item: dict) -> str:
    return f"{item.get('source', '')}:{item.get('id', '')}".strip(":")


def record(r: dict) -> Record:
    ji = r.get("journalInfo") or {}
    year = as_str(r.get("pubYear")) or (str(ji.get("yearOfPublication")) if ji.get("yearOfPublication") else "")
    journal = as_str((ji.get("journal") or {}).get("title")) or as_str((r.get("bookOrReportDetails") or {}).get("publisher"))
    mesh = [as_str(m.get("descriptorName")) for m in ((r.get("meshHeadingList") or {}).get("meshHeading") or [])]
    src, rid = as_str(r.get("source")), as_str(r.get("id"))
    return Record(
        source="europepmc",
        source_id=source_id(r),
        pmid=as_str(r.get("pmid")) or (rid if src == "MED" else None) or None,
        pmcid=as_str(r.get("pmcid")) or None,
        doi=as_str(r.get("doi")) or None,
        title=markup_to_text(as_str(r.get("title"))).replace("\n", " "),
        abstract=markup_to_text(as_str(r.get("abstractText"))),
        authors=_authors(r),
        year=int(year) if year.strip().isdigit() and int(year) > 0 else None,
        journal=journal,
        pub_types=[as_str(p) for p in ((r.get("pubTypeList") or {}).get("pubType") or [])],
        keywords=[as_str(k) for k in ((r.get("keywordList") or {}).get("keyword") or [])],
        mesh=[m for m in mesh if m],
        language=as_str(r.get("language")),
        url=f"https://europepmc.org/article/{src}/{rid}" if src and rid else "",
        retractions=retraction_signals(r),
    )


RETRACTED_BY = ("retraction in", "retracted and republished in")
NOTICE_OF = ("retraction of",)


def retraction_signals(r: dict) -> list[dict]:
    """commentCorrectionList: type "Retraction in" (this record is retracted; id = the notice, when
    given) and "Retraction of" (this record is the notice). pubTypeList is read from pub_types."""
    from synth import retractions as R

    out = []
    for cc in ((r.get("commentCorrectionList") or {}).get("commentCorrection") or []):
        if not isinstance(cc, dict):
            continue
        kind = collapse(as_str(cc.get("type"))).lower()
        if kind not in RETRACTED_BY and kind not in NOTICE_OF:
            continue
        ref = collapse(as_str(cc.get("reference")))
        cid, csrc = as_str(cc.get("id")), as_str(cc.get("source"))
        pmid = cid if csrc == "MED" and cid.isdigit() else R.pmid_in(ref)
        doi = R.doi_in(ref)
        if kind in RETRACTED_BY:
            out.append(R.retracted(as_str(cc.get("type")), notice_doi=doi, notice_pmid=pmid, ref=ref,
                                   date=R.date_of_reference(ref)))
        else:
            out.append(R.notice(as_str(cc.get("type")), target_doi=doi, target_pmid=pmid))
    return out


def _authors(r: dict) -> list[str]:
    authors = ((r.get("authorList") or {}).get("author")) or []
    if not authors and r.get("authorString"):
        return [collapse(a) for a in as_str(r["authorString"]).rstrip(".").split(",") if a.strip()]
    out = []
    for a in authors:
        name = author_name(a.get("lastName"), a.get("firstName") or a.get("initials"))
        out.append(name or collapse(a.get("fullName") or a.get("collectiveName")))
    return [a for a in out if a]
