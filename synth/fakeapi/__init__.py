"""Local fake bibliographic APIs (PubMed E-utilities, Europe PMC, OpenAlex, Crossref).

Serves a corpus of studies in each API's real wire format, with real paging and
injectable failures, on 127.0.0.1: for the spider tests, the refresh tests, `synth demo`
and `synth fakeapi`.

    from synth.fakeapi import FakeAPIServer, Faults, load_sample_corpus, generate_corpus
"""

from synth.fakeapi.corpus import SOURCES, generate_corpus, load_sample_corpus, view
from synth.fakeapi.server import FakeAPIServer, Faults, RequestLog

__all__ = ["SOURCES", "FakeAPIServer", "Faults", "RequestLog", "generate_corpus", "load_sample_corpus", "view"]
