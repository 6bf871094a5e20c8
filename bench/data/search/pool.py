"""Pool candidates for relevance judging: union of BM25 top-N, dense (record) top-N and dense (best sentence) top-N
over the realistic labelled corpus (batch A + batch B), so judges see what any method might rank."""
import json, sys, re
import numpy as np
import bm25s, Stemmer
sys.path.insert(0, '/work/main')
from synth.mechanisms.vectors import DirectVectors
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
docs = []
for path in ('/work/main/synth/data/labelled/batch_a.jsonl', '/work/main/bench/data/labelled/batch_b.jsonl'):
    for l in open(path):
        r = json.loads(l)
        docs.append({'key': r['key'], 'title': r['title'], 'abstract': r['abstract'], 'sents': [s['text'] for s in r['sentences']]})
qs = [json.loads(l) for l in open('/work/data_gen/queries/queries.jsonl')]
st = Stemmer.Stemmer('english')
corpus = [d['title'] + ' ' + d['title'] + ' ' + d['abstract'] for d in docs]
ret = bm25s.BM25(); ret.index(bm25s.tokenize(corpus, stopwords='en', stemmer=st, show_progress=False), show_progress=False)
E = DirectVectors().embed
dv = np.asarray(E([d['title'] + '. ' + d['abstract'] for d in docs]))
flat, owner = [], []
for i, d in enumerate(docs):
    for s in d['sents']:
        flat.append(s); owner.append(i)
sv = np.asarray(E(flat))
owner = np.array(owner)
qv = np.asarray(E([q['query'] for q in qs]))
pools = {}
for qi, q in enumerate(qs):
    res, sc = ret.retrieve(bm25s.tokenize([q['query']], stopwords='en', stemmer=st, show_progress=False), k=N, show_progress=False)
    cand = list(res[0])
    cand += list(np.argsort(-(dv @ qv[qi]))[:N])
    ss = sv @ qv[qi]
    best = np.full(len(docs), -1.0); np.maximum.at(best, owner, ss)
    cand += list(np.argsort(-best)[:N])
    seen = []
    for c in cand:
        if int(c) not in seen: seen.append(int(c))
    pools[q['qid']] = [docs[c]['key'] for c in seen]
json.dump(pools, open('/work/data_gen/queries/pools.json', 'w'))
print('pooled', sum(len(v) for v in pools.values()), 'mean', np.mean([len(v) for v in pools.values()]))
