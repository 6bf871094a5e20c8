"""Theory-independent features of a sentence: where it sits in the abstract and how it is worded.

They tell a finding from a background claim, a protocol's plan or a list of measures, which the
sentence vector alone does not: "Outcomes were hope and stigma" and "hope rose and stigma fell"
embed close together. Every feature is a cheap regex or a count, so 100,000 sentences take seconds.
"""

from __future__ import annotations

import re

import numpy as np

from synth.sentences import section_category

CATEGORIES = ("background", "objective", "methods", "results", "conclusions", "other", "")
ROLES = ("background", "aim", "methods", "finding", "conclusion")
EVIDENCE_ROLES = ("finding", "conclusion")

_F = re.IGNORECASE
_CUES = [re.compile(p, _F) for p in (
    # future tense and plans (protocols, aims)
    r"\b(will|would be|is expected to|are expected to|we plan|planned|is designed to|are designed to)\b",
    # aims
    r"\b(aim(?:s|ed)?|objectives?|purpose|we sought|sought to|this (?:study|paper|review|article) (?:examines|explores|describes|reports|investigates|aims)|to (?:explore|examine|evaluate|assess|investigate|describe|understand|test|determine|identify))\b",
    # methods
    r"\b(we (?:recruited|randomi[sz]ed|conducted|interviewed|surveyed|analy[sz]ed|used|searched|collected|followed|measured|assessed)|were (?:recruited|randomi[sz]ed|allocated|assigned|interviewed|measured|assessed|collected|analy[sz]ed|coded)|semi-structured|thematic(?:ally)? analy|questionnaires?|focus groups?|databases? (?:were|was) searched|included (?:studies|articles)|measured (?:with|using)|primary outcome|secondary outcomes?|outcomes? (?:were|was|included|measures))\b",
    # results: statistics and effects
    r"(\bp ?[<=>≤] ?0?\.\d|\b95% ?ci\b|\bci\b|\bd ?= ?-?\d|\bor ?= ?\d|\b(?:odds|risk|hazard) ratio|\b\d+(?:\.\d+)?%|\bsignificant(?:ly)?\b|\bcompared with\b|\bthan (?:those|controls|the control|usual care))",
    # results: change words
    r"\b(improv\w*|increas\w*|decreas\w*|reduc\w*|declin\w*|rose|fell|lower|higher|greater|fewer|did not|no (?:significant )?(?:difference|change|effect)|associated with|predicted|mediated)\b",
    # qualitative findings: participants' accounts and themes
    r"\b(participants? (?:described|reported|said|felt|valued|spoke|talked|explained|noted|appreciated)|young people (?:described|reported|said|felt|valued|spoke|explained)|themes?|(?:they|participants|youth|students) felt|described (?:feeling|how|the)|valued (?:the|having)|reported (?:feeling|that|being))\b",
    # conclusions and hedges
    r"\b(suggest\w*|may|might|could|should|implications?|recommend\w*|highlight\w*|warrant\w*|further research|future research|in conclusion|these findings|our findings|this study (?:shows|suggests|demonstrates|adds))\b",
    # background: the literature's voice
    r"\b(is (?:a|an) (?:major|growing|leading|common|key)|are (?:at (?:increased|high) risk|increasingly)|little is known|few studies|evidence (?:is|remains) (?:limited|scarce|mixed)|has been (?:shown|proposed|identified)|prevalence|burden)\b",
    # first person plural past: "we found", "we identified"
    r"\b(we (?:found|identified|observed|show|showed|report))\b",
    # review syntheses
    r"\b((?:studies|trials|articles|papers) (?:were included|reported|found|showed|suggested|described)|included studies|across studies|pooled|meta-analy)\b",
)]
CUE_COUNT = len(_CUES)
N_FEATURES = len(CATEGORIES) + 3 + CUE_COUNT + 2


def sentence_features(sections: list[str], texts: list[str], protocol: bool = False) -> np.ndarray:
    """(n, N_FEATURES) for one record's sentences, in order."""
    n = len(texts)
    out = np.zeros((n, N_FEATURES), np.float32)
    for i, (sec, text) in enumerate(zip(sections, texts)):
        out[i, CATEGORIES.index(section_category(sec))] = 1.0
        j = len(CATEGORIES)
        out[i, j] = i / max(n - 1, 1)
        out[i, j + 1] = float(i == 0)
        out[i, j + 2] = float(i == n - 1)
        j += 3
        for k, rx in enumerate(_CUES):
            out[i, j + k] = min(len(rx.findall(text)), 3) / 3
        j += CUE_COUNT
        out[i, j] = min(len(text), 400) / 400
        out[i, j + 1] = float(protocol)
    return out
