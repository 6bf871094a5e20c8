"""Mechanism coding on abstracts modelled on real studies: tuned on batch A, reported on batch B.

    nice -n 10 python bench/bench_mechanisms.py [--sentences 100000] [--skip-speed] [--out bench/results/mechanisms.json]

Data (docs/labelled_set.md): batch A (synth/data/labelled/batch_a.jsonl) tunes the coder; the
shipped coder trains on A and the blind batches A3 and A4 (synth/data/labelled/, less A3's
`held_out` records, which the tests code); batch B (bench/data/labelled/batch_b.jsonl) was written
and labelled by people who never saw the theory's phrases, the other batches or the coder. The
coder's settings (thresholds, C, blend) are chosen by grouped 5-fold cross-validation on A; which
batches to train on was chosen leave-one-batch-out among A, A3 and A4 (`by_batch` below); B is only
ever predicted, by the shipped coder.

Figures on B:
  * record-level mechanism micro P/R/F1 (and per mechanism): synth's coder, the coder before this
    change (bench/baselines/coder_v1.py), and a keyword baseline (theory phrases, min hits tuned on A);
  * fragments: precision of the sentences `synth evidence` shows, and sentence-level recall;
  * few-shot: each mechanism held out of training in turn (its labels removed; only its name,
    description and examples left), F1 for that mechanism;
  * relevance ROC AUC, on-topic vs near miss;
  * the same figures on the old labelled set (tests/data/mechanism_labelled.jsonl, test split).
Speed: code_project over 100,000 sentences whose vectors already exist.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synth.mechanisms.coder import DEFAULT_PARAMS, Coder, Params, RecordIn, SentenceIn  # noqa: E402
from synth.mechanisms.features import EVIDENCE_ROLES, ROLES  # noqa: E402
from synth.mechanisms.lexicon import Lexicon  # noqa: E402
from synth.mechanisms.model import ModelParams  # noqa: E402
from synth.mechanisms.theory import load_theory  # noqa: E402
from synth.mechanisms.training import LabelledRecord, LabelledSentence, bundled_training, parse_records  # noqa: E402
from synth.mechanisms.vectors import DirectVectors  # noqa: E402
from synth.sentences import split_abstract  # noqa: E402

BATCH_A = ROOT / "synth" / "data" / "labelled" / "batch_a.jsonl"
BATCH_B = ROOT / "bench" / "data" / "labelled" / "batch_b.jsonl"
BATCH_B_SECOND = ROOT / "bench" / "data" / "labelled" / "batch_b_second.jsonl"
BATCH_A3 = ROOT / "synth" / "data" / "labelled" / "batch_a3.jsonl"
BATCH_A4 = ROOT / "synth" / "data" / "labelled" / "batch_a4.jsonl"
OLD_SET = ROOT / "tests" / "data" / "mechanism_labelled.jsonl"


def prf(pairs):
    tp = fp = fn = 0
    for pred, gold in pairs:
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(p + r, 1e-9), 4), "tp": tp, "fp": fp, "fn": fn}


def load(path: Path) -> list[LabelledRecord]:
    return parse_records(path.read_text(encoding="utf-8").splitlines())


def old_set() -> list[LabelledRecord]:
    """The pre-issue-12 set: record labels only; sentences split as synth would."""
    out = []
    for line in OLD_SET.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r["split"] != "test":
            continue
        sents = tuple(LabelledSentence(s.text, s.section, "finding", frozenset()) for s in split_abstract(r["abstract"]))
        out.append(LabelledRecord(r["key"], r["title"], r["topic"], r.get("design") or "", sents, frozenset(r["mechanisms"]), r))
    return out


def record_in(r: LabelledRecord, dv) -> RecordIn:
    ss = [SentenceIn(i, s.section, s.text) for i, s in enumerate(r.sentences)]
    v = dv.embed([s.text for s in ss]) if ss else np.zeros((0, 384), np.float32)
    abstract = "\n".join(s.text for s in r.sentences)
    return RecordIn(r.key, r.title, r.raw.get("abstract") or abstract, ss, v, [], r.design if r.design == "protocol" else "")


class Predictions:
    """A coder's outputs on a set: per record relevance, protocol flag, role and mechanism probabilities."""

    def __init__(self, coder: Coder, recs: list[LabelledRecord], ins: list[RecordIn]):
        self.recs, self.mech_ids = recs, coder.mech_ids
        scores = coder.sentence_scores(ins)
        self.role_p = [s[0] for s in scores]
        self.mech_p = [s[1] for s in scores]
        self.relevance, self.protocol = [], []
        for ri in ins:
            self.relevance.append(coder.relevance(ri))
            self.protocol.append(coder.is_protocol(ri))
        self.relevance_min = coder.params.relevance_min

    def gated(self, i) -> bool:
        return self.relevance[i] < self.relevance_min or self.protocol[i]

    def record_codes(self, threshold: float, only: set[str] | None = None) -> list[set[str]]:
        out = []
        for i, mp in enumerate(self.mech_p):
            if self.gated(i) or not len(mp):
                out.append(set())
                continue
            got = {self.mech_ids[j] for j in np.flatnonzero((mp >= threshold).any(axis=0))}
            out.append(got & only if only is not None else got)
        return out

    def fragments(self, threshold: float) -> dict:
        """Precision of coded sentences, recall of labelled (sentence, mechanism) pairs."""
        tp = fp = fn = 0
        for i, (r, mp) in enumerate(zip(self.recs, self.mech_p)):
            for k, s in enumerate(r.sentences):
                pred = set() if self.gated(i) else {self.mech_ids[j] for j in np.flatnonzero(mp[k] >= threshold)}
                gold = set(s.mechanisms) & set(self.mech_ids)
                tp += len(pred & gold)
                fp += len(pred - gold)
                fn += len(gold - pred)
        return {"precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4), "coded": tp + fp, "labelled": tp + fn}

    def role_accuracy(self) -> float:
        ok = n = 0
        for i, (r, rp) in enumerate(zip(self.recs, self.role_p)):
            for k, s in enumerate(r.sentences):
                pred = ROLES[int(np.argmax(rp[k]))]
                if self.protocol[i] and pred in EVIDENCE_ROLES:
                    pred = "methods"
                ok += pred == s.role
                n += 1
        return round(ok / max(n, 1), 4)


def gold(recs):
    return [set(r.mechanisms) for r in recs]


def best_threshold(pred: Predictions, recs, grid=np.round(np.arange(0.2, 0.9, 0.025), 3)) -> tuple[float, float]:
    best = max((prf(list(zip(pred.record_codes(t), gold(recs))))["f1"], -t) for t in grid)
    return -best[1], best[0]


def out_of_fold(theory, dv, a_recs, a_ins, params: Params, splits) -> Predictions:
    """Predictions on A where each record is predicted by a coder trained without its split."""
    parts = [None] * len(a_recs)
    for tr, te in splits:
        coder = Coder(theory, dv.embed, params, training=[a_recs[i] for i in tr])
        p = Predictions(coder, [a_recs[i] for i in te], [a_ins[i] for i in te])
        for k, i in enumerate(te):
            parts[i] = (p.role_p[k], p.mech_p[k], p.relevance[k], p.protocol[k])
    out = Predictions.__new__(Predictions)
    out.recs, out.mech_ids, out.relevance_min = a_recs, [m.id for m in theory.mechanisms], params.relevance_min
    out.role_p, out.mech_p, out.relevance, out.protocol = (list(x) for x in zip(*parts))
    return out


def cross_validated(theory, dv, a_recs, a_ins, params: Params, folds=5) -> Predictions:
    """Out-of-fold predictions on A (each fold's coder never saw that fold)."""
    from sklearn.model_selection import GroupKFold

    idx = np.arange(len(a_recs))
    return out_of_fold(theory, dv, a_recs, a_ins, params, GroupKFold(n_splits=folds).split(idx, groups=idx))


def by_writer(theory, dv, a_recs, a_ins, params: Params) -> Predictions:
    """Out-of-writer predictions on A: each writer's part (key prefix) predicted by a coder trained on the
    others, a transfer to a style the coder never saw (what B asks of it), still on A alone."""
    part = [r.key[:2] for r in a_recs]
    splits = [([i for i, x in enumerate(part) if x != p], [i for i, x in enumerate(part) if x == p]) for p in sorted(set(part))]
    return out_of_fold(theory, dv, a_recs, a_ins, params, splits)


def keyword_baseline(theory, a_recs, b_recs) -> tuple[int, dict]:
    kw = Lexicon((m.id, p) for m in theory.mechanisms for p in m.phrases)

    def pred(recs, k):
        return [{m for m, c in kw.match(r.title + "\n" + " ".join(s.text for s in r.sentences)).items() if c >= k} for r in recs]

    k = max((prf(list(zip(pred(a_recs, k), gold(a_recs))))["f1"], -k) for k in (1, 2, 3, 4, 5))[1] * -1
    return k, prf(list(zip(pred(b_recs, k), gold(b_recs))))


def v1_baseline(theory, dv, b_recs, b_ins) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from baselines.coder_v1 import DEFAULT_PARAMS as V1_PARAMS, Coder as V1Coder, RecordIn as V1RecordIn, SentenceIn as V1SentenceIn

    c = V1Coder(theory, dv.embed, V1_PARAMS)
    preds = []
    for ri in b_ins:
        out = c.code(V1RecordIn(ri.id, ri.title, ri.abstract, [V1SentenceIn(s.idx, s.section, s.text) for s in ri.sentences], ri.vectors))
        preds.append({code for idx, kind, code, _ in out.codes if idx == -1 and kind == "mechanism"})
    return prf(list(zip(preds, gold(b_recs))))


def per_mechanism(theory, pred_sets, recs) -> dict:
    out = {}
    for m in theory.mechanisms:
        res = prf([({m.id} & p, {m.id} & g) for p, g in zip(pred_sets, gold(recs))])
        out[m.id] = {k: res[k] for k in ("precision", "recall", "f1")} | {"records": sum(m.id in g for g in gold(recs))}
    return out


def auc(pred: Predictions, recs) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score([r.topic == "on_topic" for r in recs], pred.relevance)), 4)


def quality(dv) -> dict:
    theory = load_theory(None)
    a_recs, b_recs = load(BATCH_A), load(BATCH_B)
    a_ins = [record_in(r, dv) for r in a_recs]
    b_ins = [record_in(r, dv) for r in b_recs]
    out = {"batch_a": {"records": len(a_recs), "on_topic": sum(r.topic == "on_topic" for r in a_recs),
                       "sentences": sum(len(r.sentences) for r in a_recs)},
           "batch_b": {"records": len(b_recs), "on_topic": sum(r.topic == "on_topic" for r in b_recs),
                       "sentences": sum(len(r.sentences) for r in b_recs),
                       "record_codes": sum(len(r.mechanisms) for r in b_recs)}}

    # ---- tuning, on A only (grouped 5-fold CV)
    tuning = []
    quick = bool(os.environ.get("SYNTH_BENCH_QUICK"))
    grid = [(0.3, 0.7, w) for w in (0.0, 0.5)] if quick else [(c, b, w) for c in (0.1, 0.3, 1.0) for b in (0.5, 0.7, 0.9) for w in (0.0, 0.5)]
    for mech_c, blend, words in grid:
        params = Params(model=ModelParams(mech_c=mech_c, blend=blend, words=words))
        cv = cross_validated(theory, dv, a_recs, a_ins, params)
        t, f1 = best_threshold(cv, a_recs)
        bw = by_writer(theory, dv, a_recs, a_ins, params)
        tw, fw = best_threshold(bw, a_recs)
        tuning.append({"mech_c": mech_c, "blend": blend, "words": words, "threshold": t, "cv_f1": f1,
                       "cv_f1_at_shipped": prf(list(zip(cv.record_codes(DEFAULT_PARAMS.threshold), gold(a_recs))))["f1"],
                       "cv_fragments": cv.fragments(t), "cv_role_accuracy": cv.role_accuracy(),
                       "by_writer_threshold": tw, "by_writer_f1": fw,
                       "by_writer_f1_at_shipped": prf(list(zip(bw.record_codes(DEFAULT_PARAMS.threshold), gold(a_recs))))["f1"]})
        print(f"  tuning on A: C={mech_c} blend={blend} words={words} threshold={t} CV F1={f1}; "
              f"by writer threshold={tw} F1={fw}", file=sys.stderr)
    out["tuning_on_a"] = tuning
    shipped = DEFAULT_PARAMS
    out["shipped"] = {"threshold": shipped.threshold, "uncertain": shipped.uncertain, "mech_c": shipped.model.mech_c,
                      "blend": shipped.model.blend, "words": shipped.model.words, "relevance_min": shipped.relevance_min}
    before = Params(threshold=0.5, uncertain=0.3, model=ModelParams(words=0.0))  # the coder of 2026-12-02

    # ---- which batches to train on: each blind batch predicted by a coder trained without it (A's CV is above)
    a3, a4 = load(BATCH_A3), load(BATCH_A4)
    out["by_batch"] = by_batch(theory, dv, shipped, a_recs, a3, a4)
    # ---- report, on B (the shipped coder: the shipped settings, trained on the bundled batches)
    train = bundled_training()
    out["training"] = {"records": len(train), "on_topic": sum(r.topic == "on_topic" for r in train),
                       "record_codes": sum(len(r.mechanisms) for r in train)}
    coder = Coder(theory, dv.embed, shipped, training=train)
    pb = Predictions(coder, b_recs, b_ins)
    codes_b = pb.record_codes(shipped.threshold)
    kmin, kw = keyword_baseline(theory, a_recs, b_recs)
    out["b"] = {
        "coder": prf(list(zip(codes_b, gold(b_recs)))),
        "per_mechanism": per_mechanism(theory, codes_b, b_recs),
        "keyword_baseline": kw, "keyword_min_hits": kmin,
        "coder_v1": v1_baseline(theory, dv, b_recs, b_ins),
        "coder_2026_12_02": prf(list(zip(Predictions(Coder(theory, dv.embed, before, training=a_recs), b_recs, b_ins)
                                         .record_codes(before.threshold), gold(b_recs)))),
        "fragments": pb.fragments(shipped.threshold),
        "fragments_by_threshold": {str(t): pb.fragments(t) for t in (0.4, 0.5, 0.6, 0.7)},
        "role_accuracy": pb.role_accuracy(),
        "relevance_auc": auc(pb, b_recs),
        "near_misses_coded": sum(1 for r, c in zip(b_recs, codes_b) if r.topic == "near_miss" and c),
    }
    # ---- the ceiling: a second blind annotator labelled 70 of B's on-topic records (same guide and definitions)
    out["b_second_annotator"] = second_annotator(b_recs, codes_b)
    # ---- few-shot: each mechanism held out of training (labels gone; name, description, examples kept)
    few = {}
    for m in theory.mechanisms:
        held = [strip(r, m.id) for r in train]
        c = Coder(theory, dv.embed, shipped, training=held, pair_only={m.id})
        p = Predictions(c, b_recs, b_ins)
        few[m.id] = prf([({m.id} & x, {m.id} & g) for x, g in zip(p.record_codes(shipped.threshold), gold(b_recs))])
        print(f"  few-shot {m.id}: F1 {few[m.id]['f1']}", file=sys.stderr)
    tp = sum(v["tp"] for v in few.values())
    fp = sum(v["fp"] for v in few.values())
    fn = sum(v["fn"] for v in few.values())
    pr, rc = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    out["few_shot"] = {"per_mechanism": {k: v["f1"] for k, v in few.items()},
                       "micro_f1": round(2 * pr * rc / max(pr + rc, 1e-9), 4),
                       "macro_f1": round(float(np.mean([v["f1"] for v in few.values()])), 4)}
    # ---- the old labelled set (written in the theory's vocabulary)
    old = old_set()
    old_ins = [record_in(r, dv) for r in old]
    po = Predictions(coder, old, old_ins)
    out["old_set_test"] = {"records": len(old), "coder": prf(list(zip(po.record_codes(shipped.threshold), gold(old)))),
                           "coder_v1": v1_baseline(theory, dv, old, old_ins), "relevance_auc": auc(po, old)}
    return out


def by_batch(theory, dv, params, a_recs, a3, a4) -> dict:
    """Leave-one-batch-out among the training batches: A alone, and A with the other blind batch, predicting
    A3 and A4 (written and labelled blind like B). A blind batch that makes the coder better on the other
    one is worth training on, whatever it does to A's own cross-validation (the table in docs/mechanisms.md)."""
    out = {}
    for name, train, tests in (("A", a_recs, {"A3": a3, "A4": a4}), ("A+A4", a_recs + a4, {"A3": a3}),
                               ("A+A3", a_recs + a3, {"A4": a4})):
        c = Coder(theory, dv.embed, params, training=train)
        for tname, recs in tests.items():
            p = Predictions(c, recs, [record_in(r, dv) for r in recs])
            out[f"{name} -> {tname}"] = {"coder": prf(list(zip(p.record_codes(params.threshold), gold(recs)))),
                                        "fragments": p.fragments(params.threshold), "relevance_auc": auc(p, recs)}
            print(f"  by batch: trained on {name}, {tname}: F1 {out[f'{name} -> {tname}']['coder']['f1']}", file=sys.stderr)
    return out


def second_annotator(b_recs, codes_b) -> dict:
    """Agreement of a second blind annotator with B's labels on the records it labelled, and the coder on the
    same records: how far any coder can get when people agree this much."""
    second = {r["key"]: r for r in map(json.loads, BATCH_B_SECOND.read_text(encoding="utf-8").splitlines())}
    pairs, coder_pairs, sent = [], [], []
    for r, c in zip(b_recs, codes_b):
        s = second.get(r.key)
        if s is None:
            continue
        on = s["labeller_topic"] == "on_topic"
        pairs.append((set(s["mechanisms"]) if on else set(), set(r.mechanisms)))
        coder_pairs.append((c, set(r.mechanisms)))
        g = {(i, m) for i, x in enumerate(r.sentences) for m in x.mechanisms}
        sent.append(({(x["i"], m) for x in s["sentences"] for m in x["mechanisms"]} if on else set(), g))
    return {"records": len(pairs), "second_vs_first": prf(pairs), "coder_vs_first": prf(coder_pairs),
            "sentences_second_vs_first": prf(sent),
            "topic_agreement": round(sum((s["labeller_topic"] == "on_topic") == (r.topic == "on_topic")
                                         for r in b_recs if (s := second.get(r.key))) / max(len(pairs), 1), 4)}


def strip(r: LabelledRecord, mid: str) -> LabelledRecord:
    sents = tuple(LabelledSentence(s.text, s.section, s.role, s.mechanisms - {mid}) for s in r.sentences)
    return LabelledRecord(r.key, r.title, r.topic, r.design, sents, r.mechanisms - {mid}, r.raw)


class ArrayVectors:
    """Existing sentence vectors served from memory (what Chroma hands back), theory embedded by the model."""

    def __init__(self, table, dv):
        self.table, self.dv = table, dv

    def embed(self, texts):
        return self.dv.embed(texts)

    def sentence_vectors(self, keys, texts):
        return np.stack([self.table[k] for k in keys])


def speed(dv, n_sentences: int) -> dict:
    from synth.mechanisms.pipeline import code_project
    from synth.project import init_project

    recs = load(BATCH_B)
    base_vec = {r.key: dv.embed([s.text for s in r.sentences]) for r in recs}
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp(prefix="bench_mech_")
    project = init_project(Path(tmp) / "p")
    table, n, copy = {}, 0, 0
    store = project.store()
    t0 = time.perf_counter()
    with store.transaction() as c:
        while n < n_sentences:
            for r in recs:
                rid = f"g{copy:04d}{r.key}"
                abstract = r.raw.get("abstract", "")
                c.execute("INSERT INTO records(id, title, title_key, abstract, content_hash, created_at, updated_at, year) "
                          "VALUES (?,?,?,?,?,?,?,?)", (rid, r.title, rid, abstract, rid, "now", "now", 2020))
                c.executemany("INSERT INTO sentences(record_id, idx, section, text) VALUES (?,?,?,?)",
                              [(rid, i, s.section, s.text) for i, s in enumerate(r.sentences)])
                v = base_vec[r.key] + 0.02 * rng.standard_normal(base_vec[r.key].shape).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                for i, vec in enumerate(v):
                    table[(rid, i)] = vec
                n += len(r.sentences)
                if n >= n_sentences:
                    break
            copy += 1
    store.close()
    setup = time.perf_counter() - t0
    vectors = ArrayVectors(table, dv)
    # the first run also embeds the training batch once (cached in the store afterwards)
    t0 = time.perf_counter()
    code_project(project, progress=False, vectors=vectors, emergent=False, force=True)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = code_project(project, progress=False, vectors=vectors, emergent=False, force=True)
    coding = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = code_project(project, progress=False, vectors=vectors, emergent=False)
    noop = time.perf_counter() - t0
    return {"sentences": n, "records": summary["coded"], "setup_s": round(setup, 1), "first_run_s": round(first, 2),
            "coding_s": round(coding, 2), "noop_recode_s": round(noop, 2), "recoded_again": again["coded"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=100000)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "mechanisms.json"))
    args = ap.parse_args()
    dv = DirectVectors()
    res = {"machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
           "date": time.strftime("%Y-%m-%d"), "quality": quality(dv)}
    if not args.skip_speed:
        res["speed"] = speed(dv, args.sentences)
    text = json.dumps(res, indent=2, default=lambda x: round(float(x), 4))
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
