"""Everything `synth show` tells about one record, gathered from each table's owner."""

from __future__ import annotations

from typing import Callable


def record_details(store, rec: dict, sentences_of: Callable[[str], list[dict]]) -> dict:
    """Identifiers, provenance (each source's title and ids), design, screening, retraction, mechanisms,
    curation and every evidence sentence with its codes. `sentences_of` gives a record's sentences."""
    from synth import retractions as R
    from synth.design import classify_record
    from synth.mechanisms.codes import codes_by_sentence, record_mechanisms
    from synth.mechanisms.curation import decisions_of
    from synth.screening import decision_of

    rid = rec["id"]
    codes = codes_by_sentence(store, rid)
    sentences = [sent | {"codes": codes.get(sent["idx"], [])} for sent in sentences_of(rid)]
    design = rec["design"] if rec.get("design") is not None else classify_record(rec)
    provenance = store.provenance(rid)
    for p in provenance:
        d = store.observation(p["source"], p["source_id"]) or {}
        p["title"] = d.get("title")
        p["identifiers"] = {k: d.get(k) for k in ("doi", "pmid", "pmcid", "openalex") if d.get(k)}
    retraction, notice = R.retraction_of(store, rid), R.notice_of(store, rid)
    return {
        "id": rid, "doi": rec.get("doi"), "pmid": rec.get("pmid"), "pmcid": rec.get("pmcid"), "openalex": rec.get("openalex"),
        "title": rec.get("title"), "authors": rec.get("authors"), "year": rec.get("year"), "journal": rec.get("journal"),
        "pub_types": rec.get("pub_types"), "keywords": rec.get("keywords"), "mesh": rec.get("mesh"), "url": rec.get("url"),
        "design": design, "relevance": rec.get("relevance"),
        "retracted": retraction is not None, "retraction": retraction, "retraction_notice": notice,
        "screening": decision_of(store, rid),
        "mechanisms": record_mechanisms(store, rid), "record_codes": codes.get(-1, []),
        "curation": decisions_of(store, rid),
        "provenance": provenance, "sentences": sentences, "abstract": rec.get("abstract"),
        "created_at": rec.get("created_at"), "updated_at": rec.get("updated_at"),
    }
