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
# A sentence scored at least this for a mechanism (below the coding threshold) still links it
# when the same finding sentence names an outcome: the outcome is corroborating context.
CO_MENTION_MIN = 1.01  # off: on batch A it bought recall at twice the false links

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
    uncertain: dict[str, float] = field(default_factory=dict)  # scored under the threshold
    outcomes: dict[str, str] = field(default_factory=dict)  # {outcome id: direction}


@dataclass(frozen=True)
class Link:
    mechanism: str
    outcome: str
    direction: str
    sentences: tuple[int, ...]
    basis: str  # "sentence" (one sentence says both) | "explanation" (a finding and its stated explanation)


def record_links(sentences: list[LinkSentence], protocol: bool = False, window: int = WINDOW,
                 co_mention_min: float = CO_MENTION_MIN, per_outcome: int = 0) -> list[Link]:
    """Every linked (mechanism, outcome) of one record, strongest basis first, one link per pair."""
    if protocol:
        return []
    ev = [s for s in sentences if s.role in EVIDENCE_ROLES]
    found: dict[tuple[str, str], Link] = {}
    for s in ev:
        mechs = dict(s.mechanisms)
        if s.outcomes:
            mechs.update({m: sc for m, sc in s.uncertain.items() if sc >= co_mention_min and m not in mechs})
        ranked = sorted(mechs, key=lambda m: -mechs[m])
        for o, d in s.outcomes.items():
            for m in (ranked[:per_outcome] if per_outcome else ranked):
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
