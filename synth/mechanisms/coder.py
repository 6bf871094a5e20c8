"""The CMO coder: sentence roles, mechanism evidence, record relevance. Deterministic.

Each sentence is scored by `model.SentenceModel` (trained, when coding starts, on the bundled
labelled batch, the theory's example sentences and the reviewer's curation): its role
(background, aim, methods, finding, conclusion) and, per mechanism, the probability that the
sentence is evidence for it. A sentence at or above `Params.threshold` is a fragment of that
mechanism; between `Params.uncertain` and the threshold it is an *uncertain* fragment, kept
apart for a reviewer to decide first. Protocols report no findings, so they get no mechanism
codes. Relevance combines lexical facets of the review question (population x intervention x
condition), near-miss cues and the record's meaning relative to the question; records below
`Params.relevance_min` are near misses and get no codes.
Thresholds were tuned on the training batch only (bench/bench_mechanisms.py, grouped CV).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from synth.mechanisms.features import EVIDENCE_ROLES, ROLES, sentence_features
from synth.mechanisms.lexicon import Lexicon, has_change, has_process
from synth.mechanisms.model import MechanismSpace, ModelParams, SentenceModel, TrainingRows
from synth.mechanisms.theory import Theory
from synth.mechanisms.training import LabelledRecord

CODER_VERSION = "4"  # 4: word n-gram classifiers within the supervised probability, threshold 0.65
RELEVANCE_FEATURES = ("population", "intervention", "condition", "exclude", "adult", "question", "coverage")
_AGE_MEAN = re.compile(r"\b(?:mean|average|median)\s+age(?:\s+(?:of|was|=|:))?\s*(\d{1,2}(?:\.\d)?)", re.I)
_AGE_RANGE = re.compile(r"\b(?:aged|ages|age)\s+(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})", re.I)
_ADULTS = re.compile(r"(?<!young )(?<!emerging )(?<!young-)\b(?:adults|adult patients|middle-aged|older people|elderly)\b", re.I)


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
    # A sentence is a fragment of M at or above this probability: the best threshold both in grouped 5-fold
    # cross-validation on batch A and when each of A's writers is predicted by a coder trained on the others
    # (a transfer to an unseen style; bench/bench_mechanisms.py). Nothing was chosen on batch B.
    threshold: float = 0.65
    uncertain: float = 0.4  # ... an uncertain fragment (shown to a reviewer first: the closest calls) from here
    relevance_min: float = 0.5
    relevance_c: float = 1.0
    # logistic weights: bias, then RELEVANCE_FEATURES in order
    relevance_weights: tuple = (-6.0, 1.0, 1.0, 1.0, -1.5, -0.8, 6.0, 4.0)
    # evidence sentences whose best mechanism probability is below this (not even an uncertain fragment) are unexplained
    emergent_fit: float = 0.4
    model: ModelParams = field(default_factory=ModelParams)


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
    design: str = ""


@dataclass
class RecordCodes:
    id: str
    relevance: float
    near_miss: bool
    roles: list[tuple[int, str]]  # (idx, role)
    codes: list[tuple[int, str, str, float]]  # (idx, kind, code, score); idx -1 = record; kind "uncertain" = below threshold
    fit: list[tuple[int, float, bool]]  # (idx, best mechanism probability, emergent candidate)


@dataclass(frozen=True)
class Curated:
    """A reviewer's decision on one fragment, as a training example: sentence vector, mechanism, accept?"""
    vector: np.ndarray
    section: str
    text: str
    mechanism: str
    accept: bool
    feats: np.ndarray | None = None  # the sentence's features where it stands in its abstract (position, section)


def training_rows(theory: Theory, embed, records: list[LabelledRecord], curated: list[Curated] = (),
                  params: ModelParams = ModelParams()) -> TrainingRows:
    """Labelled sentences (for the theory's mechanisms), the theory's examples and curated fragments as arrays."""
    mids = [m.id for m in theory.mechanisms]
    pos = {m: j for j, m in enumerate(mids)}
    lex = Lexicon((m.id, p) for m in theory.mechanisms for p in m.phrases)
    texts, feats, roles, mech, weight, groups = [], [], [], [], [], []
    for g, r in enumerate(records):
        f = sentence_features([s.section for s in r.sentences], [s.text for s in r.sentences], r.design == "protocol")
        for s, fs in zip(r.sentences, f):
            texts.append(s.text)
            feats.append(fs)
            roles.append(ROLES.index(s.role))
            row = np.zeros(len(mids), np.int8)
            for m in s.mechanisms:
                if m in pos:
                    row[pos[m]] = 1
            mech.append(row)
            weight.append(1.0)
            groups.append(g)
    g = len(records)
    for m in theory.mechanisms:
        for ex in m.examples:
            texts.append(ex)
            feats.append(sentence_features(["RESULTS"], [ex])[0])
            roles.append(-1)
            row = np.full(len(mids), -1, np.int8)  # an example of M says nothing about other mechanisms
            row[pos[m.id]] = 1
            mech.append(row)
            weight.append(params.example_weight)
            groups.append(g)
            g += 1
    vecs = [np.asarray(embed(texts), np.float32)] if texts else []
    for c in curated:
        if c.mechanism not in pos:
            continue
        feats.append(c.feats if c.feats is not None else sentence_features([c.section], [c.text])[0])
        roles.append(-1)
        row = np.full(len(mids), -1, np.int8)
        row[pos[c.mechanism]] = int(c.accept)
        mech.append(row)
        weight.append(params.curated_weight)
        groups.append(g)
        texts.append(c.text)
        vecs.append(np.asarray(c.vector, np.float32)[None])
        g += 1
    v = np.concatenate(vecs) if vecs else np.zeros((0, 384), np.float32)
    lx = np.zeros((len(texts), len(mids)), np.float32)
    for i, t in enumerate(texts):
        for mid, c in lex.match(t).items():
            lx[i, pos[mid]] = c
    return TrainingRows(v, np.asarray(feats, np.float32), np.asarray(roles), np.asarray(mech), np.asarray(weight, np.float32),
                        lx, np.asarray(groups), texts)


def mechanism_space(theory: Theory, embed) -> MechanismSpace:
    texts = [f"{m.name}. {m.description}" for m in theory.mechanisms]
    ex_texts = [e for m in theory.mechanisms for e in m.examples]
    vecs = np.asarray(embed(texts + ex_texts), np.float32)
    desc, rest, out, k = vecs[:len(texts)], vecs[len(texts):], [], 0
    for m in theory.mechanisms:
        out.append(rest[k:k + len(m.examples)])
        k += len(m.examples)
    return MechanismSpace(desc, out)


class Coder:
    def __init__(self, theory: Theory, embed, params: Params = DEFAULT_PARAMS, training: list[LabelledRecord] | None = None,
                 curated: list[Curated] = (), pair_only: set[str] = ()):
        """embed(list[str]) -> L2-normalised vectors (the index's model). training: labelled records (default: bundled)."""
        if training is None:
            from synth.mechanisms.training import bundled_training

            training = bundled_training()
        self.theory, self.params = theory, params
        self.mech_ids = [m.id for m in theory.mechanisms]
        self.mech_pos = {m: i for i, m in enumerate(self.mech_ids)}
        self.mech_lex = Lexicon((m.id, p) for m in theory.mechanisms for p in m.phrases)
        self.sent_lex = Lexicon([(f"o:{o.id}", p) for o in theory.outcomes for p in (*o.phrases, o.name)]
                                + [(f"c:{c.id}", p) for c in theory.contexts for p in c.phrases])
        self.ctx_lex = Lexicon((c.id, p) for c in theory.contexts for p in c.phrases)
        scope = theory.scope or {}
        self.scope_lex = Lexicon((f, p) for f in ("population", "intervention", "condition", "exclude") for p in scope.get(f) or [])
        question = scope.get("question") or "Peer support for young people's mental health"
        self.question = np.asarray(embed([question, "Young people with lived experience of mental health difficulties "
                                          "supporting other young people as peer workers or mentors."]), np.float32)
        self.dim = self.question.shape[1]
        self.space = mechanism_space(theory, embed)
        rows = training_rows(theory, embed, training, curated, params.model)
        self.model = SentenceModel(self.space, rows, params.model, {self.mech_pos[m] for m in pair_only if m in self.mech_pos})
        self.relevance_model = self._fit_relevance(training, rows)

    # ------------------------------------------------------------------ scoring
    def question_similarity(self, vectors: np.ndarray) -> np.ndarray:
        return (vectors @ self.question.T).max(axis=1) if len(vectors) else np.zeros(0, np.float32)

    def lexical_hits(self, texts: list[str]) -> np.ndarray:
        lx = np.zeros((len(texts), len(self.mech_ids)), np.float32)
        for i, t in enumerate(texts):
            for mid, c in self.mech_lex.match(t).items():
                lx[i, self.mech_pos[mid]] = c
        return lx

    def sentence_scores(self, recs: list[RecordIn], protocols: list[bool] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per record: (role probabilities, mechanism probabilities), one batched prediction for all records."""
        feats, texts, vecs, sizes = [], [], [], []
        if protocols is None:
            protocols = [self.is_protocol(r) for r in recs]
        for r, protocol in zip(recs, protocols):
            ss = r.sentences
            feats.append(sentence_features([s.section for s in ss], [s.text for s in ss], protocol))
            texts += [s.text for s in ss]
            vecs.append(r.vectors.reshape(-1, self.dim))
            sizes.append(len(ss))
        if not sum(sizes):
            return [(np.zeros((0, len(ROLES))), np.zeros((0, len(self.mech_ids)))) for _ in recs]
        role_p, mech_p = self.model.predict(np.concatenate(vecs), np.concatenate(feats), self.lexical_hits(texts), texts)
        out, pos = [], 0
        for n in sizes:
            out.append((role_p[pos:pos + n], mech_p[pos:pos + n]))
            pos += n
        return out

    @staticmethod
    def is_protocol(rec: RecordIn) -> bool:
        if rec.design:
            return rec.design == "protocol"
        from synth.design import classify

        return classify(None, rec.title, rec.abstract) == "protocol"

    def code_batch(self, recs: list[RecordIn]) -> list[RecordCodes]:
        """Code many records with one batched prediction (the fast path): the design classifier and the
        relevance model run once per record and once per batch, not once per call."""
        protocols = [self.is_protocol(r) for r in recs]
        rel = self.relevances(recs)
        return [self.code(r, *sc, relevance=x, protocol=pr)
                for r, sc, x, pr in zip(recs, self.sentence_scores(recs, protocols), rel, protocols)]

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

    def _relevance_x(self, rec: RecordIn, vectors: np.ndarray) -> np.ndarray:
        qs = self.question_similarity(vectors)
        f = self.relevance_features(rec, float(np.sort(qs)[-2:].mean()) if len(qs) else 0.0)
        mean = vectors.mean(axis=0) if len(vectors) else np.zeros(self.dim, np.float32)
        return np.concatenate([[f[k] for k in RELEVANCE_FEATURES], mean / max(float(np.linalg.norm(mean)), 1e-9)])

    def _fit_relevance(self, training: list[LabelledRecord], rows: TrainingRows):
        """Logistic regression on the review question's facets, near-miss cues and the record's meaning,
        learnt from the training batch's on-topic studies and near misses. None: the hand-set weights."""
        labels = [r.topic == "on_topic" for r in training]
        if len(set(labels)) < 2 or min(labels.count(True), labels.count(False)) < 10:
            return None
        from sklearn.linear_model import LogisticRegression

        x = []
        for g, r in enumerate(training):
            v = rows.vectors[rows.groups == g]
            ins = RecordIn(r.key, r.title, r.raw.get("abstract") or " ".join(s.text for s in r.sentences), [], v)
            x.append(self._relevance_x(ins, v))
        return LogisticRegression(C=self.params.relevance_c, max_iter=2000, class_weight="balanced").fit(np.asarray(x), labels)

    def _vectors(self, rec: RecordIn) -> np.ndarray:
        return rec.vectors.reshape(-1, self.dim) if len(rec.sentences) else np.zeros((0, self.dim), np.float32)

    def relevances(self, recs: list[RecordIn]) -> list[float]:
        """relevance() of many records, with one call of the relevance model."""
        if self.relevance_model is None or not recs:
            return [self.relevance(r) for r in recs]
        x = np.stack([self._relevance_x(r, self._vectors(r)) for r in recs])
        return [round(float(p), 4) for p in self.relevance_model.predict_proba(x)[:, 1]]

    def relevance(self, rec: RecordIn, question_sim: float | None = None) -> float:
        if self.relevance_model is not None:
            return self.relevances([rec])[0]
        vec = self._vectors(rec)
        if question_sim is None:
            qs = self.question_similarity(vec)
            question_sim = float(np.sort(qs)[-2:].mean()) if len(qs) else 0.0
        f = self.relevance_features(rec, question_sim)
        w = self.params.relevance_weights
        z = w[0] + sum(wi * f[k] for wi, k in zip(w[1:], RELEVANCE_FEATURES))
        return round(1 / (1 + math.exp(-z)), 4)

    def code(self, rec: RecordIn, role_p: np.ndarray | None = None, mech_p: np.ndarray | None = None,
             relevance: float | None = None, protocol: bool | None = None) -> RecordCodes:
        p = self.params
        n = len(rec.sentences)
        rel = self.relevance(rec) if relevance is None else relevance
        near = rel < p.relevance_min
        roles: list[tuple[int, str]] = []
        codes: list[tuple[int, str, str, float]] = []
        fit: list[tuple[int, float, bool]] = []
        if n == 0:
            return RecordCodes(rec.id, rel, near, roles, codes, fit)
        if role_p is None or mech_p is None:
            role_p, mech_p = self.sentence_scores([rec])[0]
        if protocol is None:
            protocol = self.is_protocol(rec)
        rec_mech: dict[str, float] = {}
        rec_out: dict[str, float] = {}
        rec_ctx: dict[str, float] = {c: 1.0 for c in self.ctx_lex.match(rec.title)}
        for r, s in enumerate(rec.sentences):
            role = ROLES[int(np.argmax(role_p[r]))]
            if protocol and role in EVIDENCE_ROLES:
                role = "methods"  # a protocol's "results" are plans
            roles.append((s.idx, role))
            best = float(mech_p[r].max()) if mech_p.shape[1] else 0.0
            evidence = role in EVIDENCE_ROLES
            # unexplained: a finding or conclusion about a process (not a bare statistic) that no mechanism claims
            fit.append((s.idx, round(best, 4), bool(not near and not protocol and evidence and best < p.emergent_fit
                                                   and has_process(s.text))))
            if near:
                continue
            if not protocol:
                for j in np.flatnonzero(mech_p[r] >= p.uncertain):
                    sc = round(float(mech_p[r, j]), 4)
                    mid = self.mech_ids[j]
                    if sc >= p.threshold:
                        codes.append((s.idx, "mechanism", mid, sc))
                        rec_mech[mid] = max(rec_mech.get(mid, 0.0), sc)
                    else:
                        codes.append((s.idx, "uncertain", mid, sc))
            hits = self.sent_lex.match(s.text)
            if evidence and (role == "finding" or has_change(s.text)):
                for oid in (k[2:] for k in hits if k[0] == "o"):
                    codes.append((s.idx, "outcome", oid, 1.0))
                    rec_out[oid] = 1.0
            for cid in (k[2:] for k in hits if k[0] == "c"):
                codes.append((s.idx, "context", cid, 1.0))
                rec_ctx[cid] = 1.0
        if near:
            return RecordCodes(rec.id, rel, near, roles, [], fit)
        for kind_name, agg in (("mechanism", rec_mech), ("outcome", rec_out), ("context", rec_ctx)):
            for cid, sc in agg.items():
                codes.append((-1, kind_name, cid, round(sc, 4)))
        return RecordCodes(rec.id, rel, near, roles, codes, fit)
