"""Query expansion for BM25 from what the project knows: the programme theory and the first results.

theory_terms:   a query that names a mechanism or an outcome of the theory (its name or one of its
                phrases, all its words in the query in order) gains the code's phrases as extra
                BM25 terms, sharing weight THEORY_WEIGHT. A phrase counts as naming the code only if
                it is specific in this corpus: its rarest word occurs in under THEORY_MAX_DF of the
                records ("peerness" stems to "peer", which every record holds, so it names nothing).
feedback_terms: pseudo-relevance feedback (RM3-like): the FEEDBACK_TERMS most distinctive stems of
                the first FEEDBACK_DOCS fused results (tf / length x idf, summed) join the query,
                taking FEEDBACK_WEIGHT of its weight.

sink_near_misses: records the relevance model flags as near misses move PENALTY (in standard
                deviations of the fused score) down, unless the query names a near-miss cue of the
                theory's scope (then the user asks for them).

Theory expansion and the near-miss sink are shipped; feedback was kept on the first tuning half
and dropped when all 64 queries of the first judged set became the tuning set
(bench/bench_search_quality.py, docs/search.md). Pure Python + the loaded BM25 index: no model.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from functools import lru_cache

THEORY_WEIGHT = 0.25
THEORY_MAX_DF = 0.2
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.1


def theory_codes(store, project=None) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """((code id, trigger phrases, phrases), ...) of the theory's mechanisms and outcomes: the theory
    the corpus was coded with (store meta, written by `synth mechanisms` / `synth refresh`), else the
    project's theory.yaml, else the packaged default."""
    return _codes_of(_theory_source(store, project))


def near_miss_cues(store, project=None) -> tuple[str, ...]:
    """The scope's near-miss cues (scope.exclude: "bullying", "peer review", ...) of the same theory."""
    return _cues_of(_theory_source(store, project))


def _theory_source(store, project=None) -> tuple[str, str, int]:
    """Which theory a search reads, as a cache key: ("json", the coded theory, 0), ("yaml", path,
    mtime: re-read when the file changes) or ("default", "", 0)."""
    raw = store.get_meta("mechanisms.theory") or ""
    if raw:
        return ("json", raw, 0)
    from synth.mechanisms.theory import theory_path

    path = theory_path(project) if project is not None else None
    if path is not None and path.exists():
        return ("yaml", str(path), path.stat().st_mtime_ns)
    return ("default", "", 0)


@lru_cache(maxsize=4)
def _theory_data(source: tuple[str, str, int]) -> dict:
    """The theory as a dict, YAML read with libyaml's C loader when there is one (the pure-Python
    loader takes ~0.1 s for the default theory, a fifth of a cold search). Unreadable: empty."""
    kind, text, _ = source
    if kind == "json":
        return json.loads(text)
    import yaml

    from pathlib import Path

    from synth.mechanisms.theory import default_theory_text

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(default_theory_text() if kind == "default" else Path(text).read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=4)
def _codes_of(source: tuple[str, str, int]):
    return _from_dict(_theory_data(source))


@lru_cache(maxsize=4)
def _cues_of(source: tuple[str, str, int]) -> tuple[str, ...]:
    scope = _theory_data(source).get("scope")
    return tuple(str(c) for c in ((scope if isinstance(scope, dict) else {}).get("exclude") or ()))


def _from_dict(t: dict):
    out = []
    for kind in ("mechanisms", "outcomes"):
        for c in t.get(kind) or []:
            if isinstance(c, dict) and c.get("id"):
                phrases = tuple(str(p) for p in c.get("phrases") or ())
                out.append((str(c["id"]), (str(c.get("name") or ""), *phrases), phrases))
    return tuple(out)


def asks_for_near_misses(lex, query: str, cues: tuple[str, ...]) -> bool:
    """Whether QUERY names one of the near-miss cues ("peer victimisation"): then it asks for them."""
    qstems = lex.tokenize(query)
    return any(t and _contains(qstems, tuple(t)) for t in (lex.tokenize(c) for c in cues))


def sink_near_misses(fused: list[tuple[str, float]], relevance: dict, floor: float | None,
                     penalty: float) -> list[tuple[str, float]]:
    """FUSED with records the relevance model puts under FLOOR (near misses) PENALTY lower, re-sorted."""
    if not penalty or floor is None:
        return fused
    out = [(rid, s - penalty if relevance.get(rid) is not None and relevance[rid] < floor else s) for rid, s in fused]
    return sorted(out, key=lambda kv: (-kv[1], kv[0]))


def _contains(seq: list[str], sub: tuple[str, ...]) -> bool:
    n = len(sub)
    return any(tuple(seq[i:i + n]) == sub for i in range(len(seq) - n + 1))


_STEMMED: dict[tuple, tuple] = {}


def _stemmed(lex, codes):
    """CODES with every trigger and phrase tokenised as LEX tokenises (cached: ~700 phrases)."""
    key = (id(codes), lex.stopwords)
    got = _STEMMED.get(key)
    if got is None or got[0] is not codes:
        stem = tuple((cid, tuple(t for t in (tuple(lex.tokenize(p)) for p in triggers) if t),
                      tuple(sorted({s for p in phrases for s in lex.tokenize(p)})))
                     for cid, triggers, phrases in codes)
        got = (codes, stem)
        if len(_STEMMED) > 8:
            _STEMMED.clear()
        _STEMMED[key] = got
    return got[1]


def named_codes(lex, query_stems: list[str], codes, max_df: float = THEORY_MAX_DF) -> list[tuple[str, tuple[str, ...]]]:
    """(code id, phrase stems) of the codes the query names with a phrase specific enough in this corpus."""
    n = max(1, len(lex.ids))
    present = set(query_stems)
    hit = []
    for cid, triggers, stems in _stemmed(lex, codes):
        for t in triggers:
            if present.issuperset(t) and _contains(query_stems, t) and min(lex.df(s) for s in t) / n < max_df:
                hit.append((cid, stems))
                break
    return hit


def theory_terms(lex, query: str, codes, weight: float = THEORY_WEIGHT, max_df: float = THEORY_MAX_DF) -> dict[str, float]:
    """Extra {stem: weight} for the codes QUERY names (empty when it names none)."""
    if not weight or not codes:
        return {}
    qstems = lex.tokenize(query)
    extra: set[str] = set()
    for _, stems in named_codes(lex, qstems, codes, max_df):
        extra.update(s for s in stems if s not in qstems and s in lex.vocab)
    if not extra:
        return {}
    w = weight / math.sqrt(len(extra))
    return {s: w for s in sorted(extra)}


def feedback_terms(lex, terms: dict[str, float], texts: list[str], n_terms: int = FEEDBACK_TERMS,
                   weight: float = FEEDBACK_WEIGHT) -> dict[str, float]:
    """TERMS reweighted with the feedback documents' TEXTS: the query keeps 1 - WEIGHT of each weight,
    and the N_TERMS most distinctive new stems share WEIGHT x (number of query stems)."""
    if not weight or not texts:
        return dict(terms)
    import numpy as np

    n = max(1, len(lex.ids))
    tf: Counter = Counter()
    for text in texts:
        toks = lex.tokenize(text)
        for t, f in Counter(toks).items():
            tf[t] += f / len(toks)
    vocab = lex.vocab
    cand = [t for t in tf if t not in terms and t in vocab]
    out = {t: (1.0 - weight) * v for t, v in terms.items()}
    if not cand:
        return out
    indptr = lex.matrix[2]
    ids = np.fromiter((vocab[t] for t in cand), dtype=np.int64, count=len(cand))
    df = np.asarray(indptr[ids + 1], dtype=np.float64) - np.asarray(indptr[ids], dtype=np.float64)
    score = np.array([tf[t] for t in cand]) * np.log(n / np.maximum(df, 1.0))
    order = np.argsort(-score, kind="stable")[:n_terms]
    total = float(score[order].sum())
    if total <= 0:
        return out
    share = weight * sum(1 for v in terms.values() if v >= 1.0)
    for i in order:
        out[cand[i]] = out.get(cand[i], 0.0) + share * float(score[i]) / total
    return out
