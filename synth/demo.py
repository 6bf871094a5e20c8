"""`synth demo`'s library half: the whole pipeline on the bundled sample corpus, offline.

The sample is served in each API's real wire format by the local fake API server
on 127.0.0.1 and harvested by the real spiders; everything after that is the
same code a review on the live APIs runs. synth/commands/demo.py prints each step.
"""

from __future__ import annotations

from pathlib import Path

from synth.project import CONFIG_NAME, init_project, load_project
from synth.records import SOURCES

DEMO_QUERY = "how does shared lived experience build trust with young people"


def demo_project(root: Path):
    """The project at ROOT, created with the default configuration when missing; (project, created)."""
    root = Path(root)
    created = not (root / CONFIG_NAME).exists()
    if created:
        init_project(root)
    return load_project(root), created


def refresh_from_sample(project, progress: bool = True, say=lambda text: None) -> dict:
    """Serve the sample corpus as the four APIs and run `synth refresh` against them."""
    from synth.fakeapi import FakeAPIServer, load_sample_corpus
    from synth.refresh import refresh

    corpus = load_sample_corpus()
    with FakeAPIServer(corpus) as api:
        say(f"Serving the sample corpus ({len(corpus)} studies) as PubMed, Europe PMC, OpenAlex and Crossref on {api.url}")
        # Only in memory: synth.toml keeps the real API roots for when you go online.
        for name in SOURCES:
            project.config.setdefault("sources", {}).setdefault(name, {})["base_url"] = api.base_url(name)
        say("Refresh: harvest → index → code mechanisms")
        return refresh(project, progress=progress)


def search_sample(project, query: str, k: int = 5) -> tuple[list[dict], set[str]]:
    """The demo's example search: results and the query's stems (for highlighting)."""
    from synth.search import Searcher, check_query

    query = check_query(query)
    s = Searcher(project)
    try:
        return s.search(query, k=k), s.query_stems(query)
    finally:
        s.close()


def write_outputs(project) -> list[Path]:
    """out/review.xlsx, out/review.csv and out/report.html."""
    from synth.report import write_report
    from synth.tables import write_table

    out = project.root / "out"
    out.mkdir(exist_ok=True)
    return [write_table(project, out / "review.xlsx", "xlsx"), write_table(project, out / "review.csv", "csv"),
            write_report(project, out / "report.html")]
