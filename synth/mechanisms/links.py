"""Linked mechanism–outcome claims within one study: the "M → O" of a CMOC.

A mechanism and an outcome are linked only where the study's own text links them, as realist
reviewers code: (1) one finding or conclusion sentence carries both (the mechanism as coded,
the outcome with its direction), (2) an outcome finding and, next to it, the study's stated
explanation of it ("… attributed this to …", "through", "mediated", "because"). Co-occurrence
anywhere in an abstract is not a link. Protocols give no links (their results are plans).
A mechanism with no linked outcome stays a (context, mechanism, no outcome) configuration.

Pure functions over a record's sentences, so the coder, the table and the benchmark share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from synth.mechanisms.features import EVIDENCE_ROLES

# How far an outcome finding and the sentence that explains it may be apart (in sentences).
WINDOW = 1

_EXPLAIN = re.compile(
    r"\b(attribut\w*|because|due to|owing to|mediat\w*|explain\w*|account(?:ed|s)? for|driven by|as a result|"
    r"result(?:ed|ing)? from|led to|leading to|contribut\w* to|underpin\w*|pathway|mechanism\w*|which (?:in turn|helped|made|led|allowed))\b",
    re.IGNORECASE)


@dataclass
class LinkSentence:
    idx: int
    text: str
    role: str
    mechanisms: dict[str, float] = field(default_factory=dict)  # coded (at or above the threshold), curated included
    outcomes: dict[str, str] = field(default_factory=dict)  # {outcome id: direction}


@dataclass(frozen=True)
class Link:
    mechanism: str
    outcome: str
    direction: str
    sentences: tuple[int, ...]
    basis: str  # "sentence" (one sentence says both) | "explanation" (a finding and its stated explanation)


def record_links(sentences: list[LinkSentence], protocol: bool = False, window: int = WINDOW) -> list[Link]:
    """Every linked (mechanism, outcome) of one record, strongest basis first, one link per pair.

    Settings chosen by cross-validation on batch A: linking an outcome to mechanisms scored just under
    the threshold in the same sentence bought recall at twice the false links, and a wider window for
    explanations found nothing more."""
    if protocol:
        return []
    ev = [s for s in sentences if s.role in EVIDENCE_ROLES]
    found: dict[tuple[str, str], Link] = {}
    for s in ev:
        for o, d in s.outcomes.items():
            for m in sorted(s.mechanisms, key=lambda m: -s.mechanisms[m]):
                found.setdefault((m, o), Link(m, o, d, (s.idx,), "sentence"))
    by_idx = {s.idx: s for s in ev}
    for s in ev:  # outcome finding s, then the study's explanation of it ("This was attributed to …")
        if not s.outcomes:
            continue
        for t_idx in range(s.idx + 1, s.idx + window + 1):
            t = by_idx.get(t_idx)
            if t is None or not t.mechanisms or not _EXPLAIN.search(" ".join(t.text.split()[:10])):
                continue
            for m in t.mechanisms:
                for o, d in s.outcomes.items():
                    found.setdefault((m, o), Link(m, o, d, (s.idx, t.idx), "explanation"))
    return sorted(found.values(), key=lambda k: (k.basis != "sentence", k.sentences, k.mechanism, k.outcome))
