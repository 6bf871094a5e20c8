"""Scrapy settings for synth's spiders (`scrapy crawl pubmed` from the repo root uses these).

Per-source values (rate, timeouts, retries, contact) come from the project's
synth.toml and are applied by each spider's from_crawler (spiders/spiders/base.py).
"""

BOT_NAME = "synth"
SPIDER_MODULES = ["spiders.spiders"]
NEWSPIDER_MODULE = "spiders.spiders"

# APIs, not web pages: robots.txt does not govern them; each API documents its own limits.
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# Politeness: one request at a time per host, spaced by DOWNLOAD_DELAY = 1/rate, no jitter.
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1 / 3
DOWNLOAD_DELAY_JITTER = 0.0
AUTOTHROTTLE_ENABLED = False
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_FAIL_ON_DATALOSS = True  # a truncated body is an error (and retried), never half a page

RETRY_ENABLED = True
RETRY_TIMES = 5
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
SYNTH_BACKOFF_BASE = 1.0  # seconds; doubles per attempt
SYNTH_BACKOFF_MAX = 60.0
SYNTH_RETRY_AFTER_MAX = 300.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.BackoffRetryMiddleware": 550,
}
ITEM_PIPELINES = {
    "spiders.pipelines.ValidatePipeline": 100,
    "spiders.pipelines.NormalizePipeline": 200,
    "spiders.pipelines.StorePipeline": 300,
}
# One SQLite writer: process items one at a time.
CONCURRENT_ITEMS = 1

USER_AGENT = "synth/0.1 (living-evidence harvester; +https://pypi.org/project/synth)"
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
