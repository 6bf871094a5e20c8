"""Run the harvest spiders for a project: the API behind `synth harvest` and `synth refresh`.

All chosen spiders run in ONE Scrapy CrawlerProcess (Twisted's reactor can start
only once per process: call run_harvest at most once per process; tests run it
in a subprocess through `synth harvest`).
"""

from __future__ import annotations

import signal
from datetime import date

from synth.errors import SynthError
from synth.records import SOURCES

# The harvest window is the spiders' bookkeeping (spiders/state.py).
from spiders.state import resolve_window


def spider_classes() -> dict:
    from spiders.spiders.crossref import CrossrefSpider
    from spiders.spiders.europepmc import EuropepmcSpider
    from spiders.spiders.openalex import OpenalexSpider
    from spiders.spiders.pubmed import PubmedSpider

    return {"pubmed": PubmedSpider, "europepmc": EuropepmcSpider, "openalex": OpenalexSpider, "crossref": CrossrefSpider}


def resolve_sources(project, sources=None) -> list[str]:
    if sources:
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            raise SynthError(f"unknown source {unknown[0]!r}; known: {', '.join(SOURCES)}")
        return list(dict.fromkeys(sources))
    for s in SOURCES:
        if not isinstance(project.source(s).get("enabled", True), bool):  # "no" is a true string in TOML
            raise SynthError(f"[sources.{s}] enabled must be true or false, got {project.source(s).get('enabled')!r}")
    chosen = [s for s in SOURCES if project.source(s).get("enabled", True)]
    if not chosen:
        raise SynthError("no source is enabled in synth.toml ([sources.<name>] enabled = true)")
    return chosen


def last_window_end(store, source: str, query: str) -> date | None:
    """End of the latest completed harvest window for this source and query (None: never harvested)."""
    from spiders.state import query_hash
    from synth import harvestlog

    return harvestlog.last_window_end(store, source, query_hash(query))


def run_harvest(project, sources=None, since=None, until=None, max_records=None, run_id=None, progress=True) -> dict:
    """Harvest the chosen sources over [since, until] into the project's store.

    `since`/`until`: dates or YYYY-MM-DD strings (default: synth.toml [harvest] since, today);
    `since` and `until` may also be {source: date} to give each source its own window.

    Returns {source: summary} with requests, seen, new, updated, merged (duplicates merged),
    unchanged, quarantined, failed_requests, status ("ok"/"failed") and whether the window
    was recorded as complete. A source that failed keeps what it stored.
    """
    chosen = resolve_sources(project, sources)
    # `since` may be one date for all sources or {source: date}, so that a refresh can start
    # each source where its last completed window ended, in this one process.
    since_of = since if isinstance(since, dict) else {name: since for name in chosen}
    until_of = until if isinstance(until, dict) else {name: until for name in chosen}
    windows = {name: resolve_window(project, since_of.get(name), until_of.get(name)) for name in chosen}
    if max_records is not None and int(max_records) < 1:
        raise SynthError("--max must be at least 1")
    for name in chosen:
        cfg = project.source(name)
        try:
            if float(cfg.get("rate") or 0) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            raise SynthError(f"[sources.{name}] rate must be a number of requests per second > 0") from None
        if not str(cfg.get("base_url") or "").startswith(("http://", "https://")):
            raise SynthError(f"[sources.{name}] base_url must be an http(s) URL, got {cfg.get('base_url')!r}")

    # From here until Scrapy installs its own handlers (in process.start), a stop (Ctrl-C, SIGTERM) is
    # only noted: a KeyboardInterrupt raised inside Scrapy's start-up would fail a source and let the
    # refresh go on. Scrapy's handlers, once installed, also note it (Process below); all are removed
    # after the crawl, or they would swallow a stop for the rest of a refresh (indexing, coding).
    stopped: list[int] = []
    saved = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
    for sig in _STOP_SIGNALS:
        signal.signal(sig, lambda signum, frame: stopped.append(signum))
    ui = None
    try:
        from scrapy.crawler import CrawlerProcess
        from scrapy.settings import Settings

        from spiders.state import SourceRun

        class Process(CrawlerProcess):
            """Scrapy's own shutdown (first signal: finish the pages in flight; second: stop now),
            noting that a person or a service manager asked to stop, so the caller stops too."""

            def _signal_shutdown(self, signum, frame):
                stopped.append(signum)
                super()._signal_shutdown(signum, frame)

        store = project.store()
        own_run = run_id is None
        if own_run:
            run_id = store.start_run("harvest")
        log_dir = project.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings()
        settings.setmodule("spiders.settings", priority="project")
        settings.set("LOG_FILE", str(log_dir / "harvest.log"), priority="cmdline")
        settings.set("LOG_FILE_APPEND", True, priority="cmdline")

        ui = _Progress(chosen) if progress else None
        states = {
            name: SourceRun(name, store, run_id, project.source(name)["query"], *windows[name],
                            max_records=int(max_records) if max_records is not None else None,
                            on_change=ui.update if ui else None)
            for name in chosen
        }
        classes = spider_classes()
        process = Process(settings)
        for name in chosen:
            process.crawl(classes[name], project=project, state=states[name])
        if ui:
            ui.start()
        if not stopped:
            process.start()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if ui:
            ui.stop()
    summary = {}
    for name, st in states.items():
        if not st.finish_reason:  # the crawler never ran (e.g. the spider could not start)
            st.finish("did not start (see data/logs/harvest.log)")
        summary[name] = {**st.summary(), "run_id": run_id}
    if own_run:
        status = "interrupted" if stopped else "ok" if all(s["status"] == "ok" for s in summary.values()) else "failed"
        store.finish_run(run_id, status, summary)
    store.close()
    if stopped:  # what was stored stays stored; the next harvest or refresh resumes from the saved windows
        raise KeyboardInterrupt(f"stopped by signal {stopped[0]}")
    return summary


_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, n))


class _Progress:
    """One rich progress bar per source on stderr, fed by SourceRun.on_change."""

    def __init__(self, names):
        from synth.progress import progress_bar

        self.progress = progress_bar(info=True)
        self.tasks = {n: self.progress.add_task(f"{n:<10}", total=None, info="starting") for n in names}

    def start(self):
        self.progress.start()

    def stop(self):
        self.progress.stop()

    def update(self, st) -> None:
        c = st.counts
        info = f"{c['requests']} req, {c['new']} new, {c['merged']} merged, {c['quarantined']} quarantined"
        if c["failed_requests"]:
            info += f", [red]{c['failed_requests']} failed[/red]"
        if st.finish_reason:
            info += " [green]done[/green]" if st.ok else " [red]failed[/red]"
        total = st.total if st.total is not None else None
        if st.max_records is not None and total is not None:
            total = min(total, st.max_records)
        if st.finish_reason:
            total = c["seen"]
        self.progress.update(self.tasks[st.source], completed=c["seen"], total=total, info=info)
