"""Retractions: which stored studies have been retracted, by whom, and since when.

A living review must not keep citing retracted work. Each source says so in its own way;
the parsers turn what they read into *signals* on the Record (`Record.retractions`), and
the publication types every source already sends are read here too:

  pubmed     PublicationType "Retracted Publication"; CommentsCorrections RefType="RetractionIn"
             (and "RetractedandRepublishedIn") with the notice's PMID. A notice carries
             "Retraction of Publication" and RefType="RetractionOf" with the retracted PMID.
  europepmc  pubTypeList "Retracted Publication"; commentCorrectionList type "Retraction in"
             (notice: "Retraction of Publication", "Retraction of").
  openalex   `is_retracted: true` (a notice: type "retraction").
  crossref   `updated-by` type retraction (the retracted work, Crossmark / Retraction Watch);
             `update-to` type retraction (the notice, pointing at the retracted DOI; when it
             points at the work's own DOI, the work itself is the retracted one);
             `relation` is-retracted-by (read when present).
  import     MEDLINE PT / RIN / ROF, and "Retracted Publication" / "Retracted" document types
             in RIS, CSV and BibTeX exports (Web of Science, Scopus).

A signal is one of two kinds:
  retracted  the observed study itself is retracted (notice identifiers when the source gives them);
  notice     the observed record is a retraction notice; `target_*` name the study it retracts.

Signals are stored, keyed by the provenance row (source, source_id) that carried them, in
the `retractions` table owned by this module. Rows are only ever added: a signal from any
source sticks, and a later observation without it never clears it. Because the key is the
provenance row, a signal follows the study through de-duplication merges; a notice's target
is matched by DOI or PMID when it is read, so a study stored after its notice is flagged too.

Readers: `retracted_ids(store)`, `retraction_of(store, record_id)`, `notice_ids(store)`,
`notice_of(store, record_id)`, `retracted_in_run(store, run)`.
Only the standard library (and synth.normalize) is imported: `synth search` uses this module.
"""

from __future__ import annotations

import json
import re

from synth import normalize as N

RETRACTED = "retracted"
NOTICE = "notice"

_BACKFILLED = "retractions_backfilled"

# Publication / document types, lower-cased. PubMed, Europe PMC and MEDLINE PT; Web of Science
# DT ("Retracted Publication", notices "Retraction"); Scopus document type "Retracted";
# OpenAlex type "retraction" (a notice).
RETRACTED_TYPES = {"retracted publication", "retracted article", "retracted"}
NOTICE_TYPES = {"retraction of publication", "retraction notice", "retraction"}
# Crossref update types (Crossmark) that take the work out of the literature.
CROSSREF_RETRACTING = {"retraction", "withdrawal", "removal"}

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                        "dec"), start=1)}
_REF_DATE = re.compile(r"(?:^|[.;]\s+)((?:19|20)\d\d)(?:\s+([A-Za-z]{3})[a-z]*\.?(?:\s+(\d{1,2}))?)?\s*[;:.(]")
_PMID_IN_TEXT = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.I)


# ------------------------------------------------------------------ building signals (parsers, importers)
def retracted(signal: str, notice_doi=None, notice_pmid=None, ref: str = "", date: str = "", detail: str = "") -> dict:
    """A signal that the observed study is retracted."""
    return _signal(RETRACTED, signal, notice_doi=notice_doi, notice_pmid=notice_pmid, notice_ref=ref, date=date,
                   detail=detail)


def notice(signal: str, target_doi=None, target_pmid=None, date: str = "", detail: str = "") -> dict:
    """A signal that the observed record is a retraction notice (of the target, when known)."""
    return _signal(NOTICE, signal, target_doi=target_doi, target_pmid=target_pmid, date=date, detail=detail)


def _signal(kind: str, signal: str, **fields) -> dict:
    out = {"kind": kind, "signal": signal}
    for k in ("notice_doi", "notice_pmid", "target_doi", "target_pmid", "notice_ref", "date", "detail"):
        v = fields.get(k)
        if v:
            out[k] = str(v)
    return out


def from_pub_types(pub_types) -> list[dict]:
    """Signals read from publication / document types (every source and most exports send them)."""
    out = []
    for t in pub_types or []:
        low = " ".join(str(t or "").split()).lower()
        if low in RETRACTED_TYPES:
            out.append(retracted(f"publication type: {' '.join(str(t).split())}"))
        elif low in NOTICE_TYPES:
            out.append(notice(f"publication type: {' '.join(str(t).split())}"))
    return out


def date_of_reference(ref: str) -> str:
    """'J Youth Stud. 2024 Mar 5;12(3):1.' -> '2024-03-05' (the notice's date, as far as the citation gives it)."""
    m = _REF_DATE.search(re.sub(r"10\.\d{4,9}/\S+", " ", ref or ""))  # not the digits of a DOI
    if not m:
        return ""
    y, mon, d = m.group(1), _MONTHS.get((m.group(2) or "").lower()[:3]), m.group(3)
    if not mon:
        return y
    return f"{y}-{mon:02d}-{int(d):02d}" if d else f"{y}-{mon:02d}"


def date_parts(value) -> str:
    """Crossref {'date-parts': [[2024, 3, 5]]} -> '2024-03-05' ('' when absent)."""
    try:
        parts = [int(p) for p in ((value or {}).get("date-parts") or [[]])[0] if p is not None]
    except (TypeError, ValueError, AttributeError, IndexError):
        return ""
    if not parts:
        return ""
    return "-".join([f"{parts[0]:04d}", *(f"{p:02d}" for p in parts[1:3])])


def pmid_in(text: str) -> str | None:
    m = _PMID_IN_TEXT.search(text or "")
    return m.group(1) if m else None


def doi_in(text: str) -> str | None:
    return N.normalize_doi(text) if text and "10." in text else None


def from_medline(tags: dict[str, list[str]]) -> list[dict]:
    """MEDLINE/.nbib: RIN (retraction in: this record is retracted), ROF (retraction of: a notice).

    The value is the other record's citation, e.g. 'J Ment Health. 2021 Feb;30(1):1. PMID: 33012345'.
    (PT "Retracted Publication" / "Retraction of Publication" arrive as pub_types.)
    """
    out = []
    for ref in tags.get("RIN") or []:
        out.append(retracted("RIN", notice_doi=doi_in(ref), notice_pmid=pmid_in(ref), ref=ref,
                             date=date_of_reference(ref)))
    for ref in tags.get("ROF") or []:
        out.append(notice("ROF", target_doi=doi_in(ref), target_pmid=pmid_in(ref)))
    return out


# ------------------------------------------------------------------ storing (Store.upsert calls observe)
def backfill(conn) -> None:
    """Read the signals already in stored provenance (publication types stored before synth read
    retractions). A schema migration (synth/schema.py) runs it once, inside its transaction; the meta
    flag marks databases whose earlier synth already did it."""
    if conn.execute("SELECT 1 FROM meta WHERE key=?", (_BACKFILLED,)).fetchone():
        return
    rows = conn.execute("SELECT source, source_id, data, first_seen FROM provenance "
                        "WHERE data LIKE '%etract%'").fetchall()
    for source, source_id, data, first_seen in rows:
        try:
            obs = json.loads(data)
        except ValueError:
            continue
        # known since the record was stored (run None: the record's own run counts)
        _insert(conn, source, source_id, signals_of(obs), first_seen, None, obs)
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, '1')", (_BACKFILLED,))


def signals_of(obs: dict) -> list[dict]:
    """Every signal one observation (a Record dict) carries: the parser's and its publication types'."""
    return [s for s in (obs.get("retractions") or []) if isinstance(s, dict)] + from_pub_types(obs.get("pub_types"))


def observe(conn, rec, source_id: str, run_id: int | None, now: str | None = None) -> None:
    """Store the signals of one observation (a Record or its dict), inside the caller's transaction."""
    from synth.records import utcnow

    obs = rec.to_dict() if hasattr(rec, "to_dict") else dict(rec)
    _insert(conn, obs.get("source") or "", source_id, signals_of(obs), now or utcnow(), run_id, obs)


def _insert(conn, source: str, source_id: str, signals: list[dict], first_seen: str, run_id, obs: dict) -> None:
    own_doi, own_pmid = N.normalize_doi(obs.get("doi")), N.normalize_pmid(obs.get("pmid"))
    for s in signals:
        kind = s.get("kind")
        if kind not in (RETRACTED, NOTICE):
            continue
        nd, np_ = N.normalize_doi(s.get("notice_doi")) or "", N.normalize_pmid(s.get("notice_pmid")) or ""
        td, tp = N.normalize_doi(s.get("target_doi")) or "", N.normalize_pmid(s.get("target_pmid")) or ""
        if kind == NOTICE and ((td and td == own_doi) or (tp and tp == own_pmid)):
            kind, td, tp = RETRACTED, "", ""  # a notice of itself (Elsevier's update-to): the work is retracted
        if nd and nd == own_doi:
            nd = ""  # some records cite their own DOI as the notice; that says nothing about the notice
        if np_ and np_ == own_pmid:
            np_ = ""
        conn.execute(
            "INSERT INTO retractions(source, source_id, kind, signal, notice_doi, notice_pmid, target_doi, target_pmid, "
            "notice_ref, detail, date, first_seen, run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(source, source_id, kind, signal, notice_doi, notice_pmid, target_doi, target_pmid) DO UPDATE SET "
            # only ever fills in what was missing: never clears, never re-dates
            "notice_ref = CASE WHEN notice_ref = '' THEN excluded.notice_ref ELSE notice_ref END, "
            "detail = CASE WHEN detail = '' THEN excluded.detail ELSE detail END, "
            "date = CASE WHEN date = '' THEN excluded.date ELSE date END",
            (source, source_id, kind, str(s.get("signal") or "")[:200], nd, np_, td, tp,
             " ".join(str(s.get("notice_ref") or "").split())[:500], str(s.get("detail") or "")[:200],
             str(s.get("date") or "")[:10], first_seen, run_id))


# ------------------------------------------------------------------ reading
# Every (live record, signal) pair: the record's own 'retracted' signals, and notices whose target
# is the record (by DOI or PMID; a notice merged into its own target still flags it). notice_record:
# the notice's synth id, when it is stored.
_PAIRS = """
SELECT x.id AS record_id, x.created_at, x.created_run, r.source, r.source_id, r.signal, r.detail, r.date,
       r.notice_doi, r.notice_pmid, r.notice_ref, r.first_seen, r.run_id, NULL AS notice_record
FROM retractions r JOIN provenance p ON p.source = r.source AND p.source_id = r.source_id
JOIN records x ON x.id = p.record_id AND x.merged_into IS NULL
WHERE r.kind = 'retracted'
UNION ALL
SELECT x.id, x.created_at, x.created_run, r.source, r.source_id, r.signal, r.detail, r.date,
       COALESCE(n.doi, ''), COALESCE(n.pmid, ''), COALESCE(n.title, ''), r.first_seen, r.run_id, n.id
FROM retractions r JOIN records x ON x.doi = r.target_doi AND x.merged_into IS NULL
LEFT JOIN provenance p ON p.source = r.source AND p.source_id = r.source_id
LEFT JOIN records n ON n.id = p.record_id
WHERE r.kind = 'notice' AND r.target_doi <> ''
UNION ALL
SELECT x.id, x.created_at, x.created_run, r.source, r.source_id, r.signal, r.detail, r.date,
       COALESCE(n.doi, ''), COALESCE(n.pmid, ''), COALESCE(n.title, ''), r.first_seen, r.run_id, n.id
FROM retractions r JOIN records x ON x.pmid = r.target_pmid AND x.merged_into IS NULL
LEFT JOIN provenance p ON p.source = r.source AND p.source_id = r.source_id
LEFT JOIN records n ON n.id = p.record_id
WHERE r.kind = 'notice' AND r.target_pmid <> ''
"""

_SOURCE_ORDER = {"pubmed": 0, "europepmc": 1, "crossref": 2, "openalex": 3, "import": 4}


def _has_table(store) -> bool:
    return bool(store.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='retractions'").fetchone())


def retracted_ids(store) -> set[str]:
    """Ids of the live records that some source says are retracted."""
    if not _has_table(store):
        return set()
    return {r[0] for r in store.conn.execute(f"SELECT DISTINCT record_id FROM ({_PAIRS})")}


def notice_ids(store) -> set[str]:
    """Ids of the live records that are retraction notices (not studies)."""
    if not _has_table(store):
        return set()
    return {r[0] for r in store.conn.execute(
        "SELECT DISTINCT x.id FROM retractions r JOIN provenance p ON p.source = r.source AND p.source_id = r.source_id "
        "JOIN records x ON x.id = p.record_id AND x.merged_into IS NULL WHERE r.kind = 'notice'")}


def _live(store, record_id: str) -> str:
    seen = set()
    rid = record_id
    while rid and rid not in seen:
        seen.add(rid)
        row = store.conn.execute("SELECT merged_into FROM records WHERE id=?", (rid,)).fetchone()
        if row is None or row[0] is None:
            return rid
        rid = row[0]
    return record_id


def _pairs(store, where: str = "", params: tuple = ()) -> list[dict]:
    if not _has_table(store):
        return []
    sql = f"SELECT * FROM ({_PAIRS})" + (f" WHERE {where}" if where else "")
    out, seen = [], set()
    for r in store.conn.execute(sql, params):
        key = (r["record_id"], r["source"], r["source_id"], r["signal"], r["notice_doi"], r["notice_pmid"])
        if key not in seen:  # a notice naming its study by both DOI and PMID matches it twice
            seen.add(key)
            out.append(dict(r))
    return out


def _summary(record_id: str, pairs: list[dict]) -> dict:
    """One record's retraction: the most informative notice, the earliest date, when synth learnt it."""
    pairs = sorted(pairs, key=lambda p: (_SOURCE_ORDER.get(p["source"], 9), p["first_seen"], p["signal"]))

    def best(key):
        return next((p[key] for p in pairs if p.get(key)), "")

    dates = sorted(p["date"] for p in pairs if p.get("date"))
    known = [(max(p["first_seen"] or "", p["created_at"] or ""), max(p["run_id"] or 0, p["created_run"] or 0))
             for p in pairs]
    first_known, first_run = min(known)
    signals = [{"source": p["source"], "source_id": p["source_id"], "signal": p["signal"], "detail": p["detail"],
                "notice_doi": p["notice_doi"] or None, "notice_pmid": p["notice_pmid"] or None,
                "notice": p["notice_ref"] or None, "notice_record": p["notice_record"], "date": p["date"] or None,
                "first_seen": p["first_seen"]} for p in pairs]
    return {
        "record_id": record_id,
        "retracted": True,
        "source": pairs[0]["source"],
        "sources": sorted({p["source"] for p in pairs}, key=lambda s: _SOURCE_ORDER.get(s, 9)),
        "notice_doi": best("notice_doi") or None,
        "notice_pmid": best("notice_pmid") or None,
        "notice": best("notice_ref") or None,
        "notice_record": best("notice_record") or None,
        "date": dates[0] if dates else None,
        "known_since": first_known,
        "known_run": first_run or None,
        "signals": signals,
    }


def retraction_of(store, record_id: str) -> dict | None:
    """How `record_id` (merges followed) is retracted, or None when no source says it is.

    {record_id, retracted: True, source (the first by source order), sources, notice_doi, notice_pmid,
     notice (the notice's citation or title), notice_record (its synth id when stored), date (of the
     retraction, YYYY[-MM[-DD]], when a source gives it), known_since / known_run (when synth first
     knew), signals: [every source's signal]}.
    """
    rid = _live(store, record_id)
    pairs = _pairs(store, "record_id = ?", (rid,))
    return _summary(rid, pairs) if pairs else None


def retractions(store, ids=None) -> dict[str, dict]:
    """{record id: retraction_of(...)} for every retracted record (or only those in `ids`), in one query."""
    by_id: dict[str, list[dict]] = {}
    if ids is None:
        pairs = _pairs(store)
    else:
        ids = list(dict.fromkeys(ids))
        wanted = frozenset(ids)
        if not ids:
            return {}
        pairs = _pairs(store, f"record_id IN ({','.join('?' * len(ids))})", tuple(ids)) if len(ids) <= 500 \
            else [p for p in _pairs(store) if p["record_id"] in wanted]
    for p in pairs:
        by_id.setdefault(p["record_id"], []).append(p)
    return {rid: _summary(rid, ps) for rid, ps in by_id.items()}


def notice_of(store, record_id: str) -> dict | None:
    """When `record_id` is a retraction notice: {record_id, targets: [{doi, pmid, record_id}], sources}."""
    if not _has_table(store):
        return None
    rid = _live(store, record_id)
    rows = store.conn.execute(
        "SELECT r.source, r.target_doi, r.target_pmid, r.date FROM retractions r JOIN provenance p "
        "ON p.source = r.source AND p.source_id = r.source_id WHERE r.kind = 'notice' AND p.record_id = ?", (rid,)).fetchall()
    if not rows:
        return None
    targets: list[dict] = []
    for r in rows:
        doi, pmid = r["target_doi"] or None, r["target_pmid"] or None
        if not (doi or pmid):
            continue
        hit = store.conn.execute(
            "SELECT id FROM records WHERE merged_into IS NULL AND ((? <> '' AND doi = ?) OR (? <> '' AND pmid = ?))",
            (doi or "", doi or "", pmid or "", pmid or "")).fetchone()
        target_id = hit[0] if hit else None
        same = next((t for t in targets if (target_id and t["record_id"] == target_id)
                     or (doi and t["doi"] == doi) or (pmid and t["pmid"] == pmid)), None)
        if same is None:
            targets.append({"doi": doi, "pmid": pmid, "record_id": target_id})
        else:  # one study named by several sources (PubMed by PMID, Crossref by DOI)
            same["doi"], same["pmid"] = same["doi"] or doi, same["pmid"] or pmid
            same["record_id"] = same["record_id"] or target_id
    return {"record_id": rid, "sources": sorted({r["source"] for r in rows}), "targets": targets}


def describe(info: dict | None) -> str:
    """One line for people: 'RETRACTED (2024-03-05; notice PMID 39000171, doi:...; pubmed, crossref)'."""
    if not info:
        return ""
    bits = []
    if info.get("date"):
        bits.append(info["date"])
    ids = [f"PMID {info['notice_pmid']}" if info.get("notice_pmid") else "",
           f"doi:{info['notice_doi']}" if info.get("notice_doi") else ""]
    ids = [i for i in ids if i]
    if ids:
        bits.append("notice " + ", ".join(ids))
    elif info.get("notice"):
        bits.append(f"notice: {info['notice']}")
    bits.append("says " + ", ".join(info.get("sources") or []))
    return "RETRACTED (" + "; ".join(bits) + ")"


# ------------------------------------------------------------------ what changed
def retracted_in_run(store, run_id: int) -> list[dict]:
    """Records synth first knew to be retracted in run `run_id` (for the refresh summary)."""
    return [_brief(store, info) for info in retractions(store).values() if info["known_run"] == run_id]


def _brief(store, info: dict) -> dict:
    row = store.conn.execute("SELECT title, year, doi, pmid FROM records WHERE id=?", (info["record_id"],)).fetchone()
    return {"id": info["record_id"], "title": row["title"] if row else "", "year": row["year"] if row else None,
            "doi": row["doi"] if row else None, "pmid": row["pmid"] if row else None,
            "retraction": {k: info[k] for k in ("source", "sources", "notice_doi", "notice_pmid", "notice", "date")},
            "known_since": info["known_since"], "known_run": info["known_run"]}


__all__ = ["retracted_ids", "retraction_of", "retractions", "notice_ids", "notice_of",
           "retracted_in_run", "describe", "retracted", "notice", "from_pub_types", "from_medline", "observe",
           "backfill"]
