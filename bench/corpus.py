"""Realistic generated corpora for the index benchmarks and tests.

Abstracts are recombined from the sentences of the bundled sample corpus
(synth/data/sample_corpus.jsonl), section by section, so lengths and vocabulary
match real youth peer-support abstracts (~10 sentences, ~250 words).
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

from synth.records import Record

SAMPLE = Path(__file__).resolve().parents[1] / "synth" / "data" / "sample_corpus.jsonl"
SOURCES = ("pubmed", "europepmc", "openalex", "crossref")


def load_sample() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def sample_records(limit: int | None = None) -> list[Record]:
    """The sample studies as PubMed-like Records (one source each)."""
    out = []
    for s in load_sample()[:limit]:
        out.append(Record(title=s["title"], abstract=s["abstract"], doi=s.get("doi"), pmid=s.get("pmid"),
                          year=s.get("year"), journal=s.get("journal", ""), pub_types=s.get("pub_types", []),
                          source="pubmed", source_id=s.get("pmid") or s["key"]))
    return out


@lru_cache(maxsize=1)
def _pools() -> tuple[dict, list, list]:
    from synth.sentences import split_abstract

    by_section: dict[str, list[str]] = {}
    plain: list[str] = []
    titles: list[str] = []
    for s in load_sample():
        titles.append(s["title"])
        for sen in split_abstract(s["abstract"]):
            if sen.section:
                by_section.setdefault(_family(sen.section), []).append(sen.text)
            plain.append(sen.text)
    return by_section, plain, titles


def _family(label: str) -> str:
    for fam, words in (("BACKGROUND", ("BACKGROUND", "INTRODUCTION", "OBJECTIVE", "AIM", "PURPOSE", "CONTEXT")),
                       ("METHODS", ("METHOD", "DESIGN", "SETTING", "PARTICIPANT", "INTERVENTION", "MEASURE")),
                       ("RESULTS", ("RESULT", "FINDING")), ("CONCLUSIONS", ("CONCLUSION", "DISCUSSION", "IMPLICATION"))):
        if any(w in label for w in words):
            return fam
    return "OTHER"


def synthetic_records(n: int, seed: int = 0, start: int = 0) -> list[Record]:
    return list(iter_synthetic(n, seed, start))


def iter_synthetic(n: int, seed: int = 0, start: int = 0):
    """N records (ids start..start+n-1), deterministic for a seed."""
    by_section, plain, titles = _pools()
    rng = random.Random(seed * 1_000_003 + start)
    for i in range(start, start + n):
        if rng.random() < 0.4 and len(by_section) >= 3:
            lines = []
            for fam in ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"):
                pool = by_section.get(fam) or plain
                lines.append(f"{fam}: " + " ".join(rng.sample(pool, min(len(pool), rng.randint(2, 3)))))
            abstract = "\n".join(lines)
        else:
            abstract = " ".join(rng.sample(plain, rng.randint(7, 12)))
        title = f"{rng.choice(titles)} ({i})"
        src = SOURCES[i % 4]
        yield Record(title=title, abstract=abstract, doi=f"10.5555/bench.{i}", year=1995 + (i * 7) % 30,
                     journal="Journal of Generated Evidence", source=src, source_id=f"bench{i}")


def fill_store(store, records) -> int:
    n = 0
    for rec in records:
        store.upsert(rec)
        n += 1
    return n


def make_tiny_model(path, dim: int = 64) -> str:
    """A 1-layer, 64-wide BERT with MiniLM's tokenizer, saved as a sentence-transformers folder;
    with DIM other than 64, a linear layer projects to DIM (384: vectors the size of MiniLM's).

    Used only where a benchmark measures the pipeline around the model (memory, incremental
    overheads) at 10-20k records, which would take hours with MiniLM on 2 CPU cores.
    """
    from pathlib import Path

    path = Path(path)
    if (path / "modules.json").exists():
        return str(path)
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:
        from sentence_transformers import models
    from transformers import BertConfig, BertModel

    from index.embedder import resolve_model

    from transformers import AutoTokenizer

    torch.manual_seed(0)
    hf = path / "hf"
    tok = AutoTokenizer.from_pretrained(resolve_model(None))
    BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=128)).save_pretrained(str(hf))
    tok.save_pretrained(str(hf))
    word = models.Transformer(str(hf), max_seq_length=256)
    pool = models.Pooling(64, pooling_mode="mean")
    mods = [word, pool] + ([models.Dense(64, dim, activation_function=torch.nn.Identity())] if dim != 64 else [])
    SentenceTransformer(modules=[*mods, models.Normalize()]).save(str(path))
    return str(path)


def fill_store_fast(store, records) -> int:
    """Bulk-insert generated records (unique DOIs, so no de-duplication is needed): the stored
    rows are what Store.upsert would write, minus the fuzzy title matching that makes 20k upserts slow."""
    import hashlib
    import json as _json

    from synth.normalize import title_key
    from synth.records import content_hash, utcnow

    now = utcnow()
    n = 0
    batch: list = []

    def flush():
        with store.transaction() as c:
            for rec in batch:
                r = rec.normalized()
                d = r.to_dict()
                rid = "s" + hashlib.sha1(f"doi:{r.doi}".encode()).hexdigest()[:10]
                c.execute("INSERT INTO records(id, doi, title, title_key, abstract, authors, year, journal, pub_types, "
                          "content_hash, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                          (rid, r.doi, r.title, title_key(r.title), r.abstract, "[]", r.year, r.journal, "[]",
                           content_hash(d), now, now))
                c.execute("INSERT INTO provenance(source, source_id, record_id, data, first_seen, fetched_at) VALUES (?,?,?,?,?,?)",
                          (r.source, r.source_id, rid, _json.dumps(d), now, now))
        batch.clear()

    for rec in records:
        batch.append(rec)
        n += 1
        if len(batch) >= 1000:
            flush()
    if batch:
        flush()
    return n
