# The coder as it was before issue 12 (CODER_VERSION 1), kept as a baseline for bench_mechanisms.py.
"""The CMO coder: sentence roles, mechanism scores, record relevance. Pure numpy, deterministic.

A sentence's score for a mechanism mixes two signals:
  * meaning: the cosine between the sentence's stored vector and the mechanism's prototypes
    (its name + description, and each indicative phrase set in a short carrier sentence),
    embedded once per theory with the index's model;
  * wording: hits of the mechanism's indicative phrases.
Thresholds (`Params`) were tuned on the labelled set's dev split only (bench/bench_mechanisms.py).
Relevance combines lexical facets of the review question (population × intervention × condition),
near-miss cues, and the records' meaning relative to the question; records below
`Params.relevance_min` are flagged as near misses and get no codes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from synth.mechanisms.lexicon import _DESIGN, Lexicon, has_change, has_process
from synth.mechanisms.theory import Theory

CODER_VERSION = "1"
RELEVANCE_FEATURES = ("population", "intervention", "condition", "exclude", "adult", "question", "coverage")
_AGE_MEAN = re.compile(r"\b(?:mean|average|median)\s+age(?:\s+(?:of|was|=|:))?\s*(\d{1,2}(?:\.\d)?)", re.I)
_AGE_RANGE = re.compile(r"\b(?:aged|ages|age)\s+(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})", re.I)
_ADULTS = re.compile(r"(?<!young )(?<!emerging )(?<!young-)\b(?:adults|adult patients|middle-aged|older people|elderly)\b", re.I)


# The old coder's helpers (synth itself no longer uses them).
def has_design(text: str) -> bool:
    return bool(_DESIGN.search(text))


INTRO_SECTIONS = {"BACKGROUND", "INTRODUCTION", "OBJECTIVE", "OBJECTIVES", "AIM", "AIMS", "PURPOSE", "RATIONALE",
                  "CONTEXT", "AIMS/OBJECTIVES", "BACKGROUND AND AIMS"}
METHOD_SECTIONS = {"METHOD", "METHODS", "DESIGN", "SETTING", "SETTINGS", "PARTICIPANTS", "INTERVENTION",
                   "INTERVENTIONS", "MEASURES", "MAIN OUTCOME MEASURES", "ANALYSIS", "TRIAL REGISTRATION",
                   "REGISTRATION", "METHODS AND ANALYSIS", "DESIGN AND METHODS", "MATERIALS AND METHODS"}


def section_kind(section: str) -> str:
    s = (section or "").upper().strip()
    if not s:
        return ""
    if s in INTRO_SECTIONS or s.startswith(("BACKGROUND", "INTRODUCTION", "OBJECTIVE", "AIM", "PURPOSE")):
        return "intro"
    if s in METHOD_SECTIONS or s.startswith(("METHOD", "DESIGN", "SETTING", "PARTICIPANT", "INTERVENTION", "MEASURE")):
        return "methods"
    return "findings"


def adult_cues(text: str, max_age: int) -> int:
    """Signals that participants are older than the review's population."""
    if not max_age:
        return 0
    n = sum(1 for m in _AGE_MEAN.finditer(text) if float(m.group(1)) > max_age + 1)
    n += sum(1 for m in _AGE_RANGE.finditer(text) if int(m.group(1)) > max_age)
    n += len(_ADULTS.findall(text))
    return n


@dataclass(frozen=True)
class Params:
    # sentence score = cosine to best prototype + lex_weight * min(hits, 2)
    lex_weight: float = 0.1
    threshold: float = 0.3  # a sentence (and so its record) is coded at or above this
    margin: float = 0.05  # ... and only within this of the sentence's best mechanism
    intro_weight: float = 0.7  # background / aims sentences speak to theory, less to evidence
    methods_weight: float = 0.9
    phrase_prototypes: bool = False  # phrases in carrier sentences as extra prototypes (did not help on dev)
    examples: bool = True  # the theory's example sentences as prototypes
    center: float = 0.75  # subtract this share of the sentence's mean cosine over all mechanisms
    relevance_min: float = 0.5
    # logistic weights: bias, then RELEVANCE_FEATURES in order
    relevance_weights: tuple = (-6.0, 1.0, 1.0, 1.0, -1.5, -0.8, 6.0, 4.0)
    emergent_fit: float = 0.42  # mechanism/outcome sentences whose best cosine is below this are unexplained


DEFAULT_PARAMS = Params()


@dataclass
class SentenceIn:
    idx: int
    section: str
    text: str


@dataclass
class RecordIn:
    id: str
    title: str
    abstract: str
    sentences: list[SentenceIn]
    vectors: np.ndarray  # (len(sentences), dim), L2-normalised
    keywords: list[str] = field(default_factory=list)


@dataclass
class RecordCodes:
    id: str
    relevance: float
    near_miss: bool
    roles: list[tuple[int, str]]  # (idx, role)
    codes: list[tuple[int, str, str, float]]  # (idx, kind, code, score); idx -1 = record
    fit: list[tuple[int, float, bool]]  # (idx, best theory cosine, emergent candidate)


def carrier(phrase: str) -> str:
    return f"Peer support for young people: {phrase}."


class Coder:
    def __init__(self, theory: Theory, embed, params: Params = DEFAULT_PARAMS):
        """embed(list[str]) -> np.ndarray of L2-normalised vectors (the index's model)."""
        self.theory, self.params = theory, params
        self.mech_ids = [m.id for m in theory.mechanisms]
        self.mech_pos = {m: i for i, m in enumerate(self.mech_ids)}
        self.mech_lex = Lexicon((m.id, p) for m in theory.mechanisms for p in m.phrases)
        # one pass per sentence for all three kinds of code: keys "m:id", "o:id", "c:id"
        self.sent_lex = Lexicon([(f"m:{m.id}", p) for m in theory.mechanisms for p in m.phrases]
                                + [(f"o:{o.id}", p) for o in theory.outcomes for p in (*o.phrases, o.name)]
                                + [(f"c:{c.id}", p) for c in theory.contexts for p in c.phrases])
        self.ctx_lex = Lexicon((c.id, p) for c in theory.contexts for p in c.phrases)
        scope = theory.scope or {}
        self.scope_lex = Lexicon((f, p) for f in ("population", "intervention", "condition", "exclude") for p in scope.get(f) or [])
        texts, owner = [], []
        for i, m in enumerate(theory.mechanisms):
            texts.append(f"{m.name}. {m.description}")
            owner.append(i)
            if params.examples:
                texts.extend(m.examples)
                owner.extend([i] * len(m.examples))
            if params.phrase_prototypes and m.phrases:
                # phrases in small groups: short enough to stay specific, long enough to embed sensibly
                for j in range(0, len(m.phrases), 4):
                    texts.append(carrier(", ".join(m.phrases[j:j + 4])))
                    owner.append(i)
        question = scope.get("question") or "Peer support for young people's mental health"
        texts.append(question)
        texts.append("Young people with lived experience of mental health difficulties supporting other young people as peer workers or mentors.")
        vecs = np.asarray(embed(texts), dtype=np.float32)
        self.question = vecs[-2:]
        self.protos = vecs[:-2]
        self.owner = np.asarray(owner)
        self.dim = vecs.shape[1]

    # ------------------------------------------------------------------ scoring
    def mechanism_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n, mechanisms): best cosine to any of each mechanism's prototypes (prototypes are grouped by owner)."""
        if not len(vectors):
            return np.zeros((0, len(self.mech_ids)), np.float32)
        starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        return np.maximum.reduceat(vectors @ self.protos.T, starts, axis=1)

    def question_similarity(self, vectors: np.ndarray) -> np.ndarray:
        return (vectors @ self.question.T).max(axis=1) if len(vectors) else np.zeros(0, np.float32)

    def code_batch(self, recs: list[RecordIn]) -> list[RecordCodes]:
        """Code many records with one matrix product (the fast path)."""
        if not recs:
            return []
        allv = np.concatenate([r.vectors.reshape(-1, self.dim) for r in recs]) if any(len(r.sentences) for r in recs) \
            else np.zeros((0, self.dim), np.float32)
        sim, qs = self.mechanism_similarity(allv), self.question_similarity(allv)
        out, pos = [], 0
        for r in recs:
            n = len(r.sentences)
            out.append(self.code(r, sim[pos:pos + n], qs[pos:pos + n]))
            pos += n
        return out

    def relevance_features(self, rec: RecordIn, question_sim: float) -> dict[str, float]:
        text = f"{rec.title}\n{rec.abstract}\n{' ; '.join(rec.keywords)}"
        hits = self.scope_lex.match(text)
        in_title = self.scope_lex.match(rec.title)
        f = {name: 1 - 0.5 ** (hits[name] + 2 * in_title[name]) for name in ("population", "intervention", "condition")}
        f["exclude"] = float(min(hits["exclude"], 3))
        f["adult"] = float(min(adult_cues(text, int((self.theory.scope or {}).get("max_age") or 0)), 3))
        f["question"] = question_sim
        # the question is a conjunction: a record missing any facet is off-topic however strong the others
        f["coverage"] = min(f["population"], f["intervention"], f["condition"])
        return f

    def relevance(self, rec: RecordIn, question_sim: float) -> float:
        f = self.relevance_features(rec, question_sim)
        w = self.params.relevance_weights
        z = w[0] + sum(wi * f[k] for wi, k in zip(w[1:], RELEVANCE_FEATURES))
        return round(1 / (1 + math.exp(-z)), 4)

    def code(self, rec: RecordIn, sim: np.ndarray | None = None, qs: np.ndarray | None = None) -> RecordCodes:
        p = self.params
        n = len(rec.sentences)
        vec = rec.vectors if n else np.zeros((0, self.dim), np.float32)
        if qs is None:
            qs = self.question_similarity(vec)
        qsim = float(np.sort(qs)[-2:].mean()) if n else 0.0
        rel = self.relevance(rec, qsim)
        near = rel < p.relevance_min
        roles: list[tuple[int, str]] = []
        codes: list[tuple[int, str, str, float]] = []
        fit: list[tuple[int, float, bool]] = []
        if n == 0:
            return RecordCodes(rec.id, rel, near, roles, codes, fit)
        if sim is None:
            sim = self.mechanism_similarity(vec)
        lex = np.zeros_like(sim)
        sent_hits = [self.sent_lex.match(s.text) for s in rec.sentences]
        for r, hits in enumerate(sent_hits):
            for key, c in hits.items():
                if key[0] == "m":
                    lex[r, self.mech_pos[key[2:]]] = min(c, 2)
        kinds = [section_kind(s.section) for s in rec.sentences]
        weight = np.array([p.intro_weight if k == "intro" else p.methods_weight if k == "methods" else 1.0 for k in kinds],
                          dtype=np.float32)
        score = (sim - p.center * sim.mean(axis=1, keepdims=True) + p.lex_weight * lex) * weight[:, None]
        best = score.max(axis=1)
        coded = (score >= p.threshold) & (score >= best[:, None] - p.margin)
        rec_mech: dict[str, float] = {}
        rec_out: dict[str, float] = {}
        rec_ctx: dict[str, float] = {}
        for c in self.ctx_lex.match(rec.title):
            rec_ctx[c] = 1.0
        for r, s in enumerate(rec.sentences):
            text, kind = s.text, kinds[r]
            mechs = [] if near else [(self.mech_ids[j], round(float(score[r, j]), 4)) for j in np.flatnonzero(coded[r])]
            outs = [k[2:] for k in sent_hits[r] if k[0] == "o"]
            ctxs = [k[2:] for k in sent_hits[r] if k[0] == "c"]
            change = has_change(text)
            process = has_process(text)
            if mechs:
                role = "mechanism"
            elif process and kind == "findings" or (process and kind == "" and r > 0 and not has_design(text)):
                role = "mechanism"
            elif outs and (change or kind == "findings"):
                role = "outcome"
            elif ctxs or kind == "methods" or has_design(text):
                role = "context"
            else:
                role = "background"
            roles.append((s.idx, role))
            best_cos = round(float(sim[r].max()), 4)
            fit.append((s.idx, best_cos, (not near and role in ("mechanism", "outcome") and not mechs
                                          and kind != "intro" and best_cos < p.emergent_fit)))
            if near:
                continue
            for mid, sc in mechs:
                codes.append((s.idx, "mechanism", mid, sc))
                rec_mech[mid] = max(rec_mech.get(mid, 0.0), sc)
            if kind != "intro" or change:
                for oid in outs:
                    sc = 1.0 if (change or role == "outcome") else 0.6
                    codes.append((s.idx, "outcome", oid, sc))
                    rec_out[oid] = max(rec_out.get(oid, 0.0), sc)
            for cid in ctxs:
                codes.append((s.idx, "context", cid, 1.0))
                rec_ctx[cid] = 1.0
        if near:
            return RecordCodes(rec.id, rel, near, roles, [], fit)
        for kind_name, agg in (("mechanism", rec_mech), ("outcome", rec_out), ("context", rec_ctx)):
            for cid, sc in agg.items():
                codes.append((-1, kind_name, cid, round(sc, 4)))
        return RecordCodes(rec.id, rel, near, roles, codes, fit)
