"""A real HTTP server on 127.0.0.1 speaking PubMed E-utilities, Europe PMC, OpenAlex and
Crossref over one corpus, with injectable faults.

    with FakeAPIServer(corpus, faults=Faults(error_rate=0.3)) as api:
        api.base_url("pubmed")   # http://127.0.0.1:PORT/pubmed/
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from synth.fakeapi.corpus import SOURCES, openalex_id, served_by, view
from synth.fakeapi.crossref import CrossrefAPI
from synth.fakeapi.europepmc import EuropePMCAPI
from synth.fakeapi.openalex import OpenAlexAPI
from synth.fakeapi.pubmed import PubMedAPI
from synth.fakeapi.reply import Reply, json_reply


@dataclass
class Faults:
    """Failure modes; all off by default. Replace `api.faults` (or mutate it) at any time."""

    error_rate: float = 0.0  # share of requests answered 500 or 429 (seeded RNG)
    retry_after: float = 0.0  # seconds, sent as Retry-After with every 429
    burst_500: int = 0  # the first N requests to each source get 500
    truncate: set[str] = field(default_factory=set)  # sources whose NEXT data page is cut mid-body, once
    malformed: set[str] = field(default_factory=set)  # sample keys rendered malformed (e.g. no title)
    esearch_ceiling: int = 9999  # PubMed's ESearch limit (lower it to exercise date splitting)
    delay: float = 0.0  # seconds added to every response
    seed: int = 0  # seeds the error_rate RNG


@dataclass(frozen=True)
class RequestLog:
    source: str  # pubmed | europepmc | openalex | crossref ("" for unknown paths)
    path: str  # URL path, e.g. /pubmed/esearch.fcgi
    query: dict  # parameter -> value (a list when repeated); POST form fields included
    status: int
    t: float  # time.monotonic() when the request arrived


# What each API answers when a fault fires (bodies as the real services send them).
_ERROR_BODIES = {
    ("pubmed", 429): (b'{"error":"API rate limit exceeded","count":"11","limit":"10"}\n', "application/json"),
    ("crossref", 429): (b"Too Many Requests", "text/plain"),
    ("openalex", 429): (b'{"error":"Rate limit exceeded","message":"Too many requests"}', "application/json"),
}
_500 = (b"<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body>"
        + b"</html>", "text/html")
_429 = (b"<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>",
        "text/html")


class FakeAPIServer:
    def __init__(self, corpus: list[dict] | None = None, faults: Faults | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.lock = threading.RLock()
        self.requests: list[RequestLog] = []
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()  # open client sockets, closed by stop()
        self.apis = {"pubmed": PubMedAPI(self), "europepmc": EuropePMCAPI(self),
                     "openalex": OpenAlexAPI(self), "crossref": CrossrefAPI(self)}
        if corpus is None:
            from synth.fakeapi.corpus import load_sample_corpus

            corpus = load_sample_corpus()
        self.corpus = corpus
        self.faults = faults or Faults()

    # ------------------------------------------------------------------ corpus and faults
    @property
    def corpus(self) -> list[dict]:
        return self._corpus

    @corpus.setter
    def corpus(self, corpus: list[dict]) -> None:
        """Replace the corpus (e.g. new studies published between two refreshes)."""
        views = {s: [view(r, s) for r in corpus if served_by(r, s)] for s in SOURCES}
        # each source can only hold studies it has an identifier for
        views["pubmed"] = sorted((r for r in views["pubmed"] if r.get("pmid")),
                                 key=lambda r: (r.get("entry_date") or "", str(r["pmid"])), reverse=True)
        views["europepmc"].sort(key=lambda r: (r.get("entry_date") or "", str(r.get("key"))), reverse=True)
        views["crossref"] = [r for r in views["crossref"] if r.get("doi")]
        views["openalex"].sort(key=lambda r: openalex_id(r))
        with self.lock:
            self._corpus = list(corpus)
            self._views = views
            self._indexes: dict = {}
            self.render_cache: dict = {}  # renderers may memoise per-record output here

    def records(self, source: str) -> list[dict]:
        """The studies `source` serves, as it holds them (variants applied), in its order."""
        return self._views[source]

    def index(self, source: str, key: str) -> dict:
        with self.lock:
            if (source, key) not in self._indexes:
                self._indexes[(source, key)] = {str(r[key]): r for r in self._views[source] if r.get(key)}
            return self._indexes[(source, key)]

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self.lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._seen = {s: 0 for s in SOURCES}  # burst_500 counts from when faults were set

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("server not started")
        return f"http://{self._host}:{self._port}"

    def base_url(self, source: str) -> str:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        return f"{self.url}/{source}/"

    def start(self) -> FakeAPIServer:
        if self._httpd is None:
            self._httpd = ThreadingHTTPServer((self._host, self._port), _Handler)
            self._httpd.daemon_threads = True
            self._httpd.api = self  # type: ignore[attr-defined]
            self._port = self._httpd.server_address[1]  # a restart keeps the same URL
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="fakeapi", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            with self.lock:  # kept-alive connections must not outlive the server
                for conn in list(self._connections):
                    try:
                        conn.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> FakeAPIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requests_for(self, source: str) -> list[RequestLog]:
        with self.lock:
            return [r for r in self.requests if r.source == source]

    # ------------------------------------------------------------------ one request
    def respond(self, source: str, sub: str, params: dict, headers) -> tuple[Reply, bool]:
        """(reply, truncate) for one request: faults first, then the API itself."""
        api = self.apis.get(source)
        if api is None:
            return json_reply({"error": "not found", "message": f"no API at /{source}"}, 404), False
        with self.lock:
            faults = self._faults
            self._seen[source] += 1
            fault = None
            if self._seen[source] <= faults.burst_500:
                fault = 500
            elif faults.error_rate and self._rng.random() < faults.error_rate:
                fault = self._rng.choice((500, 429))
        if faults.delay:
            time.sleep(faults.delay)
        if fault:
            body, ctype = _ERROR_BODIES.get((source, fault)) or (_500 if fault == 500 else _429)
            reply = Reply(fault, body, ctype)
            if fault == 429:
                reply.headers["Retry-After"] = f"{faults.retry_after:g}"
            return reply, False
        try:
            reply = api.handle(sub, params, headers)
        except ValueError as e:  # unreadable parameter values
            return json_reply({"error": "bad request", "message": str(e)}, 400), False
        truncate = False
        if reply.data_page and reply.status == 200:
            with self.lock:
                if source in faults.truncate:
                    faults.truncate.discard(source)
                    truncate = True
        return reply, truncate


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "synth-fakeapi/1"
    timeout = 30  # idle keep-alive connections are dropped

    def setup(self):
        super().setup()
        with self.server.api.lock:  # type: ignore[attr-defined]
            self.server.api._connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self):
        with self.server.api.lock:  # type: ignore[attr-defined]
            self.server.api._connections.discard(self.connection)  # type: ignore[attr-defined]
        try:
            super().finish()
        except OSError:
            pass

    def parse_request(self):
        self._arrived = time.monotonic()  # as soon as the request line is in: rate checks use it
        return super().parse_request()

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        t = getattr(self, "_arrived", None) or time.monotonic()
        api: FakeAPIServer = self.server.api  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            for k, v in parse_qs(form, keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        source, _, sub = parts.path.lstrip("/").partition("/")
        reply, truncate = api.respond(source, sub.rstrip("/"), params, self.headers)
        query = {k: v[0] if len(v) == 1 else v for k, v in params.items()}
        with api.lock:
            api.requests.append(RequestLog(source if source in SOURCES else "", parts.path, query,
                                           reply.status, t))
        self._send(reply, truncate)

    def _send(self, reply: Reply, truncate: bool) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if truncate:
                if reply.on_truncated:
                    reply.on_truncated()
                # headers promise the whole body; the connection dies halfway through it
                self.wfile.write(reply.body[: len(reply.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
