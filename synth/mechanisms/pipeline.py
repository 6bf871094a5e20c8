"""code_project: code every record whose text, theory or model changed since it was last coded.

Incremental by `records.coded_hash` = hash(content hash + the coder's fingerprint): adding records
leaves existing codes untouched; editing theory.yaml, changing the model, a new training batch or
new sentence-level curation (which the coder learns from) re-codes everything.
Each batch of records is written in one transaction (codes, roles, relevance, coded_hash
together), so a kill at any moment leaves every record either fully coded or still pending.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from synth.mechanisms.coder import CODER_VERSION, DEFAULT_PARAMS, Coder, Curated, Params, RecordIn, SentenceIn
from synth.mechanisms.curation import decisions
from synth.mechanisms.emergent import has_candidates, prune_fit, put_fit, refresh_emergent
from synth.mechanisms.features import sentence_features
from synth.mechanisms.theory import Theory, load_theory
from synth.mechanisms.training import bundled_hash
from synth.mechanisms.vectors import cached_embed, model_name

def fingerprint(theory: Theory, model: str, curation: list[tuple]) -> str:
    """What the coder's output depends on besides a record's own text."""
    cur = hashlib.sha256(json.dumps(curation).encode()).hexdigest()[:16]
    return f"{theory.hash}|{model}|{CODER_VERSION}|{bundled_hash()}|{cur}"


def coded_hash(content_hash: str, fp: str) -> str:
    return hashlib.sha256(f"{content_hash}|{fp}".encode()).hexdigest()[:16]


def _learnable(store, theory: Theory) -> list[tuple]:
    """Sentence-level curation decisions on theory mechanisms: (record_id, idx, mechanism, decision)."""
    mids = {m.id for m in theory.mechanisms}
    return [d for d in decisions(store) if d[1] >= 0 and d[2] in mids]


def curated_examples(store, vectors, learn: list[tuple]) -> list[Curated]:
    """A reviewer's accepted and rejected fragments as training examples (with their stored vectors and the
    features the sentence has where it stands in its abstract, as the coder sees it when coding)."""
    rows = []
    for rid, idx, code, decision in learn:
        ss = store.sentences_of(rid)
        k = next((n for n, x in enumerate(ss) if x["idx"] == idx), None)
        if k is not None:
            feats = sentence_features([x["section"] for x in ss], [x["text"] for x in ss])[k]
            rows.append((rid, idx, ss[k], code, decision, feats))
    if not rows:
        return []
    mat = vectors.sentence_vectors([(r[0], r[1]) for r in rows], [r[2]["text"] for r in rows])
    return [Curated(v, s["section"], s["text"], code, decision == "accept", feats)
            for (rid, idx, s, code, decision, feats), v in zip(rows, mat) if not np.isnan(v).any()]


def code_project(project, progress: bool = True, vectors=None, params: Params = DEFAULT_PARAMS,
                 batch: int = 500, emergent: bool = True, force: bool = False) -> dict:
    """Code pending records; returns a summary dict. `vectors` defaults to the Chroma index."""
    t0 = time.perf_counter()
    theory = load_theory(project)
    model = model_name(project)
    store = project.store()
    try:
        _cleanup(store)
        learn = _learnable(store, theory)
        fp = fingerprint(theory, model, learn)
        pending = _pending(store, fp, force)
        summary = {"theory_hash": theory.hash, "model": model, "pending": len(pending), "coded": 0,
                   "near_misses": 0, "skipped_unindexed": 0, "sentences": 0, "emergent": None}
        store.set_meta("mechanisms.theory", json.dumps(theory.to_dict(), ensure_ascii=False))
        store.set_meta("mechanisms.relevance_min", str(params.relevance_min))
        if pending:
            if vectors is None:
                from synth.mechanisms.vectors import IndexVectors

                vectors = IndexVectors(project)
            coder = Coder(theory, lambda texts: cached_embed(store, model, texts, vectors.embed), params,
                          curated=curated_examples(store, vectors, learn))
            _code_batches(store, coder, vectors, pending, theory, model, batch, progress, summary)
        if emergent and (summary["coded"] or force or store.get_meta("mechanisms.emergent_theory") != theory.hash):
            if vectors is None and has_candidates(store):
                from synth.mechanisms.vectors import IndexVectors

                vectors = IndexVectors(project)
            if vectors is not None:
                summary["emergent"] = refresh_emergent(store, vectors, params)
                store.set_meta("mechanisms.emergent_theory", theory.hash)
        store.set_meta("mechanisms.theory_hash", theory.hash)
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        return summary
    finally:
        store.close()


def _cleanup(store) -> None:
    """Codes of records merged away or deleted leave with them."""
    with store.transaction() as c:
        c.execute("DELETE FROM codes WHERE record_id NOT IN (SELECT id FROM records WHERE merged_into IS NULL)")
        prune_fit(store)


def _pending(store, fp, force) -> list[tuple[str, str]]:
    out = []
    for rid, ch, done in store.coding_state():
        want = coded_hash(ch, fp)
        if force or done != want:
            out.append((rid, want))
    return out


def _code_batches(store, coder, vectors, pending, theory, model, batch, progress, summary) -> None:
    from contextlib import nullcontext

    bar = None
    if progress:
        from synth.progress import progress_bar

        bar = progress_bar()
    with bar or nullcontext():
        task = bar.add_task("Coding mechanisms", total=len(pending), unit="records") if bar else None
        for start in range(0, len(pending), batch):
            chunk = pending[start:start + batch]
            ids = [rid for rid, _ in chunk]
            recs = store.records_by_id(ids)
            sents = {rid: [SentenceIn(x["idx"], x["section"], x["text"]) for x in xs]
                     for rid, xs in store.sentences_of_many(ids).items()}
            keys = [(rid, s.idx) for rid in ids for s in sents[rid]]
            texts = [s.text for rid in ids for s in sents[rid]]
            mat = vectors.sentence_vectors(keys, texts) if keys else np.zeros((0, coder.dim), np.float32)
            todo, wants, pos = [], [], 0
            for rid, want in chunk:
                rec, ss = recs[rid], sents[rid]
                v = mat[pos:pos + len(ss)]
                pos += len(ss)
                if (rec["abstract"] or "").strip() and (not ss or np.isnan(v).any()):
                    summary["skipped_unindexed"] += 1  # not indexed yet: coded after the next `synth index`
                    continue
                kw = (rec["keywords"] or []) + (rec["mesh"] or [])
                todo.append(RecordIn(rid, rec["title"], rec["abstract"] or "", ss, v, kw, rec["design"] or ""))
                wants.append(want)
            results = list(zip(coder.code_batch(todo), wants))
            with store.transaction() as c:
                store.delete_meta("mechanisms.emergent_theory")  # clusters stale until re-run, even after a kill
                for out, want in results:
                    c.execute("DELETE FROM codes WHERE record_id=?", (out.id,))
                    c.executemany("INSERT OR REPLACE INTO codes(record_id, idx, kind, code, score) VALUES (?,?,?,?,?)",
                                  [(out.id, *code) for code in out.codes])
                    put_fit(store, out.id, out.fit)
                    store.set_coded(out.id, out.relevance, want, out.roles)
                    summary["coded"] += 1
                    summary["near_misses"] += int(out.near_miss)
                    summary["sentences"] += len(out.roles)
            if bar:
                bar.update(task, advance=len(chunk))
