"""Split abstracts into evidence sentences, each knowing its structured-abstract section.

pysbd (a maintained rule-based splitter, Golden Rules tested) copes with
scientific prose: "et al.", "e.g.", "vs.", decimals, "p < .05". Structured
abstracts arrive two ways: one section per line as `LABEL: text` (how synth stores
PubMed's `AbstractText Label`/`NlmCategory` and JATS sections), or with the labels
inline in one paragraph ("Background: ... Methods: ... Results: ..."), as many RIS,
CSV and Crossref exports carry them. Both become the sentence's section label
(upper-case); `section_category` maps a label to one of NLM's categories.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple


class Sentence(NamedTuple):
    idx: int
    section: str
    text: str


# Labels journals print (Emerald's "Design/methodology/approach", JAMA's "Design, Setting, and
# Participants", PRISMA's "Data sources", BMJ Open's "Methods and analysis", ...). Inline, only
# these count as labels: "Results: ..." mid-paragraph, never an arbitrary "Note: ...".
_LABEL_WORDS = (
    r"background(?:s)?(?: and (?:aims?|objectives?|purpose))?|introduction|context|rationale|significance|problem"
    r"|objectives?|aims?(?: and objectives?| and hypothes[ie]s)?|purpose(?: of (?:the )?(?:study|review))?|study objectives?|hypothes[ie]s"
    r"|research questions?|goals?"
    r"|methods?(?: and (?:analysis|materials|findings|results))?|materials and methods|methodology|design(?:/methodology/approach)?"
    r"|design[,]? (?:and )?setting(?:s)?(?:,? and participants)?|study design|setting(?:s)?(?: and participants)?|participants"
    r"|population|sample|interventions?|measures|(?:main )?outcome measures?|main outcomes? and measures|procedures?|analysis"
    r"|data sources?|eligibility criteria|study selection|data extraction(?: and synthesis)?|search (?:methods|strategy)"
    r"|review methods|data collection(?: and analysis)?|exposures?"
    r"|results?|findings|main (?:results|findings)|key findings|outcomes?|data synthesis|synthesis"
    r"|conclusions?(?: and (?:relevance|implications))?|interpretation|implications(?: for (?:practice|research|policy))?"
    r"|practi(?:c|s)e implications|practical implications|research limitations/implications|social implications"
    r"|originality/value|discussion|limitations|relevance|what is known|what this (?:study|paper) adds"
    r"|trial registration(?: number)?|registration|funding|ethics and dissemination|protocol registration|prospero"
    r"|patients|subjects|measurements|limitations?|importance|methodology/principal findings|principal findings"
    r"|conclusions?/significance|relevance to (?:clinical )?practice|clinical (?:implications|relevance)|summary"
)
_LABEL_RX = rf"(?:{_LABEL_WORDS})"
# At the start of a line: a known label, or any short upper-case heading ("AIMS/OBJECTIVES:").
_LINE_LABEL = re.compile(rf"^\s*((?i:{_LABEL_RX})|[A-Z][A-Z/&,\- ]{{1,40}}?)\s*:\s*", re.UNICODE)
# Inside a paragraph: a known label that starts with a capital, after a sentence end or another label.
_INLINE_LABEL = re.compile(rf"(?:(?<=[.!?;)\]])|(?<=[.!?]['\"”’]))\s+(?=[A-Z])((?i:{_LABEL_RX}))\s*:\s*")
_LEADING_LABEL = re.compile(rf"^\s*(?=[A-Z])((?i:{_LABEL_RX}))\s*:\s*")
_MAX_LABEL_WORDS = 6


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _label(raw: str) -> str:
    return " ".join(raw.replace(",", " ").split()).upper() if raw else ""


def _sections(line: str, current: str) -> list[tuple[str, str]]:
    """[(section label, text)] of one stored line: its leading label, then any inline labels."""
    label = current
    m = _LINE_LABEL.match(line)
    if m and (m.group(1).isupper() or _known(m.group(1))) and len(m.group(1).split()) <= _MAX_LABEL_WORDS:
        label, line = _label(m.group(1)), line[m.end():]
    while (m := _LEADING_LABEL.match(line)):  # "Background: Methods: ..." (an empty section)
        label, line = _label(m.group(1)), line[m.end():]
    out: list[tuple[str, str]] = []
    pos = 0
    for im in _INLINE_LABEL.finditer(line):
        out.append((label, line[pos:im.start()]))
        label, pos = _label(im.group(1)), im.end()
    out.append((label, line[pos:]))
    return out


@lru_cache(maxsize=4096)
def _known(raw: str) -> bool:
    return re.fullmatch(_LABEL_RX, raw.strip(), re.IGNORECASE) is not None


def split_abstract(abstract: str) -> list[Sentence]:
    """Sentences of an abstract in order, numbered from 0, with their section label ("" if none)."""
    out: list[Sentence] = []
    section = ""
    for line in (abstract or "").splitlines():
        if not line.strip():
            continue
        # the last section of a line carries on to the next line (a label on its own line): rebinding is the point
        for section, body in _sections(line, section):  # noqa: B020
            if not body.strip():
                continue  # "Background: Methods: ..." has an empty Background
            for s in _segmenter().segment(body):
                s = " ".join(s.split())
                if s:
                    out.append(Sentence(len(out), section, s))
    return out


# NLM's five categories (plus "other" for registration and funding), from the label's words.
# Order matters: "Main outcome measures" is methods, not results; "Design" is methods.
_CATEGORY_RULES = (
    ("other", ("REGISTRATION", "FUNDING", "PROSPERO", "ETHICS")),
    ("results", ("PRINCIPAL FINDINGS",)),  # PLoS "Methodology/Principal Findings" is mostly results
    ("methods", ("METHOD", "DESIGN", "SETTING", "PARTICIPANT", "PATIENT", "SUBJECT", "POPULATION", "SAMPLE", "INTERVENTION", "MEASURE",
                 "PROCEDURE", "ANALYSIS", "DATA SOURCE", "ELIGIBILITY", "SELECTION", "EXTRACTION", "SEARCH",
                 "DATA COLLECTION", "EXPOSURE", "APPROACH")),
    ("objective", ("OBJECTIVE", "AIM", "PURPOSE", "HYPOTHES", "QUESTION", "GOAL")),
    ("background", ("BACKGROUND", "INTRODUCTION", "CONTEXT", "RATIONALE", "PROBLEM", "WHAT IS KNOWN", "IMPORTANCE")),
    ("results", ("RESULT", "FINDING", "OUTCOME", "SYNTHESIS")),
    ("conclusions", ("CONCLUSION", "INTERPRETATION", "IMPLICATION", "DISCUSSION", "RELEVANCE", "SIGNIFICANCE",
                     "LIMITATION", "VALUE", "ADDS")),
)


@lru_cache(maxsize=4096)
def section_category(label: str) -> str:
    """background | objective | methods | results | conclusions | other, or "" for unstructured text."""
    s = (label or "").upper()
    if not s:
        return ""
    for cat, words in _CATEGORY_RULES:
        if any(w in s for w in words):
            return cat
    return "other"
