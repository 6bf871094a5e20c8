"""The one Record model every source and importer produces.

A Record is what *one* source said about a study. The store merges Records from
several sources into one stored record and keeps each as provenance.

Structured abstracts keep their section labels: one section a line, written
`LABEL: text` (e.g. `METHODS: Twelve young people ...`). Sentence splitting and
the CMO coder rely on that convention.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from synth import normalize as N

SOURCES = ("pubmed", "europepmc", "openalex", "crossref")


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class InvalidRecord(ValueError):
    """Raised by Record.validate(); the reason goes to the quarantine table."""


@dataclass
class Record:
    title: str = ""
    abstract: str = ""
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    openalex: str | None = None
    authors: list[str] = field(default_factory=list)  # "Family, Given" or "Family GI"
    year: int | None = None
    journal: str = ""
    pub_types: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    mesh: list[str] = field(default_factory=list)
    language: str = ""
    url: str = ""
    # where in the journal: tells recurring titles ("Editorial", "Message from the Chair") apart
    volume: str = ""
    issue: str = ""
    pages: str = ""
    # what this source says about a retraction: signals built by synth.retractions (retracted / notice)
    retractions: list[dict] = field(default_factory=list)
    # provenance of this one observation
    source: str = ""  # pubmed | europepmc | openalex | crossref | import
    source_id: str = ""  # the source's own id (PMID, EPMC id, W-id, DOI, file:line)
    database: str = ""  # for imports: PsycINFO, Scopus, ... (free text)
    fetched_at: str = field(default_factory=utcnow)

    def normalized(self) -> "Record":
        """A copy with markup stripped, NFC text and canonical identifiers."""
        r = Record(**asdict(self))
        r.title = N.clean_text(r.title)
        r.abstract = N.strip_markup(r.abstract)
        r.doi = N.normalize_doi(r.doi)
        r.pmid = N.normalize_pmid(r.pmid)
        r.pmcid = N.normalize_pmcid(r.pmcid)
        r.openalex = N.normalize_openalex(r.openalex)
        r.authors = [a for a in (N.clean_text(a) for a in r.authors) if a]
        r.year = N.parse_year(r.year) if r.year is not None else None
        r.journal = N.clean_text(r.journal)
        r.pub_types = _uniq(N.clean_text(t) for t in r.pub_types)
        r.keywords = _uniq(N.clean_text(k) for k in r.keywords)
        r.mesh = _uniq(N.clean_text(m) for m in r.mesh)
        r.language = (r.language or "").strip().lower()[:3]
        r.url = (r.url or "").strip()
        r.volume, r.issue, r.pages = (N.clean_text(str(v or "")) for v in (r.volume, r.issue, r.pages))
        r.source_id = str(r.source_id or "").strip()
        return r

    def validate(self) -> None:
        if not self.source:
            raise InvalidRecord("no source")
        if not self.title.strip():
            raise InvalidRecord("missing title")
        if not any((self.doi, self.pmid, self.pmcid, self.openalex, self.source_id)):
            raise InvalidRecord("no identifier")
        if self.year is not None and not (1800 <= self.year <= 2100):
            raise InvalidRecord(f"implausible year {self.year}")

    def identifiers(self) -> dict[str, str]:
        return {k: v for k, v in (("doi", self.doi), ("pmid", self.pmid), ("pmcid", self.pmcid), ("openalex", self.openalex)) if v}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def content_hash(fields: dict) -> str:
    """Hash of what the index and coder depend on: text and bibliographic facts."""
    keys = ("title", "abstract", "year", "doi", "pmid", "pmcid", "journal", "authors", "pub_types")
    payload = json.dumps({k: fields.get(k) for k in keys}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _uniq(items) -> list[str]:
    seen, out = set(), []
    for it in items:
        if it and it.lower() not in seen:
            seen.add(it.lower())
            out.append(it)
    return out
