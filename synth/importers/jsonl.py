"""synth's own `synth export --format jsonl`, so exports round-trip; also CSL-JSON arrays.

A synth export line carries the record's provenance (`sources`). Importing it
restores one observation per original source (same source, source id and database),
so a round trip into a fresh project gives the same records with the same provenance.
"""

from __future__ import annotations

import json
import re

from synth.importers.base import Collector, ImportFileError, ImportResult, one_line
from synth.records import SOURCES, Record

_FIELDS = ("title", "abstract", "doi", "pmid", "pmcid", "openalex", "authors", "year", "journal", "pub_types",
           "keywords", "mesh", "language", "url", "volume", "issue", "pages")


def parse(text: str, name: str = "<text>", database: str | None = None) -> ImportResult:
    col = Collector(name, "jsonl", database)
    text = text.lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _json_array(stripped, col, name)
    seen_object = False
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            if not seen_object and no > 5:
                break
            col.problem(no, f"not valid JSON: {e}", line)
            continue
        if not isinstance(obj, dict):
            col.problem(no, f"expected a JSON object, got {type(obj).__name__}", line)
            continue
        seen_object = True
        _add(obj, no, line, col)
    if not seen_object:
        from synth.importers.detect import describe

        raise ImportFileError(f"{name}: no JSON records found ({describe(text)})")
    return col.result


def _json_array(text: str, col: Collector, name: str) -> ImportResult:
    try:
        items = json.loads(text)
    except ValueError as e:
        raise ImportFileError(f"{name}: not valid JSON ({e})") from None
    if not isinstance(items, list) or not any(isinstance(i, dict) for i in items):
        raise ImportFileError(f"{name}: expected a JSON array of records")
    for i, obj in enumerate(items, 1):
        if isinstance(obj, dict):
            _add(obj, i, json.dumps(obj, ensure_ascii=False), col)
        else:
            col.problem(i, f"item {i} is not a JSON object", json.dumps(obj)[:2000])
    col.result.format = "jsonl"
    return col.result


def _add(obj: dict, line: int, raw: str, col: Collector) -> None:
    try:
        rec = _record(obj)
    except (TypeError, ValueError, AttributeError) as e:
        col.problem(line, f"unreadable record: {e}", raw)
        return
    sources = obj.get("sources") if isinstance(obj.get("sources"), list) else []
    # only provenance synth itself writes: a garbled or foreign source name would be stored as a source
    sources = [s for s in sources if isinstance(s, dict) and s.get("source") in (*SOURCES, "import") and s.get("source_id")]
    if not sources or col.database:
        col.add(rec, line, raw, f"synth:{obj['id']}" if isinstance(obj.get("id"), str) and not rec.identifiers() else None)
        return
    for s in sources:  # restore each original observation (same provenance key)
        r = Record(**{k: getattr(rec, k) for k in _FIELDS})
        r.source, r.source_id = str(s["source"]), str(s["source_id"])
        r.retractions = _retractions(obj, (r.source, r.source_id))
        if s.get("fetched_at"):
            r.fetched_at = str(s["fetched_at"])
        col.add(r, line, raw, None, str(s.get("database") or ""))


def _record(o: dict) -> Record:
    """synth export fields, or CSL-JSON (`DOI`, `PMID`, `author`, `issued`, `container-title`)."""
    def s(*keys):
        for k in keys:
            v = o.get(k)
            if isinstance(v, (str, int)) and str(v).strip():
                return str(v)
            if isinstance(v, list) and v and isinstance(v[0], str):
                return v[0]
        return ""

    authors = o.get("authors") if isinstance(o.get("authors"), list) else []
    if not authors and isinstance(o.get("author"), list):  # CSL-JSON names
        for a in o["author"]:
            if isinstance(a, dict):
                name = ", ".join(x for x in (a.get("family"), a.get("given")) if isinstance(x, str) and x) or a.get("literal", "")
                if name:
                    authors.append(str(name))
    year = o.get("year")
    issued = o.get("issued")
    if year is None and isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            year = parts[0][0]
        elif issued.get("raw"):
            year = issued["raw"]
    y = re.search(r"(1[89]\d\d|20\d\d|21\d\d)", str(year)) if year is not None else None

    def lst(key):
        v = o.get(key)
        return [str(x) for x in v if isinstance(x, (str, int))] if isinstance(v, list) else []

    return Record(
        title=one_line(s("title")),
        abstract="\n".join(ln.strip() for ln in s("abstract").split("\n") if ln.strip()),  # keep section lines
        doi=s("doi", "DOI") or None,
        pmid=s("pmid", "PMID") or None,
        pmcid=s("pmcid", "PMCID") or None,
        openalex=s("openalex") or None,
        authors=[str(a) for a in authors if isinstance(a, (str, int))],
        year=int(y.group(1)) if y else None,
        journal=one_line(s("journal", "container-title")),
        pub_types=lst("pub_types") or ([s("type")] if s("type") else []),
        keywords=lst("keywords") or [k.strip() for k in s("keyword").split(",") if k.strip()],
        mesh=lst("mesh"),
        language=s("language"),
        url=s("url", "URL"),
        volume=s("volume"),
        issue=s("issue"),
        pages=s("pages", "page"),
        retractions=_retractions(o),
    )


def _retractions(o: dict, observation: tuple[str, str] | None = None) -> list[dict]:
    """A synth export's `retraction` / `retraction_notice` (and CSL-JSON `status: retracted`) as signals.

    With `observation` (source, source_id): only the signals that observation carried, so a round
    trip restores each source's own signal."""
    from synth import retractions as R

    out = []
    info = o.get("retraction") if isinstance(o.get("retraction"), dict) else None
    if info:
        sigs = [x for x in info.get("signals") or [] if isinstance(x, dict)]
        if observation is not None:
            sigs = [x for x in sigs if (str(x.get("source")), str(x.get("source_id"))) == observation
                    and not x.get("notice_record")]
        elif not sigs:
            sigs = [info]
        for x in sigs:
            out.append(R.retracted(str(x.get("signal") or "synth export"), notice_doi=x.get("notice_doi"),
                                   notice_pmid=x.get("notice_pmid"), ref=str(x.get("notice") or ""),
                                   date=str(x.get("date") or ""), detail=str(x.get("detail") or "")))
    elif str(o.get("status") or "").strip().lower() == "retracted":  # CSL-JSON
        out.append(R.retracted("CSL status"))
    note = o.get("retraction_notice") if isinstance(o.get("retraction_notice"), dict) else None
    for t in (note or {}).get("targets") or []:
        if isinstance(t, dict):
            out.append(R.notice("synth export", target_doi=t.get("doi"), target_pmid=t.get("pmid")))
    return out
