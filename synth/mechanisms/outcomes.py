"""Outcome mentions in a sentence and the direction of each: improved, no change, worse, mixed.

The theory's outcome phrases find the outcome; the clause around it gives the direction.
A sentence is cut into clauses at contrasts ("but", "whereas", ";"), so "hope rose but
depressive symptoms did not change" gives hope improved and symptoms no change. Within a
clause a null cue ("did not", "no significant difference") wins; otherwise the change word
and the phrase's polarity decide: lower depression or less dropout is improved, lower hope
or more loneliness is worse. An outcome found improved in one clause and not in another is
mixed. Reviews' "mixed evidence"/"inconsistent" findings are mixed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from synth.mechanisms.lexicon import Lexicon

DIRECTIONS = ("improved", "no_change", "worse", "mixed")

_F = re.IGNORECASE
_CLAUSES = re.compile(r";|,?\s+\b(?:but|whereas|while|although|though|however|yet)\b,?\s+|,\s+(?=(?:and )?(?:no|not)\b)", _F)
_NULL = re.compile(
    r"\b(no (?:statistically )?(?:significant|meaningful|detectable|clear|reliable|overall)?\s*(?:difference|differences|effect|effects|change|changes|improvement|reduction|increase|benefit|association|evidence)"
    r"|not (?:statistically )?significant(?:ly)?|non-?significant|did not (?:significantly )?(?:differ|change|improve|reduce|increase|decrease|lower|affect|predict|lead)"
    r"|(?:was|were|are|is) not (?:significantly )?(?:associated|related|different|improved|reduced|changed|affected)"
    r"|(?:remained|stayed) (?:stable|unchanged|similar|the same)|unchanged|similar (?:in|across|between) (?:both )?(?:groups|arms)|n\.s\.|ns\b"
    r"|no between-group|comparable between|did not reach significance|insufficient to|not consistently|no (?:\w+ ){0,2}(?:effect|impact|difference)s?"
    r"|not (?:\w+ )?(?:change|differ|improve|reduce)\w*)\b", _F)
_MIXED = re.compile(r"\b(mixed|inconsistent|equivocal|conflicting|varied|variable|partially|partial|for some but not|not all)\b", _F)
_UP = re.compile(r"\b(increas\w*|higher|greater|more|rose|rising|gain\w*|grew|enhanc\w*|boost\w*|strengthen\w*|elevated|raised|promot\w*|built|foster\w*|facilitat\w*)\b", _F)
_DOWN = re.compile(r"\b(reduc\w*|decreas\w*|lower\w*|less|fewer|fell|declin\w*|drop(?:ped)?|diminish\w*|alleviat\w*|eas(?:e|ed|ing)|mitigat\w*|prevent\w*|lessen\w*|cut)\b", _F)
_WORSEN = re.compile(r"\b(worsen\w*|deteriorat\w*|exacerbat\w*|(?<!self-)(?<!self )harm(?:ed|ful|s)?\b|trigger\w*|iatrogenic|adverse|undermin\w*|burden\w*|strain\w*|fatigue|"
                     r"detriment\w*|negative(?:ly)? (?:affect|impact)\w*|contributed to|at the expense|distressing|taxing|draining)\b", _F)
# Words that say better or worse whatever the outcome's polarity ("improvements in depressive symptoms").
_BETTER = re.compile(r"\b(improv\w*|better|benefit\w*|helpful|alleviat\w*)\b", _F)
# Outcome words where more is worse (so "reduced stigma" is improved).
_NEGATIVE = re.compile(
    r"(stigma|shame|discriminat|depress|anxi|distress|symptom|suicid|self-?harm|stress|ptsd|psychopath|hopeless|lonel|isolat|"
    r"drop-?out|disengag|relapse|readmi|re-?hospital|hospitali|attrition|burnout|self-?stigma|problems?|difficult)", _F)


@lru_cache(maxsize=8)
def _lexicon(key: tuple) -> Lexicon:
    return Lexicon([(oid, p) for oid, phrases in key for p in phrases])


def outcome_lexicon(theory) -> Lexicon:
    return _lexicon(tuple((o.id, tuple((*o.phrases, o.name))) for o in theory.outcomes))


@lru_cache(maxsize=4096)
def _negative(phrase: str) -> bool:
    return bool(_NEGATIVE.search(phrase))


def _clause_facts(clause: str) -> tuple[bool, bool, bool, bool, bool, bool]:
    """The clause's cues (mixed, null, up, down, worsen, better): read once per clause, whatever
    the number of outcomes it names (a table over 20,000 records reads ~90,000 clauses)."""
    return (bool(_MIXED.search(clause)), bool(_NULL.search(clause)), bool(_UP.search(clause)),
            bool(_DOWN.search(clause)), bool(_WORSEN.search(clause)), bool(_BETTER.search(clause)))


def _direction(facts: tuple, negative: bool) -> str:
    mixed, null, up, down, worsen, better = facts
    if mixed:
        return "mixed"
    if null:
        return "no_change"
    if worsen and not better and not down:  # "less harmful" is not harm
        return "worse"
    if better:
        return "improved"
    if up and not down:
        return "worse" if negative else "improved"
    if down and not up:
        return "improved" if negative else "worse"
    return "improved"  # a finding that names an outcome without a change word ("helped with", "associated with hope")


def mentions(lex: Lexicon, text: str) -> dict[str, str]:
    """{outcome id: direction} for the outcomes a sentence reports."""
    found: dict[str, set[str]] = {}
    for clause in _CLAUSES.split(text):
        if not clause or not clause.strip():
            continue
        if lex.regex is None:
            break
        facts = None
        for m in lex.regex.finditer(clause):
            facts = facts or _clause_facts(clause)
            for oid in lex._codes_of(m.group(0)):
                found.setdefault(oid, set()).add(_direction(facts, _negative(m.group(0))))
    out = {}
    for oid, dirs in found.items():
        if len(dirs) == 1:
            out[oid] = dirs.pop()
        elif "mixed" in dirs or ("improved" in dirs and ("no_change" in dirs or "worse" in dirs)):
            out[oid] = "mixed"
        else:
            out[oid] = "worse" if "worse" in dirs else "no_change"
    return out


def direction_of(text: str, outcome_phrase: str) -> str:
    """The direction of one named outcome in a sentence (for an outcome a person coded by hand)."""
    return _direction(_clause_facts(text), _negative(outcome_phrase))
