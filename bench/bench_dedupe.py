"""De-duplication measured on the labelled benchmark (bench/data/duplicates/benchmark.jsonl).

Every benchmark record goes in as a user's import would put it: a `Record` per entry, with the
database it came from and the provenance id the importers give it (synth.importers.base.source_id),
through `Store.upsert` (normalise, match, merge provenance) into a fresh store, one source after
another (the four APIs first, as a harvest comes before the imports). The stored records are then
the predicted clusters. Figures are pairwise, per split:

* sensitivity: pairs of records of one publication that ended up as one record;
* specificity: pairs of records of different publications that stayed apart; also on the *hard*
  distinct pairs alone (records of two clusters of one group in hard_groups.json, and any other
  pair whose titles are at least 80 similar), in all and per kind;
* uncertain: pairs the store did not merge but listed for a person (`synth duplicates`), and how
  many of them are true duplicates.

"before" is the code before this work (git revision BEFORE below, exported into a temporary
folder and put first on PYTHONPATH of a subprocess); "after" is the working tree. Each is run
twice: with every record imported from an export file, and (`*_harvested`) with the PubMed,
Europe PMC, OpenAlex and Crossref records as synth's spiders store them (no volume, issue or
pages). `--splink` also trains a splink model (Fellegi-Sunter on DuckDB; `pip install -e '.[bench]'`)
on the tune split, by EM and from the tune labels, picks its threshold on the tune split and
applies both to both splits.

    python bench/bench_dedupe.py --splink             # everything -> bench/results/dedupe.json (about 2 minutes)
    python bench/bench_dedupe.py --split tune --only after --harvested no --errors 30 -o /tmp/tune.json
                                                      # while tuning: the tune split only

Tune on the tune split only; the test split is reported, never tuned on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench" / "data" / "duplicates" / "benchmark.jsonl"
OUT = REPO / "bench" / "results" / "dedupe.json"
API_SOURCES = ("pubmed", "europepmc", "openalex", "crossref")
# The order a review meets its sources: the harvest first, then the database exports.
SOURCE_ORDER = ("pubmed", "europepmc", "openalex", "crossref", "embase", "psycinfo", "scopus", "web of science",
                "wos", "cinahl", "eric")
HARD_TITLE = 80.0


# ----------------------------------------------------------------------------- the benchmark
def load(path: Path, split: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                row["_line"] = n
                if split in ("all", row.get("split")):
                    rows.append(row)
    return rows


def _order(row: dict) -> tuple:
    src = str(row.get("source") or "").lower()
    rank = next((i for i, s in enumerate(SOURCE_ORDER) if src.startswith(s)), len(SOURCE_ORDER))
    return (rank, src, row["_line"])


DATABASES = {"pubmed": "PubMed", "embase": "Embase", "psycinfo": "APA PsycInfo", "scopus": "Scopus",
             "wos": "Web of Science", "cinahl": "CINAHL", "europepmc": "Europe PMC", "openalex": "OpenAlex",
             "crossref": "Crossref"}
HARVESTED = False  # --harvested: the four APIs' records come from synth's spiders instead of export files


def _native(src: str, acc) -> str | None:
    """The accession as the importers write it into a provenance id (synth.importers.base.source_id)."""
    if not acc:
        return None
    acc = str(acc)
    if src == "wos" or acc.upper().startswith("WOS:"):
        return acc if acc.upper().startswith("WOS:") else f"WOS:{acc}"
    if src == "scopus":
        return f"EID:{acc}"
    return f"AN:{acc}"


def to_record(row: dict, n: int):
    """The Record synth's importer would make of a benchmark entry (an export file from its database),
    or with --harvested, for the four APIs, the Record synth's spider makes (no volume, issue, pages)."""
    from synth.records import Record

    src = str(row.get("source") or "").lower()
    authors = row.get("authors") or []
    if isinstance(authors, str):
        authors = [a.strip() for a in authors.split(";") if a.strip()]
    types = row.get("type") or []
    acc = row.get("accession")
    kw = dict(title=row.get("title") or "", abstract=row.get("abstract") or "", authors=list(authors),
              year=row.get("year"), journal=row.get("journal") or "", doi=row.get("doi"), pmid=row.get("pmid"),
              language=row.get("language") or "", pub_types=[types] if isinstance(types, str) else list(types))
    if src == "openalex" and acc:
        kw["openalex"] = acc  # a global id
    if src == "europepmc" and acc and str(acc).upper().startswith("PMC"):
        kw["pmcid"] = acc
    fields = Record.__dataclass_fields__
    where = {k: str(row.get(k) or "") for k in ("volume", "issue", "pages") if k in fields}
    if HARVESTED and src in API_SOURCES:
        rec = Record(source=src, **kw)
        native = {"pubmed": kw["pmid"], "europepmc": acc, "openalex": acc, "crossref": kw["doi"]}[src]
        rec.source_id = str(native or f"bench-{n}")
        return rec
    from synth.importers.base import source_id

    rec = Record(source="import", database=DATABASES.get(src, src), **kw, **where)
    rec.source_id = source_id(rec, _native(src, acc) if src not in ("pubmed", "crossref", "openalex") else None,
                              f"{src}-export.ris#{n}")
    return rec


def run_store(rows: list[dict]) -> tuple[dict[int, str], list[tuple[int, int]], dict]:
    """Import rows into a fresh store: (benchmark line -> stored record id, uncertain pairs as lines, info)."""
    from synth.records import InvalidRecord
    from synth.store import Store

    info = {"invalid": 0, "code": str(Path(sys.modules["synth"].__file__).parent)}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        got: dict[int, str] = {}
        t0 = time.perf_counter()
        for n, row in enumerate(sorted(rows, key=_order), 1):
            try:
                _, rid = store.upsert(to_record(row, n))
            except InvalidRecord:
                info["invalid"] += 1
                continue
            got[row["_line"]] = rid
        info["seconds"] = round(time.perf_counter() - t0, 2)
        live = {line: store._live_id(rid) for line, rid in got.items()}
        by_record = defaultdict(list)
        for line, rid in live.items():
            by_record[rid].append(line)
        uncertain: list[tuple[int, int]] = []
        has_pairs = store.conn.execute("SELECT 1 FROM sqlite_master WHERE name='duplicate_pairs'").fetchone()
        if has_pairs:
            from synth import duplicates

            for p in duplicates.undecided(store):
                a, b = by_record.get(p["a"]["id"], []), by_record.get(p["b"]["id"], [])
                uncertain += [(x, y) for x in a for y in b]
        store.close()
    return live, uncertain, info


# ----------------------------------------------------------------------------- pairwise figures
def _pairs(groups) -> int:
    return sum(len(g) * (len(g) - 1) // 2 for g in groups)


def hard_groups(bench: Path | None = None) -> dict[str, tuple[str, str]]:
    """cluster -> (hard group id, kind) from hard_groups.json beside the benchmark."""
    path = (bench or BENCH).parent / "hard_groups.json"
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if path.is_file():
        for g in json.loads(path.read_text(encoding="utf-8")):
            for c in g["clusters"]:
                out[c["cluster"]].append((g["group"], g["kind"]))
    return out


def hard_pairs(rows: list[dict], bench: Path | None = None) -> dict[tuple[int, int], str]:
    """Distinct-publication pairs that are hard, with their kind: records of two clusters of one hard group
    (hard_groups.json: protocol and results, erratum, comment, conference abstract, similar title, series,
    recurring title), and any other pair whose titles are at least 80 similar ("similar title")."""
    from rapidfuzz import fuzz, process

    from synth.normalize import title_key

    groups = hard_groups(bench)
    out: dict[tuple[int, int], str] = {}
    by_group = defaultdict(list)
    for r in rows:
        for g, kind in groups.get(r["cluster"], ()):
            by_group[(g, kind)].append(r)
    for (_, kind), members in by_group.items():
        for a, b in combinations(members, 2):
            if a["cluster"] != b["cluster"]:
                out.setdefault(_pair(a["_line"], b["_line"]), kind)
    keys = [title_key(r.get("title") or "") for r in rows]
    sims = process.cdist(keys, keys, scorer=fuzz.token_sort_ratio, score_cutoff=HARD_TITLE, workers=1)
    for i, j in zip(*sims.nonzero()):
        if i < j and rows[i]["cluster"] != rows[j]["cluster"]:
            out.setdefault(_pair(rows[i]["_line"], rows[j]["_line"]), "other similar title")
    return out


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def figures(rows: list[dict], live: dict[int, str], uncertain, errors: int = 0, bench: Path | None = None) -> dict:
    truth = {r["_line"]: r["cluster"] for r in rows}
    lines = [r["_line"] for r in rows if r["_line"] in live]
    by_true, by_pred, by_both = Counter(), Counter(), Counter()
    for line in lines:
        by_true[truth[line]] += 1
        by_pred[live[line]] += 1
        by_both[(truth[line], live[line])] += 1
    n = len(lines)
    total = n * (n - 1) // 2
    true_pairs = sum(k * (k - 1) // 2 for k in by_true.values())
    pred_pairs = sum(k * (k - 1) // 2 for k in by_pred.values())
    tp = sum(k * (k - 1) // 2 for k in by_both.values())
    fp = pred_pairs - tp
    neg = total - true_pairs
    hard = hard_pairs([r for r in rows if r["_line"] in live], bench)
    hard_fp = sum(1 for a, b in hard if live[a] == live[b])
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (a, b), kind in hard.items():
        by_kind[kind][0] += 1
        by_kind[kind][1] += live[a] == live[b]
    unc = {_pair(a, b) for a, b in uncertain}
    unc_true = sum(1 for a, b in unc if truth[a] == truth[b])
    out = {
        "records": n, "publications": len(by_true), "stored_records": len(by_pred),
        "duplicate_pairs": true_pairs, "distinct_pairs": neg,
        "merged_correctly": tp, "merged_wrongly": fp,
        "sensitivity": round(tp / true_pairs, 4) if true_pairs else None,
        "specificity": round((neg - fp) / neg, 6) if neg else None,
        "hard_distinct_pairs": len(hard), "hard_merged_wrongly": hard_fp,
        "hard_specificity": round((len(hard) - hard_fp) / len(hard), 4) if hard else None,
        "hard_by_kind": {k: {"pairs": n, "merged_wrongly": w} for k, (n, w) in sorted(by_kind.items())},
        "uncertain_pairs": len(unc), "uncertain_true_duplicates": unc_true,
        "sensitivity_if_uncertain_decided": round((tp + unc_true) / true_pairs, 4) if true_pairs else None,
    }
    if errors:
        out["errors"] = error_examples(rows, live, unc, errors)
    return out


def error_examples(rows, live, unc, limit: int) -> dict:
    """Missed duplicates and wrong merges (for tuning on the tune split)."""
    by_line = {r["_line"]: r for r in rows}
    show = lambda r: {k: r.get(k) for k in ("_line", "cluster", "source", "title", "authors", "year", "journal",  # noqa: E731
                                             "volume", "issue", "pages", "doi", "pmid", "type")}
    missed, wrong = [], []
    for a, b in combinations(sorted(live), 2):
        ra, rb = by_line[a], by_line[b]
        same_truth, same_pred = ra["cluster"] == rb["cluster"], live[a] == live[b]
        if same_truth and not same_pred and len(missed) < limit:
            missed.append({"uncertain": (a, b) in unc, "a": show(ra), "b": show(rb)})
        elif same_pred and not same_truth and len(wrong) < limit:
            wrong.append({"a": show(ra), "b": show(rb)})
    return {"missed": missed, "merged_wrongly": wrong}


# ----------------------------------------------------------------------------- before / after
# The last commit before this work (issue 14's de-duplication): title + year matching with the
# author/volume/issue/page vetoes of docs/imports.md.
BEFORE = "68cb688"


def head_code(tmp: Path, rev: str = BEFORE) -> Path:
    """synth/ at git revision `rev`, exported into tmp."""
    archive = tmp / "head.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), rev, "synth"], check=True)
    with tarfile.open(archive) as t:
        t.extractall(tmp / "head", filter="data")
    return tmp / "head"


def run_worker(code: Path | None, split: str, bench: Path, errors: int) -> dict:
    """Figures for `split` with the synth in `code` (None: the working tree), in a subprocess."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    else:
        env["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--split", split, "--benchmark", str(bench),
           "--errors", str(errors), "--harvested", "yes" if HARVESTED else "no"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(code or REPO))
    if done.returncode != 0:
        raise SystemExit(f"worker failed ({'HEAD' if code else 'working tree'}, {split}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def worker(split: str, bench: Path, errors: int) -> None:
    rows = load(bench, split)
    live, uncertain, info = run_store(rows)
    out = figures(rows, live, uncertain, errors, bench)
    out.update(info)
    json.dump(out, sys.stdout)


# ----------------------------------------------------------------------------- splink
def splink_features(rows: list[dict]) -> list[dict]:
    """One row per benchmark record, after synth's normalisation, with the fields splink compares."""
    from synth.dedupe import _number, family_name, is_preprint, journal_tokens, kind_of, numbering
    from synth.normalize import title_key

    out = []
    for n, row in enumerate(rows, 1):
        rec = to_record(row, n).normalized()
        fam = [f for f in (family_name(a) for a in rec.authors) if f]
        obs = rec.to_dict()
        pre = is_preprint(obs)
        out.append({
            "kind": kind_of(rec.title, rec.pub_types), "numbering": " ".join(numbering(title_key(rec.title))) or None,
            "preprint": pre,
            "unique_id": row["_line"], "cluster": row["cluster"],
            "title_key": title_key(rec.title) or None,
            "first_author": fam[0] if fam else None, "families": fam or None,
            "year": rec.year, "journal": (" ".join(journal_tokens(rec.journal)) or None) if not pre else None,
            "volume": _number(row.get("volume")) or None, "issue": _number(row.get("issue")) or None,
            "first_page": _number(row.get("pages")) or None, "doi": rec.doi, "pmid": rec.pmid,
        })
    return out


def _splink_linker(db, rows: list[dict], settings):
    import duckdb  # noqa: F401 - splink's DuckDB backend

    from splink import Linker

    con = db.duckdb_con if hasattr(db, "duckdb_con") else db._con
    name = f"records_{id(rows)}"
    con.execute(f"DROP TABLE IF EXISTS {name}")
    con.execute(f"""CREATE TABLE {name}(unique_id BIGINT, cluster VARCHAR, title_key VARCHAR, first_author VARCHAR,
                    families VARCHAR[], year INTEGER, journal VARCHAR, volume VARCHAR, issue VARCHAR,
                    first_page VARCHAR, doi VARCHAR, pmid VARCHAR, kind VARCHAR, numbering VARCHAR, preprint BOOLEAN)""")
    cols = ["unique_id", "cluster", "title_key", "first_author", "families", "year", "journal", "volume", "issue",
            "first_page", "doi", "pmid", "kind", "numbering", "preprint"]
    con.executemany(f"INSERT INTO {name} VALUES ({','.join('?' * len(cols))})", [[r[c] for c in cols] for r in rows])
    return Linker(db.register(name), settings)


def splink_settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    year = cl.CustomComparison(output_column_name="year", comparison_levels=[
        cll.NullLevel("year"), cll.ExactMatchLevel("year"),
        cll.CustomLevel("abs(year_l - year_r) <= 1", label_for_charts="within a year"),
        cll.ElseLevel()])
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("title_key", [0.98, 0.94, 0.88]),
            cl.JaroWinklerAtThresholds("first_author", [0.95, 0.88]),
            cl.ArrayIntersectAtSizes("families", [3, 1]),
            year,
            cl.JaroWinklerAtThresholds("journal", [0.95, 0.85]),
            cl.ExactMatch("volume"), cl.ExactMatch("issue"), cl.ExactMatch("first_page"),
            cl.ExactMatch("doi"), cl.ExactMatch("pmid"),
            # the same domain knowledge the rules use: the kind of item and the numbers in the title
            cl.ExactMatch("kind"), cl.ExactMatch("numbering"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("doi"), block_on("pmid"), block_on("first_author", "year"),
            block_on("substr(title_key, 1, 12)"), block_on("volume", "first_page"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def splink_clusters(linker, threshold: float) -> dict[int, str]:
    pred = linker.inference.predict(threshold_match_weight=-10)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_weight=threshold)
    rows = clusters.as_record_list()
    return {int(r["unique_id"]): str(r["cluster_id"]) for r in rows}


def _train_splink(linker, mode: str) -> list[str]:
    """m and u probabilities: u by random sampling; m by EM (no labels: what a user's corpus allows)
    or from the tune split's labels (splink's best case). Returns notes on rounds that failed."""
    from splink import block_on

    notes = []
    linker.training.estimate_probability_two_random_records_match(
        [block_on("doi"), block_on("pmid"), block_on("title_key", "year")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    if mode == "labels":
        linker.training.estimate_m_from_label_column("cluster")
        return notes
    for rule in (block_on("first_author", "year"), block_on("substr(title_key, 1, 12)"), block_on("volume", "first_page"),
                 block_on("doi")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
        except ValueError as e:  # splink refuses an m probability that underflows on a small corpus
            notes.append(f"EM round blocked on {rule.get_blocking_rule('duckdb').blocking_rule_sql}: {str(e)[:120]}")
    return notes


def run_splink(bench: Path, splits: list[str], mode: str) -> dict:
    """Train on the tune split, choose the match-weight threshold on the tune split (the highest tune
    sensitivity with tune specificity >= 0.995 and hard specificity >= 0.99; failing that, the best
    sensitivity + hard specificity), apply the trained model and threshold to each split.
    Records are clustered by connected components of the pairs at or above the threshold."""
    try:
        from splink import DuckDBAPI
    except ImportError:
        from splink.backends.duckdb import DuckDBAPI

    tune = load(bench, "tune")
    linker = _splink_linker(DuckDBAPI(), splink_features(tune), splink_settings())
    notes = _train_splink(linker, mode)
    model = linker.misc.save_model_to_json()
    pred = linker.inference.predict(threshold_match_weight=-10)
    grid, best = [], None
    for t in [x / 2 for x in range(-8, 81)]:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_weight=t)
        live = {int(r["unique_id"]): str(r["cluster_id"]) for r in clusters.as_record_list()}
        f = figures(tune, live, [], bench=bench)
        grid.append({"threshold": t, "sensitivity": f["sensitivity"], "specificity": f["specificity"],
                     "hard_specificity": f["hard_specificity"]})
        ok = f["specificity"] >= 0.995 and f["hard_specificity"] >= 0.99
        key = (ok, f["sensitivity"] if ok else f["sensitivity"] + f["hard_specificity"])
        if best is None or key > best[0]:
            best = (key, t)
    threshold = best[1]
    out = {"training": mode, "notes": notes, "threshold_match_weight": threshold, "tune_grid": grid}
    for split in splits:
        rows = tune if split == "tune" else load(bench, split)
        lk = linker if split == "tune" else _splink_linker(DuckDBAPI(), splink_features(rows), model)
        out[split] = figures(rows, splink_clusters(lk, threshold), [], bench=bench)
    return out


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benchmark", type=Path, default=BENCH)
    ap.add_argument("--split", choices=["tune", "test", "both"], default="both")
    ap.add_argument("--only", choices=["before", "after", "both"], default="both")
    ap.add_argument("--splink", action="store_true", help="also train and apply a splink model")
    ap.add_argument("--errors", type=int, default=0, help="list up to N missed and N wrong pairs (tune split only)")
    ap.add_argument("-o", "--output", type=Path, default=OUT)
    ap.add_argument("--before", default=BEFORE, metavar="REV", help=f"git revision of 'before' (default {BEFORE})")
    ap.add_argument("--harvested", choices=["no", "yes", "both"], default="both",
                    help="the four APIs' records as synth's spiders store them (no volume, issue or pages): "
                         "no (all records as export files), yes, or both (default; reported as before_harvested ...)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global HARVESTED
    if args.worker:
        HARVESTED = args.harvested == "yes"
        worker(args.split, args.benchmark, args.errors)
        return
    if not args.benchmark.is_file():
        raise SystemExit(f"no benchmark at {args.benchmark}")
    splits = ["tune", "test"] if args.split == "both" else [args.split]
    result: dict = {"before_revision": args.before,
                    "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
                    "date": date.today().isoformat(), "benchmark": str(args.benchmark.relative_to(REPO))
                    if args.benchmark.is_relative_to(REPO) else str(args.benchmark)}
    variants = {"no": [False], "yes": [True], "both": [False, True]}[args.harvested]
    with tempfile.TemporaryDirectory() as tmp:
        head = head_code(Path(tmp), args.before) if args.only in ("before", "both") else None
        for harvested in variants:
            HARVESTED = harvested
            for label, code in (("before", head), ("after", None)):
                if args.only not in (label, "both"):
                    continue
                key = label + ("_harvested" if harvested else "")
                result[key] = {}
                for split in splits:
                    errors = args.errors if split == "tune" else 0
                    result[key][split] = run_worker(code, split, args.benchmark, errors)
                    f = result[key][split]
                    print(f"{key:16} {split:4}  sensitivity {f['sensitivity']}  specificity {f['specificity']}  "
                          f"hard specificity {f['hard_specificity']}  uncertain {f['uncertain_pairs']} "
                          f"({f['uncertain_true_duplicates']} true)  {f['seconds']} s", file=sys.stderr)
    if args.splink:
        sys.path.insert(0, str(REPO))
        for mode in ("em", "labels"):
            key = f"splink_{mode}"
            result[key] = run_splink(args.benchmark, splits, mode)
            for split in splits:
                f = result[key][split]
                print(f"{key} {split:4}  sensitivity {f['sensitivity']}  specificity {f['specificity']}  "
                      f"hard specificity {f['hard_specificity']}  (threshold {result[key]['threshold_match_weight']})",
                      file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.output.exists() and args.only != "both":  # a partial run keeps the other figures
        old = json.loads(args.output.read_text())
        old.update({k: v for k, v in result.items()})
        result = old
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
