"""synth's Scrapy project: spiders for PubMed, Europe PMC, OpenAlex and Crossref.

`parsers/` holds pure functions from response bytes to `synth.records.Record`;
`spiders/` does paging and politeness; `pipelines.py` validates, normalises and
stores; `middlewares.py` retries with backoff and honours Retry-After per host.
"""
