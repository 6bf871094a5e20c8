"""OpenAlex /works with cursor paging (cursor=*, then meta.next_cursor until null or empty).

Date window: by default the date a work was added to OpenAlex (from_created_date /
to_created_date) when an API key is set, otherwise the publication date, which
the free tier allows; `[sources.openalex] date_field = "created"|"publication"`
overrides.
"""

from __future__ import annotations

from spiders.parsers.common import PageError
from spiders.parsers.openalex import parse_works
from spiders.spiders.base import SynthSpider


class OpenalexSpider(SynthSpider):
    name = "openalex"

    def date_filter(self) -> str:
        field = self.cfg.get("date_field") or ("created" if self.api_key else "publication")
        s, u = self.state.since.isoformat(), self.state.until.isoformat()
        if field == "created":
            return f"from_created_date:{s},to_created_date:{u}"
        return f"from_publication_date:{s},to_publication_date:{u}"

    def page_url(self, cursor: str) -> str:
        size = int(self.cfg.get("page_size") or 100)
        if self.remaining is not None:
            size = max(1, min(size, self.remaining))
        return self.url("works", {"search": self.cfg["query"], "filter": self.date_filter(), "per-page": size,
                                  "cursor": cursor, "mailto": self.email, "api_key": self.api_key})

    async def start(self):
        yield self.request(self.page_url("*"), self.parse_page, cursor="*")

    def parse_page(self, response):
        try:
            page = parse_works(response.body)
        except PageError as e:
            yield from filter(None, [self.retry_page(response, str(e))])
            return
        if response.meta["cursor"] == "*":
            self.state.set_total(page.count)
        yield from self.emit(page.records, response.url)
        nxt = page.next_cursor
        if self.done or not nxt or page.size == 0 or nxt == response.meta["cursor"]:
            return
        yield self.request(self.page_url(nxt), self.parse_page, cursor=nxt)
