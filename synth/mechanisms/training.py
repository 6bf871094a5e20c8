"""Labelled sentences the coder learns from: the bundled training batches, plus a reviewer's curation.

The bundled batches (`synth/data/labelled/batch_a.jsonl`, `batch_a3.jsonl`, `batch_a4.jsonl`, see
docs/labelled_set.md) hold abstracts modelled on real published studies, each sentence labelled with
its role and the theory's mechanism ids. A3 and A4 were written and labelled blind (the labellers saw
only the mechanisms' names and descriptions); each made the coder better on the other, which is what
counts for text it has never seen. Records marked `held_out` are never trained on: the test suite
codes them. Labels only count for mechanisms the project's theory still has; a mechanism a user adds
is learnt from its description and examples (few-shot) until curation gives it more.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from synth.mechanisms.features import ROLES


@dataclass(frozen=True)
class LabelledSentence:
    text: str
    section: str
    role: str  # one of features.ROLES
    mechanisms: frozenset[str]


@dataclass(frozen=True)
class LabelledRecord:
    key: str
    title: str
    topic: str  # on_topic | near_miss
    design: str
    sentences: tuple[LabelledSentence, ...]
    mechanisms: frozenset[str] = field(default_factory=frozenset)
    raw: dict = field(default_factory=dict, compare=False, hash=False)


def parse_records(lines) -> list[LabelledRecord]:
    out = []
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        sents = tuple(LabelledSentence(s["text"], s.get("section") or "", s["role"] if s["role"] in ROLES else "background",
                                       frozenset(s.get("mechanisms") or ())) for s in r["sentences"])
        out.append(LabelledRecord(r["key"], r["title"], r["topic"], r.get("design") or "", sents,
                                  frozenset(r.get("mechanisms") or ()), r))
    return out


BUNDLED = ("batch_a.jsonl", "batch_a3.jsonl", "batch_a4.jsonl")


@lru_cache(maxsize=1)
def _bundled_text() -> str:
    folder = resources.files("synth").joinpath("data/labelled")
    return "".join(folder.joinpath(name).read_text(encoding="utf-8") for name in BUNDLED)


def bundled_training() -> list[LabelledRecord]:
    return [r for r in parse_records(_bundled_text().splitlines()) if not r.raw.get("held_out")]


def held_out() -> list[LabelledRecord]:
    """Bundled records the coder never trains on (the test suite codes them)."""
    return [r for r in parse_records(_bundled_text().splitlines()) if r.raw.get("held_out")]


def bundled_hash() -> str:
    return hashlib.sha256(_bundled_text().encode()).hexdigest()[:16]
