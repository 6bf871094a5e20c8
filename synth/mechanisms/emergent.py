"""Emergent mechanisms: clusters of evidence sentences the theory explains poorly.

Candidates are the findings and conclusions about a process (participants' accounts,
explanations) that no theory mechanism claims (best mechanism probability below
`Params.emergent_fit`), including what goes wrong: dependency, boundaries, distress.
They are clustered by average-linkage agglomerative clustering on cosine distance
(scikit-learn), which needs no minimum density and so forms clusters on a corpus of a
hundred studies as well as of ten thousand; a cluster counts when it has at least
MIN_SIZE sentences from at least MIN_RECORDS studies (a mechanism seen across studies).
Each is labelled by its most distinctive terms (class-based TF-IDF over CountVectorizer
counts, as in BERTopic). Cluster ids (E1, E2, ...) are stable: a new cluster takes the id of
the previous cluster whose centroid is closest (cosine >= MATCH_COSINE), else a fresh id;
ids are never reused.
"""

from __future__ import annotations

import json

import numpy as np

from synth.records import utcnow

MATCH_COSINE = 0.8
MAX_CANDIDATES = 4000  # agglomerative clustering is quadratic: a deterministic subsample above this
DISTANCE = 0.55  # average cosine distance within a cluster (tuned on the training batch's unexplained findings)
MIN_SIZE = 3
MIN_RECORDS = 2

def ctfidf_terms(docs_per_cluster: list[list[str]], top: int = 6) -> list[list[str]]:
    """Top distinctive terms per cluster: c-TF-IDF (term frequency in the class × log(1 + A / term frequency overall))."""
    from sklearn.feature_extraction.text import CountVectorizer

    joined = [" ".join(d) for d in docs_per_cluster]
    vec = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z\-]+\b")
    try:
        counts = vec.fit_transform(joined).toarray().astype(float)
    except ValueError:  # only stop words
        return [[] for _ in joined]
    vocab = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg_words = counts.sum() / max(len(joined), 1)
    idf = np.log(1 + avg_words / np.maximum(counts.sum(axis=0), 1))
    score = tf * idf
    out = []
    for row in score:
        order = np.lexsort((vocab, -row))  # ties broken alphabetically: deterministic
        terms: list[str] = []
        for j in order:
            if row[j] <= 0 or len(terms) >= top:
                break
            t = vocab[j]
            if any(t in s or s in t for s in terms):  # skip "peer" when "peer mentors" is there
                continue
            terms.append(t)
        out.append(terms)
    return out


def cluster(vectors: np.ndarray, groups: list[str] | None = None, distance: float = DISTANCE,
            min_size: int = MIN_SIZE, min_records: int = MIN_RECORDS) -> np.ndarray:
    """Cluster labels (-1 = noise): average-linkage on cosine distance; small or one-study clusters are noise."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(vectors)
    if n < max(min_size, 2):
        return np.full(n, -1)
    raw = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                  linkage="average").fit_predict(vectors)
    groups = groups or [str(i) for i in range(n)]
    labels = np.full(n, -1)
    kept = 0
    for lab in sorted(set(raw.tolist()), key=lambda c: int(np.flatnonzero(raw == c)[0])):  # deterministic order
        sel = np.flatnonzero(raw == lab)
        if len(sel) >= min_size and len({groups[i] for i in sel}) >= min_records:
            labels[sel] = kept
            kept += 1
    return labels


# ---------------------------------------------------------------------- sentence_fit (written by the coder)
def put_fit(store, record_id: str, fit: list[tuple[int, float, bool]]) -> None:
    """How well the theory explains each evidence sentence of a record, replacing what was there
    (inside the coder's transaction); candidates are the sentences clustering looks at."""
    store.conn.execute("DELETE FROM sentence_fit WHERE record_id=?", (record_id,))
    store.conn.executemany("INSERT INTO sentence_fit(record_id, idx, fit, candidate) VALUES (?,?,?,?)",
                           [(record_id, idx, f, int(cand)) for idx, f, cand in fit])


def has_candidates(store) -> bool:
    return store.conn.execute("SELECT 1 FROM sentence_fit WHERE candidate=1 LIMIT 1").fetchone() is not None


def prune_fit(store) -> None:
    """Fit of records merged away or gone leaves with them."""
    store.conn.execute("DELETE FROM sentence_fit WHERE record_id NOT IN (SELECT id FROM records WHERE merged_into IS NULL)")


def _candidates(store) -> list[tuple[str, int, str]]:
    return store.conn.execute(
        "SELECT f.record_id, f.idx, s.text FROM sentence_fit f JOIN sentences s ON s.record_id=f.record_id AND s.idx=f.idx "
        "JOIN records r ON r.id=f.record_id AND r.merged_into IS NULL WHERE f.candidate=1 ORDER BY f.record_id, f.idx"
    ).fetchall()


# ---------------------------------------------------------------------- clusters
def refresh_emergent(store, vectors, params=None) -> dict:
    rows = _candidates(store)
    if len(rows) > MAX_CANDIDATES:  # a deterministic subsample keeps clustering time bounded
        step = len(rows) / MAX_CANDIDATES
        rows = [rows[int(i * step)] for i in range(MAX_CANDIDATES)]
    keys = [(r[0], r[1]) for r in rows]
    texts = [r[2] for r in rows]
    if rows:
        mat = vectors.sentence_vectors(keys, texts)
        ok = ~np.isnan(mat).any(axis=1)
        mat, keys, texts = mat[ok], [k for k, o in zip(keys, ok) if o], [t for t, o in zip(texts, ok) if o]
    else:
        mat = np.zeros((0, 1), np.float32)
    labels = cluster(mat, [k[0] for k in keys]) if len(keys) else np.zeros(0, int)
    found = sorted(set(labels.tolist()) - {-1})
    cents, members, docs = [], [], []
    for lab in found:
        sel = np.flatnonzero(labels == lab)
        c = mat[sel].mean(axis=0)
        cents.append(c / max(np.linalg.norm(c), 1e-9))
        members.append([keys[i] for i in sel])
        docs.append([texts[i] for i in sel])
    terms = ctfidf_terms(docs) if docs else []
    old = store.conn.execute("SELECT id, centroid FROM emergent_clusters ORDER BY id").fetchall()
    old_ids = [o[0] for o in old]
    old_c = np.stack([np.frombuffer(o[1], dtype=np.float32) for o in old]) if old else np.zeros((0, 1), np.float32)
    assign: dict[int, str] = {}
    if len(old) and cents:
        sims = np.stack(cents) @ old_c.T
        pairs = sorted(((float(sims[i, j]), i, j) for i in range(len(cents)) for j in range(len(old))), key=lambda p: (-p[0], p[1], p[2]))
        used_new, used_old = set(), set()
        for s, i, j in pairs:
            if s < MATCH_COSINE:
                break
            if i in used_new or j in used_old:
                continue
            assign[i] = old_ids[j]
            used_new.add(i)
            used_old.add(j)
    next_n = 1 + max([int(o[1:]) for o in old_ids if o[1:].isdigit()] or [0])
    # fresh ids in a deterministic order: largest cluster first
    for i in sorted(range(len(cents)), key=lambda i: (-len(members[i]), members[i][0])):
        if i not in assign:
            assign[i] = f"E{next_n}"
            next_n += 1
    now = utcnow()
    with store.transaction() as c:
        c.execute("DELETE FROM emergent_members")
        c.execute("UPDATE emergent_clusters SET status='gone' WHERE status='active'")
        for i, cid in assign.items():
            label = ", ".join(terms[i][:4]) if terms[i] else cid
            nrec = len({k[0] for k in members[i]})
            prev = c.execute("SELECT status FROM emergent_clusters WHERE id=?", (cid,)).fetchone()
            status = "promoted" if prev and prev[0] == "promoted" else "active"
            c.execute(
                "INSERT INTO emergent_clusters(id, label, terms, size, records, centroid, status, first_seen, last_seen) "
                "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET label=excluded.label, terms=excluded.terms, "
                "size=excluded.size, records=excluded.records, centroid=excluded.centroid, status=?, last_seen=excluded.last_seen",
                (cid, label, json.dumps(terms[i]), len(members[i]), nrec, cents[i].astype(np.float32).tobytes(), status, now, now, status),
            )
            c.executemany("INSERT OR REPLACE INTO emergent_members(cluster_id, record_id, idx) VALUES (?,?,?)",
                          [(cid, rid, idx) for rid, idx in members[i]])
    return {"candidates": len(keys), "clusters": len(cents), "ids": sorted(assign.values(), key=lambda s: int(s[1:]))}


def list_clusters(store, include_gone: bool = False) -> list[dict]:
    where = "" if include_gone else "WHERE status='active'"
    out = []
    for r in store.conn.execute(f"SELECT id, label, terms, size, records, status, promoted_to FROM emergent_clusters {where}"):
        ex = store.conn.execute(
            "SELECT s.record_id, s.idx, s.text FROM emergent_members m JOIN sentences s ON s.record_id=m.record_id AND s.idx=m.idx "
            "WHERE m.cluster_id=? ORDER BY m.record_id, m.idx LIMIT 3", (r[0],)).fetchall()
        out.append({"id": f"emergent:{r[0]}", "cluster": r[0], "label": r[1], "terms": json.loads(r[2]), "sentences": r[3],
                    "records": r[4], "status": r[5], "promoted_to": r[6],
                    "examples": [{"record_id": e[0], "idx": e[1], "text": e[2]} for e in ex]})
    out.sort(key=lambda d: int(d["cluster"][1:]))
    return out


def cluster_members(store, cluster_id: str) -> list[tuple[str, int]]:
    cid = cluster_id.split(":", 1)[-1]
    return [(r[0], r[1]) for r in store.conn.execute(
        "SELECT record_id, idx FROM emergent_members WHERE cluster_id=? ORDER BY record_id, idx", (cid,))]


# A promoted mechanism's phrases are lexical hints for the coder: a phrase in many records ("peer
# support", "young people") would code the mechanism everywhere.
PHRASE_MAX_DF = 0.1


def promotion(project, store, ref: str) -> dict:
    """What promoting emergent candidate REF ("E3" or "emergent:E3") adds to the theory: name,
    description, phrases (its terms, less those common in the corpus) and examples. SynthError for an
    unknown candidate or one already promoted."""
    from synth.errors import SynthError

    cid = ref.split(":", 1)[-1].upper()
    found = [c for c in list_clusters(store, include_gone=True) if c["cluster"] == cid]
    if not found:
        raise SynthError(f"no emergent candidate {ref!r}; `synth mechanisms` lists them")
    c = found[0]
    if c["promoted_to"]:
        raise SynthError(f"{cid} was promoted already, to {c['promoted_to']!r}; edit theory.yaml to change that mechanism")
    return {"cluster": cid, "name": c["label"].capitalize(),
            "description": f"Emergent mechanism ({c['label']}), e.g.: " + " ".join(e["text"] for e in c["examples"][:2]),
            "phrases": _specific(project, store, c["terms"])[:6], "examples": [e["text"] for e in c["examples"]]}


def _specific(project, store, terms: list[str]) -> list[str]:
    """TERMS whose rarest word is in under PHRASE_MAX_DF of the records (all of them before a lexical index exists)."""
    from synth.lexical import LexicalIndex

    lex = LexicalIndex.load(project)
    if lex is None or not lex.ids:
        return list(terms)
    n = len(lex.ids)
    out = []
    for t in terms:
        stems = lex.tokenize(t)
        if stems and min(lex.df(x) for x in stems) / n < PHRASE_MAX_DF:
            out.append(t)
    return out


def mark_promoted(store, cluster_id: str, mechanism_id: str) -> None:
    store.conn.execute("UPDATE emergent_clusters SET status='promoted', promoted_to=? WHERE id=?",
                       (mechanism_id, cluster_id.split(":", 1)[-1]))
