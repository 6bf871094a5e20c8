"""PubMed via NCBI E-utilities: esearch (usehistory=y) then efetch in batches.

ESearch can only page through the first 9,999 hits of a query, so a date range
whose Count exceeds that is split in halves (by Entrez date, datetype=edat)
until every slice fits; each slice gets its own WebEnv/query_key and is fetched
in efetch batches of `retmax` by `retstart`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from spiders.parsers.common import PageError
from spiders.parsers.pubmed import parse_efetch, parse_esearch
from spiders.spiders.base import SynthSpider
from synth.project import DEFAULT_RATES

CEILING = 9999  # PubMed: "ESearch can only retrieve the first 9,999 records matching the query"
_CEILING_ERR = re.compile(r"retstart'? cannot be larger than (\d+)", re.I)


class PubmedSpider(SynthSpider):
    name = "pubmed"

    def rate(self) -> float:
        rate = super().rate()
        # NCBI: 3 requests/s without a key, 10 with one (unless synth.toml sets its own rate).
        if self.api_key and rate == DEFAULT_RATES["pubmed"]:
            rate = 10.0
        return rate

    @property
    def ceiling(self) -> int:
        return int(self.cfg.get("esearch_ceiling") or CEILING)

    @property
    def batch(self) -> int:
        return int(self.cfg.get("batch_size") or 200)

    def common(self) -> dict:
        return {"db": "pubmed", "tool": "synth", "email": self.email, "api_key": self.api_key}

    async def start(self):
        yield self.esearch(self.state.since, self.state.until)

    def esearch(self, lo: date, hi: date):
        params = {**self.common(), "term": self.cfg["query"], "usehistory": "y", "retmax": 0, "retmode": "xml",
                  "datetype": "edat", "mindate": lo.strftime("%Y/%m/%d"), "maxdate": hi.strftime("%Y/%m/%d")}
        return self.request(self.url("esearch.fcgi", params), self.parse_esearch, lo=lo, hi=hi)

    def parse_esearch(self, response):
        lo, hi = response.meta["lo"], response.meta["hi"]
        try:
            res = parse_esearch(response.body)
        except PageError as e:
            yield from filter(None, [self.retry_page(response, str(e))])
            return
        if res.errors:
            self.state.fail(response.url, "esearch error: " + "; ".join(res.errors))
            return
        if res.count > self.ceiling and lo < hi:
            mid = lo + (hi - lo) // 2
            self.logger.info("PubMed %s..%s has %d hits (> %d): splitting", lo, hi, res.count, self.ceiling)
            yield self.esearch(lo, mid)
            yield self.esearch(mid + timedelta(days=1), hi)
            return
        count = res.count
        if count > self.ceiling:
            # One day with more hits than esearch can page: take what it allows, say so.
            self.state.fail(response.url, f"{count} hits on {lo} exceed the esearch ceiling {self.ceiling}; only the first {self.ceiling} fetched")
            count = self.ceiling
        if self.state.max_records is not None:
            count = min(count, self.state.max_records)
        self.state.set_total((self.state.total or 0) + count)
        if not count:
            return
        if not res.webenv or not res.query_key:
            self.state.fail(response.url, "esearch returned no WebEnv/QueryKey (usehistory=y)")
            return
        for start in range(0, count, self.batch):
            params = {**self.common(), "query_key": res.query_key, "WebEnv": res.webenv, "retstart": start,
                      "retmax": min(self.batch, count - start), "retmode": "xml", "rettype": "abstract"}
            yield self.request(self.url("efetch.fcgi", params), self.parse_efetch, lo=lo, hi=hi)

    def parse_efetch(self, response):
        if self.done:
            return
        try:
            parsed = list(parse_efetch(response.body))
        except PageError as e:
            m = _CEILING_ERR.search(str(e))
            if m:
                self.state.fail(response.url, str(e))
                return
            yield from filter(None, [self.retry_page(response, str(e))])
            return
        yield from self.emit(parsed, response.url)
