"""Crossref /works with deep cursor paging.

Crossref's rule: "stop sending requests when the number of items in the response
is less than the number of rows requested" (its next-cursor does not change
between pages, so it cannot be the stop signal). `mailto` in the parameters and
the User-Agent puts requests in the polite pool.
"""

from __future__ import annotations

from spiders.parsers.common import PageError
from spiders.parsers.crossref import parse_works
from spiders.spiders.base import SynthSpider


class CrossrefSpider(SynthSpider):
    name = "crossref"

    @property
    def rows(self) -> int:
        return max(1, min(1000, int(self.cfg.get("rows") or self.cfg.get("page_size") or 1000)))

    def page_url(self, cursor: str) -> str:
        s, u = self.state.since.isoformat(), self.state.until.isoformat()
        return self.url("works", {"query": self.cfg["query"], "filter": f"from-index-date:{s},until-index-date:{u}",
                                  "rows": self.rows, "cursor": cursor, "mailto": self.email})

    async def start(self):
        yield self.request(self.page_url("*"), self.parse_page, cursor="*")

    def parse_page(self, response):
        try:
            page = parse_works(response.body)
        except PageError as e:
            yield from filter(None, [self.retry_page(response, str(e))])
            return
        if response.meta["cursor"] == "*":
            self.state.set_total(page.total)
        yield from self.emit(page.records, response.url)
        if self.done or page.size < self.rows or not page.next_cursor:
            return
        yield self.request(self.page_url(page.next_cursor), self.parse_page, cursor=page.next_cursor)
