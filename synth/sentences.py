"""Split abstracts into evidence sentences, keeping structured-abstract sections.

pysbd (a maintained rule-based splitter, Golden Rules tested) copes with
scientific prose: "et al.", "e.g.", "vs.", decimals, "p < .05". Structured
abstracts are stored one section per line as `LABEL: text`; the label becomes
the sentence's section (upper-case), unstructured text gets section "".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple


class Sentence(NamedTuple):
    idx: int
    section: str
    text: str


# A section label: upper-case words (BACKGROUND, METHODS AND ANALYSIS, AIMS/OBJECTIVES) or a
# Title-case word or two ("Background:", "Main outcome measures:") at the start of a line.
_LABEL = re.compile(r"^\s*([A-Z][A-Za-z/&\- ]{1,40}?)\s*:\s+(?=\S)")
_KNOWN = {
    "BACKGROUND", "INTRODUCTION", "OBJECTIVE", "OBJECTIVES", "AIM", "AIMS", "PURPOSE", "CONTEXT", "RATIONALE",
    "METHOD", "METHODS", "DESIGN", "SETTING", "SETTINGS", "PARTICIPANTS", "INTERVENTION", "INTERVENTIONS",
    "MEASURES", "MAIN OUTCOME MEASURES", "ANALYSIS", "RESULTS", "FINDINGS", "CONCLUSION", "CONCLUSIONS",
    "DISCUSSION", "IMPLICATIONS", "LIMITATIONS", "TRIAL REGISTRATION", "REGISTRATION", "SIGNIFICANCE",
}
# A `LABEL:` Title-case line counts only if it looks like a heading (short, no sentence inside).
_MAX_LABEL_WORDS = 5


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _section_of(line: str) -> tuple[str, str]:
    m = _LABEL.match(line)
    if not m:
        return "", line
    label = " ".join(m.group(1).split()).upper()
    if label in _KNOWN or (m.group(1).isupper() and len(label.split()) <= _MAX_LABEL_WORDS):
        return label, line[m.end():]
    return "", line


def split_abstract(abstract: str) -> list[Sentence]:
    """Sentences of an abstract in order, numbered from 0, with their section."""
    out: list[Sentence] = []
    section = ""
    for line in (abstract or "").splitlines():
        if not line.strip():
            continue
        label, body = _section_of(line)
        if label:
            section = label
        for s in _segmenter().segment(body):
            s = " ".join(s.split())
            if s:
                out.append(Sentence(len(out), section, s))
    return out
