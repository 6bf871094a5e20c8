"""What every synth spider shares: project config, politeness settings, the SourceRun,
record emission with --max, page-level retries and failure recording."""

from __future__ import annotations

import os
from urllib.parse import urlencode, urljoin

import scrapy
from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request

from spiders.items import RecordItem
from spiders.state import SourceRun

# Aim a little under the limit so network jitter can never push a 1-s window over it.
RATE_MARGIN = 0.98


class SynthSpider(scrapy.Spider):
    """Base class (no `name`, so Scrapy's spider loader skips it); subclasses set `name`
    and implement `start()`."""

    def __init__(self, *args, project=None, state: SourceRun | None = None, since=None, until=None, max=None, **kwargs):
        super().__init__(*args, **kwargs)
        from synth.project import find_project

        # `scrapy crawl pubmed -a project=DIR`, else SYNTH_PROJECT or the cwd (find_project's rules).
        self.project = project if hasattr(project, "source") else find_project(project)
        self.cfg = self.project.source(self.name)
        self.harvest_cfg = self.project.section("harvest")
        self.api_key = os.environ.get(self.cfg.get("api_key_env") or "", "") if self.cfg.get("api_key_env") else ""
        self.email = self.harvest_cfg.get("contact_email") or ""
        self.base_url = self.cfg["base_url"].rstrip("/") + "/"
        self.own_store = state is None
        if state is None:
            from spiders.state import resolve_window

            store = self.project.store()
            since_d, until_d = resolve_window(self.project, since, until)  # same defaults as `synth harvest`
            state = SourceRun(self.name, store, store.start_run("harvest"), self.cfg["query"], since_d, until_d,
                              max_records=int(max) if max not in (None, "") else None)
        self.state = state
        self.emitted = 0

    # ------------------------------------------------------------- settings per source
    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s, h = crawler.settings, spider.harvest_cfg
        rate = spider.rate()
        # Settings may still be changed here (Scrapy ≥ 2.11 freezes them after from_crawler).
        s.set("DOWNLOAD_DELAY", 1.0 / (rate * RATE_MARGIN), priority="spider")
        s.set("DOWNLOAD_DELAY_JITTER", 0.0, priority="spider")
        s.set("CONCURRENT_REQUESTS_PER_DOMAIN", 1, priority="spider")
        for key, setting in (("retry_times", "RETRY_TIMES"), ("timeout", "DOWNLOAD_TIMEOUT"),
                             ("backoff_base", "SYNTH_BACKOFF_BASE"), ("backoff_max", "SYNTH_BACKOFF_MAX"),
                             ("retry_after_max", "SYNTH_RETRY_AFTER_MAX")):
            if h.get(key) is not None:
                s.set(setting, h[key], priority="spider")
        s.set("USER_AGENT", spider.agent(), priority="spider")
        crawler.signals.connect(spider._callback_error, signal=signals.spider_error)
        return spider

    def rate(self) -> float:
        rate = float(self.cfg.get("rate") or 1.0)
        if rate <= 0:
            raise ValueError(f"[sources.{self.name}] rate must be > 0 requests/s")
        return rate

    def agent(self) -> str:
        """User-Agent with a mailto: Crossref and OpenAlex route such clients to their polite pool."""
        ua = "synth/0.1 (living-evidence harvester"
        return ua + (f"; mailto:{self.email})" if self.email else ")")

    # ------------------------------------------------------------- helpers
    def url(self, path: str, params: dict) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return urljoin(self.base_url, path) + "?" + urlencode(clean)

    def request(self, url: str, callback, **meta) -> scrapy.Request:
        # dont_filter: cursor APIs may legitimately repeat a URL (Crossref's cursor does not change).
        return scrapy.Request(url, callback=callback, errback=self.on_error, dont_filter=True, meta=meta)

    @property
    def remaining(self) -> int | None:
        m = self.state.max_records
        return None if m is None else max(0, m - self.emitted)

    def emit(self, parsed, location: str):
        """RecordItems for a page's Parsed records, stopping at --max."""
        for p in parsed:
            if self.remaining == 0:
                self.state.capped = True
                return
            self.emitted += 1
            yield RecordItem(source=self.name, record=p.record, source_id=p.source_id, error=p.error, raw=p.raw, location=location)

    @property
    def done(self) -> bool:
        if self.remaining == 0:
            self.state.capped = True
            return True
        return False

    def retry_page(self, response, reason: str):
        """The body was unusable (truncated, not JSON/XML): retry the request, or record the failure."""
        from spiders.middlewares import pause_slot

        retry = get_retry_request(response.request, spider=self, reason=reason,
                                  max_retry_times=self.crawler.settings.getint("RETRY_TIMES"))
        if retry is None:
            self.state.fail(response.url, f"unusable response after retries: {reason}")
            return None
        attempt = response.request.meta.get("retry_times", 0)
        s = self.crawler.settings
        pause_slot(self.crawler, response.request, min(s.getfloat("SYNTH_BACKOFF_MAX"), s.getfloat("SYNTH_BACKOFF_BASE") * 2 ** attempt))
        return retry

    def on_error(self, failure):
        request = failure.request
        err = failure.value
        response = getattr(err, "response", None)
        msg = f"HTTP {response.status}" if response is not None else f"{type(err).__name__}: {err}"
        self.state.fail(request.url, msg)

    def _callback_error(self, failure, response, spider=None):
        """A bug or surprise in a parse callback loses that page's paging: record it as a failure."""
        self.state.fail(response.url, f"{type(failure.value).__name__} in spider callback: {failure.value}")

    def closed(self, reason):
        self.state.finish(reason)
        if self.own_store:
            self.state.store.finish_run(self.state.run_id, "ok" if self.state.ok else "failed", {self.name: self.state.summary()})
            self.state.store.close()
