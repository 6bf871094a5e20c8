"""Crossref REST `/works` with query, filter, rows/offset and deep-paging cursors, in the real format.

Shapes follow fixtures/real/crossref: `{status, message-type: work-list, message-version,
message: {facets, next-cursor, total-results, items, items-per-page, query}}`, pure-ASCII
JSON, JATS abstracts. As with the real scroll cursors, `next-cursor` is the same on every
page of a crawl and the server remembers how far it got; the end is the first page with
fewer items than `rows`. Rate-limit headers advertise the pool that served the request.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from synth.fakeapi.corpus import (
    abstract_sections,
    in_window,
    nice_label,
    parse_bound,
    pub_date,
    pub_date_iso,
    retraction,
    stable_int,
)
from synth.fakeapi.reply import Reply, first, json_reply

CURSOR_TTL = 300.0  # "Cursors expire after 5 minutes if not used."
POOLS = {"public": ("5", "1"), "polite": ("10", "3"), "plus": ("150", "150")}  # rate per 1s, concurrency
FILTERS = {
    "from-index-date", "until-index-date", "from-pub-date", "until-pub-date", "from-created-date",
    "until-created-date", "from-deposit-date", "until-deposit-date", "from-update-date", "until-update-date",
    "from-online-pub-date", "until-online-pub-date", "from-print-pub-date", "until-print-pub-date",
    "type", "has-abstract", "has-full-text", "has-references", "has-orcid", "member", "prefix", "doi", "issn",
    "container-title", "has-funder", "is-update", "has-license",
}
SORTED_FILTERS = ", ".join(sorted(FILTERS))


class CrossrefAPI:
    source = "crossref"

    def __init__(self, server):
        self.server = server
        self.cursors: dict[str, dict] = {}  # next-cursor -> {"hits", "offset", "used"}

    def handle(self, sub: str, params: dict, headers) -> Reply:
        pool = self._pool(params, headers)
        reply = self.works(params) if sub == "works" else Reply(404, b"Resource not found.", "text/plain")
        limit, concurrency = POOLS[pool]
        reply.headers.update({"x-rate-limit-limit": limit, "x-rate-limit-interval": "1s",
                              "x-concurrency-limit": concurrency, "x-api-pool": pool,
                              "access-control-allow-origin": "*"})
        return reply

    @staticmethod
    def _pool(params: dict, headers) -> str:
        if headers.get("Crossref-Plus-API-Token"):
            return "plus"
        if first(params, "mailto") or "mailto:" in (headers.get("User-Agent") or ""):
            return "polite"
        return "public"

    def works(self, params: dict) -> Reply:
        raw_rows = first(params, "rows") or "20"
        if not raw_rows.isdigit() or int(raw_rows) > 1000:
            return _invalid("integer-not-valid", raw_rows,
                            f"Integer specified as {raw_rows} but must be a positive integer less than or equal "
                            "to 1000.")
        rows = int(raw_rows)
        cursor = first(params, "cursor")
        offset_param = first(params, "offset")
        if cursor and offset_param:
            return _invalid("parameter-not-allowed", "offset", "offset and cursor cannot be combined")
        try:
            filters = _filters(first(params, "filter") or "")
        except _Invalid as e:
            return e.reply

        on_truncated = None
        if cursor:
            with self.server.lock:
                self._expire()
                if cursor == "*":
                    hits = [r for r in self.server.records(self.source) if all(f(r) for f in filters)]
                    cursor = _new_cursor()
                    self.cursors[cursor] = state = {"hits": hits, "offset": 0, "used": time.monotonic()}
                else:
                    state = self.cursors.get(cursor)
                    if state is None:
                        return _invalid("cursor-not-valid", cursor, "Cursor specified is not valid or has expired")
                state["used"] = time.monotonic()
                hits, offset = state["hits"], state["offset"]
                chunk = hits[offset:offset + rows]
                state["offset"] = offset + len(chunk)

            def on_truncated(state=state, offset=offset):
                # a page cut in transit is sent again on the retry instead of being lost
                with self.server.lock:
                    state["offset"] = offset
        else:
            hits = [r for r in self.server.records(self.source) if all(f(r) for f in filters)]
            if offset_param and (not offset_param.isdigit() or int(offset_param) > 10000):
                return _invalid("integer-not-valid", offset_param,
                                "Integer specified as " + offset_param + " but must be a positive integer less "
                                "than or equal to 10000.")
            offset = int(offset_param or 0)
            chunk = hits[offset:offset + rows]
        malformed = self.server.faults.malformed
        select = [s.strip() for s in (first(params, "select") or "").split(",") if s.strip()]
        items = [item(r, malformed=r.get("key") in malformed) for r in chunk]
        if select:
            items = [{k: v for k, v in it.items() if k in select} for it in items]
        message: dict = {"facets": {}}
        if cursor:
            message["next-cursor"] = cursor
        message.update({"total-results": len(hits), "items": items, "items-per-page": rows,
                        "query": {"start-index": int(offset_param or 0),
                                  "search-terms": first(params, "query") or first(params, "query.bibliographic")}})
        body = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0", "message": message}
        return json_reply(body, ascii_only=True, data_page=True, on_truncated=on_truncated)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self.cursors.items() if now - s["used"] > CURSOR_TTL]:
            del self.cursors[key]


class _Invalid(Exception):
    def __init__(self, reply: Reply):
        self.reply = reply


def _invalid(kind: str, value: str, message: str) -> Reply:
    return json_reply({"status": "failed", "message-type": "validation-failure",
                       "message": [{"type": kind, "value": value, "message": message}]}, 400, ascii_only=True)


def _new_cursor() -> str:
    # real cursors are long base64 scroll ids ending in "=="
    return "DnF1ZXJ5VGhlbkZldGNo" + secrets.token_urlsafe(60).replace("-", "+").replace("_", "/") + "=="


def _filters(spec: str) -> list:
    preds = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition(":")
        if key not in FILTERS or not sep:
            raise _Invalid(_invalid("filter-not-available", key,
                                    f"Filter {key} specified but there is no such filter for this route. Valid "
                                    f"filters for this route are: {SORTED_FILTERS}"))
        if key.endswith("-date"):
            try:
                bound = parse_bound(value, end=key.startswith("until"))
            except ValueError:
                raise _Invalid(_invalid("date-not-valid", value, f"Date specified as {value} but must be of "
                                        "the form yyyy, yyyy-mm or yyyy-mm-dd")) from None
            lo, hi = (bound, None) if key.startswith("from") else (None, bound)
            if key in ("from-index-date", "until-index-date", "from-created-date", "until-created-date",
                       "from-deposit-date", "until-deposit-date", "from-update-date", "until-update-date"):
                preds.append(lambda r, lo=lo, hi=hi: in_window(r.get("entry_date"), lo, hi))
            else:
                preds.append(lambda r, lo=lo, hi=hi: in_window(pub_date_iso(r), lo, hi))
        elif key == "has-abstract":
            want = value.lower() in ("true", "1", "t")
            preds.append(lambda r, want=want: bool(r.get("abstract")) == want)
        elif key == "type":
            preds.append(lambda r, value=value: value == "journal-article")
    return preds


def _stamp(day: str | None) -> dict:
    if not day:
        return {"date-parts": [[None]]}
    y, m, d = (int(x) for x in day.split("-"))
    moment = datetime(y, m, d, tzinfo=timezone.utc)
    return {"date-parts": [[y, m, d]], "date-time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timestamp": int(moment.timestamp() * 1000)}


def jats_abstract(abstract: str, key: str = "") -> str:
    parts = []
    if stable_int(key, 2) % 3 == 0:  # many publishers deposit a leading "Abstract" heading
        parts.append("<jats:title>Abstract</jats:title>")
    for label, text in abstract_sections(abstract):
        if label:
            parts.append(f"<jats:sec><jats:title>{escape(nice_label(label))}</jats:title>"
                         f"<jats:p>{escape(text)}</jats:p></jats:sec>")
        else:
            parts.append(f"<jats:p>{escape(text)}</jats:p>")
    return "".join(parts)


def item(rec: dict, malformed: bool = False) -> dict:
    doi = str(rec["doi"]).lower()  # Crossref returns DOIs lower-cased
    entry = rec.get("entry_date")
    y, m, d = pub_date(rec)
    parts = [p for p in (y, m, d) if p]
    out: dict = {
        "indexed": _stamp(entry),
        "reference-count": 0,
        "publisher": "Synth Sample Publishing",
        "content-domain": {"domain": [], "crossmark-restriction": False},
        "short-container-title": [rec["journal"]] if rec.get("journal") else [],
        "published-print": {"date-parts": [parts]},
    }
    r = retraction(rec)
    if r and (r["status"] == "notice" or r.get("style") == "self"):
        # the notice's deposit points at the retracted DOI (some publishers: at the work's own DOI)
        target = doi if r["status"] == "retracted" else str((r.get("of") or {}).get("doi") or "").lower()
        if target:
            out["update-to"] = [_update(target, r.get("date"), "publisher")]
    if rec.get("abstract"):
        out["abstract"] = jats_abstract(rec["abstract"], str(rec.get("key")))
    out.update({"DOI": doi, "type": "journal-article", "created": _stamp(entry)})
    if rec.get("pages"):
        out["page"] = rec["pages"]
    out.update({"source": "Crossref", "is-referenced-by-count": 0})
    if not malformed:
        out["title"] = [rec.get("title") or ""]
    out["prefix"] = doi.split("/", 1)[0]
    if rec.get("volume"):
        out["volume"] = rec["volume"]
    authors = []
    for n, a in enumerate(rec.get("authors") or []):
        au = {}
        if a.get("given"):
            au["given"] = a["given"]
        if a.get("family"):
            au["family"] = a["family"]
        else:
            au["name"] = a.get("name") or a.get("given") or ""
            au.pop("given", None)
        au.update({"sequence": "first" if n == 0 else "additional", "affiliation": []})
        authors.append(au)
    if authors:
        out["author"] = authors
    out.update({"member": "99999", "container-title": [rec["journal"]] if rec.get("journal") else []})
    if rec.get("language"):
        out["language"] = {"eng": "en", "fre": "fr", "ger": "de", "spa": "es"}.get(rec["language"],
                                                                                 rec["language"][:2])
    out.update({"deposited": _stamp(entry), "score": 0.0,
                "resource": {"primary": {"URL": f"https://example.org/article/{doi}"}},
                "issued": {"date-parts": [[None]]} if malformed else {"date-parts": [parts]},
                "references-count": 0})
    if rec.get("issue"):
        out["issue"] = rec["issue"]
    out.update({"URL": f"https://doi.org/{doi}", "published": {"date-parts": [parts]}})
    if r and r["status"] == "retracted" and r.get("style") != "self" and (r.get("notice") or {}).get("doi"):
        # Crossmark / Retraction Watch on the retracted work
        by = r.get("by") or "publisher"
        upd = _update(str(r["notice"]["doi"]).lower(), r.get("date"), by)
        if by == "retraction-watch":
            upd["record-id"] = 10000 + stable_int(doi, 5)
        out["updated-by"] = [upd]
    return out


def _update(doi: str, day: str | None, source: str) -> dict:
    """One entry of `update-to` / `updated-by`, as the REST API writes it."""
    parts = [int(x) for x in str(day or "").split("-") if x.isdigit()]
    stamp = _stamp(day) if len(parts) == 3 else {"date-parts": [parts or [None]]}
    return {"updated": stamp, "DOI": doi, "type": "retraction",
            "source": source, "label": "Retraction"}
