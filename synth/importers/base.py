"""What every importer returns, and the helpers they share.

Parsers are pure: text in, `ImportResult` out. They never touch the store, so
the exporters can round-trip through them and tests can feed them anything.
A whole file that cannot be read as the format raises `ImportFileError` (one
clear line, exit 2); a single bad entry becomes a `Problem` and the rest import.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from urllib.parse import unquote

from synth import normalize as N
from synth.errors import SynthError
from synth.records import InvalidRecord, Record


class ImportFileError(SynthError):
    """The file as a whole cannot be imported (wrong format, empty, binary, unreadable)."""


@dataclass
class Problem:
    location: str  # "file:line"
    reason: str
    raw: str = ""


@dataclass
class ImportResult:
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line where each record's entry starts
    format: str = ""
    encoding: str = ""
    warnings: list[str] = field(default_factory=list)  # one line each: guessed encoding, NULs removed, ...

    @property
    def entries(self) -> int:
        """Entries read: each distinct entry that gave records, plus each one quarantined."""
        return len(set(self.lines)) + len(self.problems)


class Collector:
    """Builds an ImportResult: validates each record, turning failures into Problems."""

    def __init__(self, name: str, fmt: str, database: str | None = None):
        self.name = name
        self.file = PurePath(name).name or name
        self.fmt = fmt
        self.database = database  # --database overrides detection
        self.result = ImportResult(format=fmt)
        self.index = 0

    def loc(self, line: int) -> str:
        return f"{self.name}:{line}"

    def problem(self, line: int, reason: str, raw: str = "") -> None:
        self.result.problems.append(Problem(self.loc(line), reason, raw[:20000]))

    def add(self, rec: Record, line: int, raw: str, native_id: str | None, detected_db: str = "") -> None:
        """Finish one parsed entry: source, database, source_id, normalise, validate."""
        self.index += 1
        rec.source = rec.source or "import"
        rec.database = (self.database or detected_db or "").strip()
        if not rec.source_id:
            rec.source_id = source_id(rec, native_id, f"{self.file}#{self.index}")
        try:
            rec = rec.normalized()
            rec.validate()
        except (InvalidRecord, ValueError, TypeError) as e:
            self.problem(line, f"invalid entry: {e}", raw)
            return
        self.result.records.append(rec)
        self.result.lines.append(line)


def source_id(rec: Record, native: str | None, fallback: str) -> str:
    """Stable, meaningful provenance id: accession, else PMID/DOI/PMCID, else file#entry.

    Prefixed with the database so the same DOI exported from Scopus and from
    PsycINFO stays two provenance rows of one record instead of overwriting each other.
    """
    if native and native.upper().startswith("WOS:"):
        return native
    db = (rec.database or "").strip()
    # An accession number is only global with its database named: "AN:12" alone is a row number.
    sid = native if native and (db or not native.startswith("AN:")) else None
    if not sid:
        for kind, value in (("pmid", N.normalize_pmid(rec.pmid)), ("doi", N.normalize_doi(rec.doi)),
                            ("pmcid", N.normalize_pmcid(rec.pmcid))):
            if value:
                sid = f"{kind}:{value}"
                break
    sid = sid or fallback
    return f"{db}:{sid}" if db else sid


# --------------------------------------------------------------------------- text helpers
_ENTITY = re.compile(r"&\s*([A-Za-z]{2,10});")
_SECTION_WORDS = {
    "BACKGROUND", "INTRODUCTION", "CONTEXT", "OBJECTIVE", "OBJECTIVES", "AIM", "AIMS", "PURPOSE",
    "PURPOSES", "METHOD", "METHODS", "METHODOLOGY", "DESIGN", "SETTING", "SETTINGS", "PARTICIPANTS",
    "PATIENTS", "SUBJECTS", "POPULATION", "SAMPLE", "INTERVENTION", "INTERVENTIONS", "MEASURES",
    "MEASUREMENTS", "OUTCOME", "OUTCOMES", "RESULTS", "RESULT", "FINDINGS", "CONCLUSION", "CONCLUSIONS",
    "DISCUSSION", "IMPLICATIONS", "LIMITATIONS", "SIGNIFICANCE", "REGISTRATION", "EVIDENCE",
    "SYNTHESIS", "SOURCES", "SELECTION", "EXTRACTION", "ANALYSIS", "ANALYSES", "PROCEDURE",
    "PROCEDURES", "RATIONALE", "HYPOTHESIS", "IMPORTANCE", "EXPOSURE", "EXPOSURES", "STUDY",
}
_LABEL = re.compile(r"(?:^|(?<=[.!?)\]] ))([A-Z][A-Z0-9 ,&/()\-]{2,60}): ")


def one_line(values) -> str:
    """Join wrapped lines / repeated values into one line of text."""
    if values is None:
        return ""
    if isinstance(values, str):
        values = [values]
    text = " ".join(str(v).strip() for v in values if v is not None and str(v).strip())
    text = _ENTITY.sub(_entity, text)  # WoS mangles "&scedil;" into "& scedil;"
    return " ".join(text.split())


def _entity(m: re.Match) -> str:
    decoded = html.unescape(f"&{m.group(1)};")
    return decoded if decoded != f"&{m.group(1)};" else m.group(0)


def structure_abstract(text: str) -> str:
    """Put inline section labels ("BACKGROUND: ... METHODS: ...") one a line, as synth stores them.

    Only when the abstract starts with a label and every label contains a usual
    section word, so that "HIV: ..." in running text is never split.
    """
    text = one_line(text)
    hits = [m for m in _LABEL.finditer(text) if _SECTION_WORDS & set(re.findall(r"[A-Z]+", m.group(1)))]
    if len(hits) < 2 or hits[0].start() != 0:
        return text
    bounds = [m.start() for m in hits] + [len(text)]
    parts = [text[a:b].strip() for a, b in zip(bounds, bounds[1:])]
    return "\n".join(parts)


def find_doi(*values) -> str | None:
    """A DOI in link-like values (doi.org URLs, `doi:` prefixes), URL-decoded."""
    for v in values:
        for s in ([v] if isinstance(v, str) else (v or [])):
            s = unquote(str(s))
            if re.search(r"doi\.org/|^\s*doi:\s*10\.|^\s*10\.\d{4,9}/", s, re.I):
                d = N.normalize_doi(s)
                if d:
                    return d
    return None


def find_pmid(*values) -> str | None:
    for v in values:
        for s in ([v] if isinstance(v, str) else (v or [])):
            m = re.search(r"\b(?:PMID|PubMed\s*ID)\s*[:=]?\s*(\d{1,9})\b", str(s), re.I)
            if m:
                return m.group(1)
    return None


def find_pmcid(*values) -> str | None:
    for v in values:
        for s in ([v] if isinstance(v, str) else (v or [])):
            m = re.search(r"\bPMC\s*(?:ID)?\s*[:=]?\s*(?:PMC)?(\d{3,9})\b", str(s), re.I)
            if m:
                return f"PMC{m.group(1)}"
    return None


def page_range(first: str, last: str = "") -> str:
    """ "123" + "130" -> "123-130"; a range already written whole is kept."""
    first, last = one_line(first), one_line(last)
    return f"{first}-{last}" if first and last and last != first and "-" not in first else first or last


def split_list(value, seps=";") -> list[str]:
    """A keyword-like field: list items, each possibly holding `;`-separated items."""
    items = value if isinstance(value, list) else [value] if value else []
    out = []
    for it in items:
        for part in re.split(f"[{re.escape(seps)}]", str(it)):
            part = one_line(part)
            if part:
                out.append(part)
    return out


def database_from_urls(*values) -> str:
    """Which database a record came from, from its links."""
    for v in values:
        for s in ([v] if isinstance(v, str) else (v or [])):
            s = str(s).lower()
            for needle, name in (("scopus.com", "Scopus"), ("embase.com", "Embase"), ("proquest.com", "ProQuest"),
                                 ("ebscohost", "EBSCO"), ("ovid", "Ovid"), ("webofscience", "Web of Science"),
                                 ("webofknowledge", "Web of Science"), ("pubmed.ncbi", "PubMed"),
                                 ("eric.ed.gov", "ERIC"), ("psycnet.apa.org", "APA PsycInfo")):
                if needle in s:
                    return name
    return ""
