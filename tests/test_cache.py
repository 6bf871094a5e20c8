"""The per-user cache (synth/cache.py): a second project reuses what depends only on the model,
a changed local model is not mistaken for the old one, and no cache still works."""

from __future__ import annotations

import json
import os

import numpy as np

from index.onnx_export import FORMAT, from_cache, is_exported, to_cache
from synth.cache import model_key
from synth.mechanisms.vectors import cached_embed
from synth.store import Store

TEXTS = ["Peer workers modelled recovery.", "Young people felt understood.", "Peer workers modelled recovery."]


def fake_embed(calls):
    def embed(texts):
        calls.append(list(texts))
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)
    return embed


def test_a_second_project_reuses_the_vectors_of_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    calls: list = []
    a = cached_embed(Store(tmp_path / "a.db"), "some-model", TEXTS, fake_embed(calls))
    assert calls == [TEXTS[:2]]  # each distinct text embedded once
    b = cached_embed(Store(tmp_path / "b.db"), "some-model", TEXTS, fake_embed(calls))
    assert len(calls) == 1 and np.allclose(a, b) and a.shape == (3, 3)
    cached_embed(Store(tmp_path / "c.db"), "other-model", TEXTS[:1], fake_embed(calls))
    assert calls[-1] == TEXTS[:1]  # another model is another cache entry


def test_without_a_writable_cache_everything_still_works(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(blocked / "cache"))
    calls: list = []
    got = cached_embed(Store(tmp_path / "a.db"), "m", TEXTS, fake_embed(calls))
    assert got.shape == (3, 3) and calls == [TEXTS[:2]]


def test_a_retrained_local_model_is_another_model(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    before = model_key(str(model))
    os.utime(model / "config.json", ns=(1, 1))
    assert model_key(str(model)) != before and model_key("all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"


def test_an_onnx_export_is_copied_into_the_next_project(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    first = tmp_path / "p1" / "models" / "slug"
    first.mkdir(parents=True)
    (first / "model.onnx").write_bytes(b"graph")
    (first / "tokenizer.json").write_text("{}")
    (first / "encoder.json").write_text(json.dumps({"format": FORMAT, "model": "m", "dim": 3}))
    second = tmp_path / "p2" / "models" / "slug"
    second.parent.mkdir(parents=True)
    assert not from_cache(second, "m", 3)  # nothing cached yet
    to_cache(first, "m", 3)
    assert from_cache(second, "m", 3) and is_exported(second, "m", 3)
    assert (second / "model.onnx").read_bytes() == b"graph"
    assert not from_cache(tmp_path / "p3-slug", "m", 384)  # another dimension is another export
