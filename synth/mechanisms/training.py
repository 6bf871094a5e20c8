"""Labelled sentences the coder learns from: the bundled training batch, plus a reviewer's curation.

The bundled batch (`synth/data/labelled/batch_a.jsonl`, see docs/labelled_set.md) holds abstracts
modelled on real published studies, each sentence labelled with its role and the theory's
mechanism ids. Labels only count for mechanisms the project's theory still has; a mechanism a
user adds is learnt from its description and examples (few-shot) until curation gives it more.
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


@lru_cache(maxsize=1)
def _bundled_text() -> str:
    return resources.files("synth").joinpath("data/labelled/batch_a.jsonl").read_text(encoding="utf-8")


def bundled_training() -> list[LabelledRecord]:
    return parse_records(_bundled_text().splitlines())


def bundled_hash() -> str:
    return hashlib.sha256(_bundled_text().encode()).hexdigest()[:16]
