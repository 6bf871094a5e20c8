"""Study design from publication types and abstract cues.

Ordered rules, first match wins. Publication types are trusted where they are
specific (PubMed indexers assign them by hand); otherwise the title is read
before the abstract, and the abstract's methods before its background, so a
qualitative study whose introduction cites "previous randomised trials" stays
qualitative. The order encodes precedence: a protocol of a trial is a protocol;
a realist review is not just any systematic review; a trial with an embedded
interview study is a trial.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

DESIGNS = (
    "rct", "quasi_experimental", "cohort", "cross_sectional", "qualitative", "mixed_methods",
    "systematic_review", "scoping_review", "realist_review", "realist_evaluation", "protocol", "other",
)

LABELS = {
    "rct": "RCT", "quasi_experimental": "quasi-experimental", "cohort": "cohort", "cross_sectional": "cross-sectional",
    "qualitative": "qualitative", "mixed_methods": "mixed methods", "systematic_review": "systematic review",
    "scoping_review": "scoping review", "realist_review": "realist review", "realist_evaluation": "realist evaluation",
    "protocol": "protocol", "other": "other",
}

_F = re.IGNORECASE
_RANDOMISED = r"(?<!non-)(?<!non )(?<!quasi-)(?<!quasi )randomi[sz]ed"

# (label, pattern) in precedence order; applied to the title, then methods text, then the rest.
_RULES: list[tuple[str, re.Pattern]] = [(label, re.compile(p, _F)) for label, p in [
    ("protocol", r"\b(study|trial|review|evaluation|research) protocol\b|\bprotocol for an?\b|\bthis protocol\b"
                 r"|\bwe (will|plan to) (recruit|randomi[sz]e|conduct|use|assess|evaluate)\b"
                 r"|\b(participants|young people|adolescents|students) will be (randomi[sz]ed|recruited|allocated)\b"),
    ("realist_review", r"\brealist (review|synthesis|literature review|systematic review)\b|\brapid realist\b|\brealist-informed review\b"),
    ("realist_evaluation", r"\brealist(ic)? evaluation\b|\brealist (process )?evaluation\b|\brealist interviews?\b|\brealist-informed (evaluation|study)\b"),
    ("scoping_review", r"\bscoping (review|study|exercise)\b|\bevidence map(ping)?\b|\bsystematic map\b"),
    ("systematic_review", r"\bsystematic(ally)? (literature )?(review|search)|\bmeta-?analy[sz]|\bumbrella review\b|\breview of (reviews|trials|studies|randomi[sz]ed)\b"),
    # Singular "trial"/"RCT" only: plurals usually cite other studies ("previous randomised trials").
    ("rct", _RANDOMISED + r" (controlled |control |clinical |pilot |feasibility |pragmatic |waitlist[- ]controlled |wait-list controlled )?trial\b"
            r"|\bcluster[- ]" + _RANDOMISED + r"|\bRCT\b|\brandomly (assigned|allocated)\b|\b(were|we) " + _RANDOMISED + r"\b"
            r"|" + _RANDOMISED + r" (online |vignette |web-based )?experiment\b"),
    ("quasi_experimental", r"\bquasi[- ]?experiment|\bnon-?randomi[sz]ed\b|\bpre[- ]?(test)?[-/ ]?post[- ]?(test)?\b"
                           r"|\bbefore[- ]and[- ]after\b|\binterrupted time[- ]series\b|\bmatched comparison group\b|\bcontrolled trial\b"
                           r"|\b(waiting|wait)[- ]list (controls?|comparison)\b|\bcomparison (group|schools|sites|areas|clinics|services)\b"
                           r"|\bcontrolled (evaluation|study)\b|\bhistorical (control|comparison)|\bstepped implementation\b"),
    ("mixed_methods", r"\bmixed[- ]methods?\b|\bmulti-?method\b|\bconvergent parallel\b|\bexplanatory sequential\b|\bexploratory sequential\b"
                      # numbers and talk in one sentence: "usage logs ... combined with interviews with 20 users"
                      r"|\b(administrative|usage|routine|survey|questionnaire|outcome)s? (data|records|logs|scores|measures)\b[^.]{0,160}\binterview"
                      r"|\b(records|logs|questionnaires|scales?|were recorded)\b[^.]{0,120}\b(interviewed|interviews with)\b"),
    ("qualitative", r"\bqualitative\b|\bsemi-?structured interviews?\b|\bfocus groups?\b|\bthematic analysis\b|\bphenomenolog"
                    r"|\bgrounded theory\b|\bethnograph|\bin-depth interviews?\b|\bnarrative inquiry\b|\banaly[sz]ed thematically\b"
                    r"|\b(small[- ])?group discussions\b|\b(discourse|framework|conversation) analysis\b|\b(we|were) interviewed\b"),
    ("cross_sectional", r"\bcross-?sectional\b|\bonline survey\b|\bnational survey\b|\bsurvey (study|of|data)\b|\bquestionnaire study\b|\bwe surveyed\b"),
    ("cohort", r"\bcohort\b|\blongitudinal\b|\bprospective (study|follow)|\bretrospective (study|analysis|review)\b|\bfollowed up\b|\bpanel data\b"
               r"|\b(two|three|four|five|six|\d+) (time points|waves)\b|\bmeasured (weekly|monthly|repeatedly)\b|\bsecondary analysis\b|\bpropensity score\b|\bwe followed\b"),
]]

# Publication types specific enough to decide alone (lower-cased PubMed / Crossref / OpenAlex types).
_PUB_TYPES = [
    ("protocol", {"clinical trial protocol", "study protocol", "protocol"}),
    ("rct", {"randomized controlled trial", "randomised controlled trial"}),
    ("scoping_review", {"scoping review"}),
    ("systematic_review", {"systematic review", "meta-analysis", "network meta-analysis"}),
]
# Vaguer types: used only when no text cue decides.
_FALLBACK_TYPES = [
    ("quasi_experimental", {"controlled clinical trial", "non-randomized controlled trial", "clinical trial"}),
    ("cohort", {"observational study"}),
]

_METHODS_LABELS = re.compile(r"^(methods?|design|study design|materials and methods|methodology|setting|participants|"
                             r"data sources|eligibility criteria|methods and analysis|design and methods|design, setting and participants)\s*:", _F)
_BACKGROUND_LABELS = re.compile(r"^(background|introduction|context|objectives?|aims?|purpose|rationale|importance)\s*:", _F)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_SELF_REFERENCE = re.compile(r"\b(this|our|the present|the current|we|here)\b", _F)


def _spans(title: str, abstract: str) -> list[str]:
    """Texts in the order they are trusted: title, methods sections, other non-background text, background."""
    methods, rest, background = [], [], []
    for line in (abstract or "").splitlines():
        if _METHODS_LABELS.match(line):
            methods.append(line)
        elif _BACKGROUND_LABELS.match(line):
            background.append(line)
        else:
            rest.append(line)
    # In unstructured abstracts, sentences about *this* study outrank ones citing other work.
    sentences = _SENTENCE_END.split("\n".join(rest))
    own = [s for s in sentences if _SELF_REFERENCE.search(s)]
    spans = (title or "", "\n".join(methods), "\n".join(own), "\n".join(rest), "\n".join(background))
    return [t for t in spans if t.strip()]


def _first_rule(text: str, skip: frozenset = frozenset()) -> str | None:
    for label, pattern in _RULES:
        if label not in skip and pattern.search(text):
            return label
    return None


def classify(pub_types: list[str] | None, title: str = "", abstract: str = "") -> str:
    """One of DESIGNS for a record's publication types, title and abstract."""
    types = {t.strip().lower() for t in (pub_types or []) if t}
    spans = _spans(title, abstract)
    text_label = next((lab for s in spans if (lab := _first_rule(s))), None)

    for label, names in _PUB_TYPES:
        if types & names:
            if label == "protocol":
                return "protocol"
            # A review pub type is refined by text (realist/scoping reviews are indexed "Systematic Review").
            if label in ("systematic_review", "scoping_review") and text_label in ("realist_review", "scoping_review", "protocol"):
                return text_label
            if label == "rct" and text_label == "protocol":
                return "protocol"
            return label
    if text_label:
        return text_label
    for label, names in _FALLBACK_TYPES:
        if types & names:
            return label
    return "other"


def classify_record(rec: dict) -> str:
    return classify(rec.get("pub_types") or [], rec.get("title") or "", rec.get("abstract") or "")


# The rules' own fingerprint: when they change, every record is classified again.
RULES_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def classify_all(store, only_missing: bool | None = None) -> dict[str, int]:
    """Write records.design for live records; returns counts per design over all live records.

    Incremental by default: the store clears a record's design when its content changes, so only
    records without one are classified, unless the rules changed since the last run (or
    ONLY_MISSING=False)."""
    if only_missing is None:
        only_missing = store.get_meta("design.rules") == RULES_VERSION
    updates = []
    for rec in (store.iter_design(None) if only_missing else store.iter_records()):
        d = classify_record(rec)
        if d != rec.get("design"):
            updates.append((d, rec["id"]))
    store.set_designs(updates)
    store.set_meta("design.rules", RULES_VERSION)
    return store.design_counts()
