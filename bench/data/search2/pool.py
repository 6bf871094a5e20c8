"""Pool the records the judges of set 2 saw: per query, the union of the top 10 of each method that
was on the table when the pool was made (BM25; dense record vectors; dense best sentence; the fused
search before issue 16; synth search as shipped on 2026-12-02: calibration + theory expansion +
feedback; and as re-chosen on all of set 1: calibration + theory expansion + near-miss sink),
over the 860 records of corpus_keys.json. Kept as it was run:

    python bench/data/search2/pool.py /tmp/sq_new   # builds (or reuses) the project there
"""
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE.parents[1]))
import bench_search_quality as B  # noqa: E402
from synth.search import SHIPPED, Ranking  # noqa: E402

records, missing = B.corpus_records(HERE)
assert not missing, missing
project, _ = B.realistic_project(sys.argv[1], records, False)
lab = B.Lab(project)
st = project.store()
key_of = {v: k for k, v in B.key_to_id(st, records).items()}
st.close()
queries = [json.loads(line) for line in (HERE / "queries.jsonl").read_text().splitlines() if line.strip()]
methods = {
    "bm25": lambda q, c: [r for r, _ in c.bm25],
    "records": lambda q, c: [r for r, _ in c.records],
    "sentences": lambda q, c: [r for r, _ in c.sentences],
    "before": lambda q, c: B.ranked(c, *B.BEFORE),
    "shipped_2026_12_02": lambda q, c: [r for r, _ in lab.s.rank(q, ranking=Ranking(feedback=0.1, near_miss=0.0))[0]],
    "shipped_set1": lambda q, c: [r for r, _ in lab.s.rank(q, ranking=SHIPPED)[0]],
}
pools, by_method = {}, {}
rng = random.Random(2)
for q in queries:
    c = lab.s.candidates(q["query"], n=100)
    seen: list[str] = []
    for name, fn in methods.items():
        top = [key_of[r] for r in fn(q["query"], c)[:10]]
        by_method.setdefault(name, {})[q["qid"]] = top
        seen += [k for k in top if k not in seen]
    rng.shuffle(seen)  # the judges' order means nothing
    pools[q["qid"]] = seen
(HERE / "pools.json").write_text(json.dumps(pools, indent=0))
(HERE / "pool_methods.json").write_text(json.dumps(by_method, indent=0))
sizes = [len(v) for v in pools.values()]
print(f"{len(pools)} queries, {sum(sizes)} records to judge, {min(sizes)}-{max(sizes)} a query")
