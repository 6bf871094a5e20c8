"""Linked CMOCs on abstracts modelled on real studies: the shipped coder (trained on batches A, A3, A4), reported on batch B.

    nice -n 10 python bench/bench_links.py [--project DEMO_DIR] [--out bench/results/links.json]

Figures (docs/tables.md):
  * link precision / recall of (study, mechanism, outcome) on batch B against its hand-annotated
    links (docs/labelled_set.md), and direction accuracy on the links found; the same with the
    annotators' own mechanisms and outcomes put in (an upper bound: what the linking rule alone loses);
  * curation learning: a simulated reviewer curates the 20 most uncertain fragments per mechanism
    in one half of B (by the annotators' labels); record-level micro-F1 on the other half before
    and after the coder learns from them (what the user sees on the curated half is not counted);
  * rows per coded study on a coded sample project (`synth demo DIR`), before (one row per
    context × mechanism × outcome of each record, as the table was built before) and after.
Nothing is tuned here; the linking rule's settings were chosen by cross-validation on A.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_mechanisms import BATCH_B, load, prf, record_in  # noqa: E402

from synth.mechanisms.coder import DEFAULT_PARAMS, Coder, Curated  # noqa: E402
from synth.mechanisms.features import sentence_features  # noqa: E402
from synth.mechanisms.links import LinkSentence, record_links  # noqa: E402
from synth.mechanisms.outcomes import mentions, outcome_lexicon  # noqa: E402
from synth.mechanisms.theory import load_theory  # noqa: E402
from synth.mechanisms.training import bundled_training  # noqa: E402
from synth.mechanisms.vectors import DirectVectors  # noqa: E402


def predicted_links(coder, recs, ins, lex) -> list[dict]:
    """(mechanism, outcome) -> direction per record, through the coder's own output (RecordCodes)."""
    out = []
    for r, ri, codes in zip(recs, ins, coder.code_batch(ins)):
        roles = dict(codes.roles)
        mech_at, out_at = defaultdict(dict), defaultdict(dict)
        for idx, kind, code, score in codes.codes:
            if idx < 0:
                continue
            if kind == "mechanism":
                mech_at[idx][code] = score
            elif kind == "outcome":
                out_at[idx][code] = mentions(lex, r.sentences[idx].text).get(code) or "improved"
        view = [LinkSentence(i, s.text, roles.get(i, ""), mech_at.get(i, {}), out_at.get(i, {})) for i, s in enumerate(r.sentences)]
        out.append({(k.mechanism, k.outcome): k.direction for k in record_links(view, protocol=coder.is_protocol(ri))})
    return out


def oracle_links(recs) -> list[dict]:
    out = []
    for r in recs:
        raw = r.raw["sentences"]
        view = [LinkSentence(i, s["text"], s["role"], {m: 1.0 for m in s["mechanisms"]},
                             {o["id"]: o["direction"] for o in s["outcomes"]}) for i, s in enumerate(raw)]
        out.append({(k.mechanism, k.outcome): k.direction for k in record_links(view, protocol=r.design == "protocol")})
    return out


def score(pred: list[dict], recs) -> dict:
    gold = [{(x["mechanism"], x["outcome"]): x["direction"] for x in r.raw.get("links", [])} for r in recs]
    res = prf([(set(p), set(g)) for p, g in zip(pred, gold)])
    ok = n = 0
    for p, g in zip(pred, gold):
        for k in set(p) & set(g):
            n += 1
            ok += p[k] == g[k]
    res["direction_accuracy"] = round(ok / max(n, 1), 4)
    res["gold_links"] = sum(len(g) for g in gold)
    return res


def curation_learning(theory, dv, a, b, b_ins, per_mechanism=20) -> dict:
    coder = Coder(theory, dv.embed, DEFAULT_PARAMS, training=a)
    half1 = [i for i in range(len(b)) if i % 2 == 0]
    half2 = [i for i in range(len(b)) if i % 2 == 1]
    scores = coder.sentence_scores([b_ins[i] for i in half1])
    t = DEFAULT_PARAMS.threshold
    curated = []
    for j, mid in enumerate(coder.mech_ids):
        cand = []
        for k, i in enumerate(half1):
            if coder.relevance(b_ins[i]) < DEFAULT_PARAMS.relevance_min or coder.is_protocol(b_ins[i]):
                continue
            mp = scores[k][1]
            for s_i in range(len(b[i].sentences)):
                cand.append((abs(float(mp[s_i, j]) - t), i, s_i))
        for _, i, s_i in sorted(cand)[:per_mechanism]:
            s = b[i].sentences[s_i]
            feats = sentence_features([x.section for x in b[i].sentences], [x.text for x in b[i].sentences])[s_i]
            curated.append(Curated(b_ins[i].vectors.reshape(-1, coder.dim)[s_i], s.section, s.text, mid, mid in s.mechanisms, feats))

    def f1(c, idx):
        pred = []
        for codes in c.code_batch([b_ins[i] for i in idx]):
            pred.append({code for i2, kind, code, _ in codes.codes if kind == "mechanism" and i2 == -1})
        return prf([(p, set(b[i].mechanisms)) for p, i in zip(pred, idx)])

    before = f1(coder, half2)
    after = f1(Coder(theory, dv.embed, DEFAULT_PARAMS, training=a, curated=curated), half2)
    return {"curated_fragments": len(curated), "accepted": sum(c.accept for c in curated),
            "held_out_records": len(half2), "before": before, "after": after}


def rows_per_study(project_dir: Path) -> dict:
    """Before: the old cross product of each record's codes; after: the review table's rows."""
    from synth.mechanisms.codes import effective_mechanisms, effective_kind_codes
    from synth.project import load_project
    from synth.screening import excluded_ids
    from synth.tables import build_tables

    project = load_project(project_dir)
    with project.store() as store:
        skip = excluded_ids(store)
        eff = {rid: m for rid, m in effective_mechanisms(store).items() if rid not in skip}
        outs = effective_kind_codes(store, "outcome", sorted(eff))
        ctxs = effective_kind_codes(store, "context", sorted(eff))
        old = {(c, m, o) for rid in eff for m in eff[rid] for c in (ctxs.get(rid) or [None]) for o in (outs.get(rid) or [None])}
        per_record = [len(ctxs.get(rid) or [None]) * len(eff[rid]) * len(outs.get(rid) or [None]) for rid in eff]
    t = build_tables(project, evidence=False)
    studies = {c["record_id"] for c in t.configurations}
    return {"coded_studies": len(eff), "before": {"rows": len(old), "rows_per_coded_study": round(len(old) / max(len(eff), 1), 2),
                                                   "max_rows_one_record": max(per_record or [0])},
            "after": {"rows": len(t.rows), "review_rows": len(t.secondary), "ongoing": len(t.ongoing),
                      "studies_with_configurations": len(studies),
                      "rows_per_coded_study": round((len(t.rows) + len(t.secondary)) / max(len(eff), 1), 2),
                      "linked_rows": sum(1 for r in t.rows if r["outcome"]),
                      "rows_on_one_study": round(sum(1 for r in t.rows if r["studies"] == 1) / max(len(t.rows), 1), 3)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", help="a coded project (e.g. made by `synth demo DIR`) for rows per coded study")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "links.json"))
    args = ap.parse_args()
    theory = load_theory(None)
    dv = DirectVectors()
    a, b = bundled_training(), load(BATCH_B)  # the shipped coder's training batches (A, A3, A4)
    b_ins = [record_in(r, dv) for r in b]
    coder = Coder(theory, dv.embed, DEFAULT_PARAMS, training=a)
    lex = outcome_lexicon(theory)
    res = {"batch_b": {"records": len(b), "on_topic": sum(r.topic == "on_topic" for r in b)},
           "links": score(predicted_links(coder, b, b_ins, lex), b),
           "links_with_annotated_codes": score(oracle_links(b), b),
           "by_part": {}}
    for part in ("B1", "B2"):
        idx = [i for i, r in enumerate(b) if (r.raw.get("part") or "B1") == part]
        sub = [b[i] for i in idx]
        res["by_part"][part] = score(predicted_links(coder, sub, [b_ins[i] for i in idx], lex), sub)
    res["curation_learning"] = curation_learning(theory, dv, a, b, b_ins)
    if args.project:
        res["sample_rows"] = rows_per_study(Path(args.project))
    text = json.dumps(res, indent=2, default=lambda x: round(float(x), 4) if isinstance(x, (float, np.floating)) else str(x))
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
