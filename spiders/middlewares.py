"""Politeness and fault handling in the downloader.

The per-host rate is enforced by Scrapy's download slot (delay = 1/rate,
concurrency 1, no jitter; see spiders/spiders/base.py). This middleware adds
exponential backoff and Retry-After on top: instead of delaying one retried
request, it pushes the whole slot's next start time forward, so a 429 slows
down every request to that host, as the server asked.
"""

from __future__ import annotations

import email.utils
import time
from time import monotonic

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BackoffRetryMiddleware(RetryMiddleware):
    """Retries 429, 5xx, timeouts and truncated bodies with exponential backoff per host."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("SYNTH_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("SYNTH_BACKOFF_MAX", 60.0)
        self.retry_after_cap = settings.getfloat("SYNTH_RETRY_AFTER_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler):
        mw = super().from_crawler(crawler)
        # response_downloaded fires before the downloader frees the slot and starts the next
        # queued request, so a pause set here holds that request back too.
        crawler.signals.connect(mw._downloaded, signal=signals.response_downloaded)
        return mw

    def _downloaded(self, response, request, spider=None):
        if response.status in self.retry_http_codes and not request.meta.get("dont_retry"):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None:
                wait = min(wait, self.retry_after_cap)
            self._pause(request, wait)

    def process_request(self, request, spider=None):
        state = getattr(self.crawler.spider, "state", None)
        if state is not None:
            state.count("requests")
        return None

    def process_response(self, request, response, spider=None):
        return super().process_response(request, response)

    def process_exception(self, request, exception, spider=None):
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry"):
            self._pause(request, None)
        return super().process_exception(request, exception)

    def _pause(self, request, retry_after: float | None) -> None:
        """Hold the request's download slot: Retry-After if given, else base·2^attempt."""
        attempt = request.meta.get("retry_times", 0)
        wait = retry_after if retry_after is not None else min(self.cap, self.base * (2 ** attempt))
        pause_slot(self.crawler, request, wait)


def pause_slot(crawler, request, seconds: float) -> None:
    """No request leaves this slot for `seconds` (Scrapy waits `delay` after `lastseen`)."""
    downloader = crawler.engine.downloader
    key = request.meta.get(downloader.DOWNLOAD_SLOT) or downloader.get_slot_key(request)
    slot = downloader.slots.get(key)
    if slot is None:
        return
    slot.lastseen = max(slot.lastseen, monotonic() + seconds - slot.delay)
