"""PubMed efetch XML parsing: synth's lxml parser vs Biopython's Entrez.read, same file, same run.

Builds one large efetch body (DOCTYPE pubmed_250101, which Biopython ships) by
repeating the PubmedArticle elements of the real samples in
../shared/fixtures/real/pubmed (structured, MathML, entity and no-abstract
records), giving each copy its own PMID, serialised compactly (one unindented line
per article, as efetch sends them today). Both parsers read the same bytes from
memory; runs are interleaved and the best of N for each is reported. Entrez.read
only builds Python dicts; synth's parser also builds Record objects (abstract
labels, MathML flattening, authors).

    python bench/bench_pubmed_parse.py [--records 5000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REAL = REPO.parent / "shared" / "fixtures" / "real" / "pubmed"

HEADER = (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
          b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n')


def sample_articles() -> list[bytes]:
    # Current efetch output puts each PubmedArticle on one line, unindented (see SOURCES.md);
    # the older samples are pretty-printed, so their indentation is dropped here.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
    arts = []
    for path in sorted(REAL.glob("*.xml")):
        root = etree.fromstring(path.read_bytes(), parser)
        arts += [etree.tostring(a) for a in root.iterfind("PubmedArticle")]
    if not arts:
        sys.exit(f"no PubmedArticle samples under {REAL}")
    return arts


def build(n: int) -> bytes:
    arts = sample_articles()
    out = io.BytesIO()
    out.write(HEADER)
    for i in range(n):
        a = arts[i % len(arts)]
        # a distinct PMID per copy, as a real efetch batch would have
        a = a.replace(b'<PMID Version="1">', b'<PMID Version="1">9' + str(i).encode() + b"0", 1)
        out.write(a + b"\n")
    out.write(b"</PubmedArticleSet>\n")
    return out.getvalue()


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from Bio import Entrez

    from spiders.parsers.pubmed import parse_efetch

    data = build(args.records)

    def synth_parse():
        recs = [p.record for p in parse_efetch(data)]
        assert len(recs) == args.records and all(recs)

    def biopython_parse():
        res = Entrez.read(io.BytesIO(data))
        assert len(res["PubmedArticle"]) == args.records

    # Interleaved (synth, Biopython, synth, ...) so that load from other processes on a shared
    # machine hits both alike; the best of each is reported.
    synth_times, bio_times = [], []
    for _ in range(args.repeat):
        synth_times.append(timed(synth_parse))
        bio_times.append(timed(biopython_parse))
    t_synth, t_bio = min(synth_times), min(bio_times)
    result = {
        "records": args.records, "bytes": len(data), "repeat": args.repeat,
        "synth_records_per_s": round(args.records / t_synth), "biopython_records_per_s": round(args.records / t_bio),
        "speedup": round(t_bio / t_synth, 2), "synth_s": round(t_synth, 3), "biopython_s": round(t_bio, 3),
        "python": platform.python_version(), "lxml": etree.__version__, "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.records} records, {len(data) / 1e6:.1f} MB efetch XML (best of {args.repeat})")
        print(f"  synth (lxml → Record): {result['synth_records_per_s']:>8} records/s  ({t_synth:.2f} s)")
        print(f"  Biopython Entrez.read: {result['biopython_records_per_s']:>8} records/s  ({t_bio:.2f} s)")
        print(f"  speed-up: {result['speedup']}×")


if __name__ == "__main__":
    main()
