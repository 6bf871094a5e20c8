"""Europe PMC REST search (resultType=core) with cursorMark paging.

The end of results is an absent nextCursorMark; Europe PMC has also been seen to
echo the same cursor on the last page, so an unchanged cursor or an empty page
stops paging too.
"""

from __future__ import annotations

from spiders.parsers.common import PageError
from spiders.parsers.europepmc import parse_search
from spiders.spiders.base import SynthSpider


class EuropepmcSpider(SynthSpider):
    name = "europepmc"

    def query(self) -> str:
        s, u = self.state.since.isoformat(), self.state.until.isoformat()
        return f"({self.cfg['query']}) AND FIRST_IDATE:[{s} TO {u}]"

    def page_url(self, cursor: str) -> str:
        size = int(self.cfg.get("page_size") or 1000)
        if self.remaining is not None:
            size = max(1, min(size, self.remaining))
        return self.url("search", {"query": self.query(), "resultType": "core", "format": "json",
                                   "pageSize": size, "cursorMark": cursor, "email": self.email})

    async def start(self):
        yield self.request(self.page_url("*"), self.parse_page, cursor="*")

    def parse_page(self, response):
        try:
            page = parse_search(response.body)
        except PageError as e:
            yield from filter(None, [self.retry_page(response, str(e))])
            return
        if response.meta["cursor"] == "*":
            self.state.set_total(page.hit_count)
        yield from self.emit(page.records, response.url)
        nxt = page.next_cursor
        if self.done or not nxt or nxt == response.meta["cursor"] or page.size == 0:
            return
        yield self.request(self.page_url(nxt), self.parse_page, cursor=nxt)
