"""The index against a real Chroma server (`chroma run` on 127.0.0.1), through chromadb.HttpClient."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.corpus import sample_records
from index import vectors as V
from index.indexer import check, sync
from synth.project import init_project
from test_index import onnx_cache  # noqa: F401 - shared session fixture

# End-to-end with the real model (and Chroma): the full suite runs it, `make test-fast` does not.
pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.skip(f"chroma CLI not found at {CHROMA}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()[-500:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_index_search_and_check_through_a_chroma_server(tmp_path, chroma_server, onnx_cache):
    from index.query_encoder import QueryEncoder

    p = init_project(tmp_path / "review", {"index": {"chroma_url": chroma_server, "batch_size": 16}})
    shutil.copytree(onnx_cache, p.data_dir / "models" / onnx_cache.name)
    recs = sample_records(5)
    with p.store() as s:
        for r in recs:
            s.upsert(r)
    out = sync(p, progress=False)
    assert out["location"] == chroma_server and out["embedded"] == 5
    assert not p.chroma_dir.exists() or not any(p.chroma_dir.iterdir())  # nothing went to the embedded store

    idx = V.VectorIndex.open(p)
    assert type(idx.client).__name__ != "PersistentClient" and idx.records.count() == 5
    assert idx.sentences.count() == out["sentences"] > 5
    q = QueryEncoder.for_project(p).encode([recs[2].title])[0]
    top = idx.nearest("records", q, 1, lambda rid: True, lambda hits: len(hits) >= 1)[0][0]
    with p.store() as s:
        assert s.get(top)["title"] == recs[2].title  # a record's own title finds it first
    assert sync(p, progress=False)["embedded"] == 0
    assert check(p, progress=False)["ok"]
    # A record deleted on the server behind synth's back is found and repaired.
    idx.records.delete(ids=[top])
    rep = check(p, repair=True, progress=False)
    assert rep["missing_vectors"] == 1 and rep["after"]["ok"]
