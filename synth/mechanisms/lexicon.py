"""Phrase matching: one compiled regex per lexicon, one pass per sentence.

Phrases match case-insensitively on word boundaries; a hyphen and a space are
interchangeable ("self-stigma" = "self stigma") and a plural -s/-es is allowed.
Longer phrases win where phrases overlap ("shared lived experience" over "lived experience").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable


def _key(text: str) -> str:
    return re.sub(r"[\s\-]+", " ", text.lower()).strip()


def _pattern(phrase: str) -> str:
    """A phrase as a regex; `*` is a wildcard for the rest of a word ("peer-facilitat*")."""
    parts = [re.escape(p).replace(r"\*", r"\w*") for p in re.split(r"[\s\-]+", phrase.lower().strip()) if p]
    return r"[\s\-]*".join(parts)


def _trie(keys) -> dict:
    root: dict = {}
    for k in keys:
        node = root
        for ch in k:
            node = node.setdefault(ch, {})
        node[""] = {}
    return root


def _tok(ch: str) -> str:
    return r"[\s\-]*" if ch == " " else r"\w*" if ch == "*" else re.escape(ch)


def _trie_regex(node: dict) -> str:
    """A trie as a regex: alternatives share prefixes, so matching costs ~one pass (not one per phrase)."""
    alts = [_tok(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    optional = "" in node
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 and not optional and len(alts[0]) <= 2 else "(?:" + "|".join(alts) + ")"
    return body + ("?" if optional else "")


class Lexicon:
    """Maps phrases to codes; `match(text)` counts hits per code."""

    def __init__(self, entries: Iterable[tuple[str, str]]):
        self.by_key: dict[str, set[str]] = {}
        self.wild: list[tuple[re.Pattern, set[str]]] = []
        for code, phrase in entries:
            k = _key(phrase)
            if k:
                self.by_key.setdefault(k, set()).add(code)
        for k, codes in self.by_key.items():
            if "*" in k:
                self.wild.append((re.compile(_pattern(k) + r"(?:e?s)?$", re.IGNORECASE), codes))
        self.regex = (
            re.compile(r"(?<![\w])" + _trie_regex(_trie(self.by_key)) + r"(?:e?s)?(?![\w])", re.IGNORECASE)
            if self.by_key else None
        )

    def _codes_of(self, matched: str) -> set[str]:
        k = _key(matched)
        for cand in (k, k[:-1] if k.endswith("s") else None, k[:-2] if k.endswith("es") else None):
            if cand and cand in self.by_key:
                return self.by_key[cand]
        found: set[str] = set()
        for rx, codes in self.wild:
            if rx.match(matched):
                found |= codes
        return found

    def match(self, text: str) -> Counter:
        hits: Counter = Counter()
        if self.regex is None or not text:
            return hits
        for m in self.regex.finditer(text):
            for code in self._codes_of(m.group(0)):
                hits[code] += 1
        return hits

    def terms(self, text: str) -> list[str]:
        return [m.group(0) for m in self.regex.finditer(text)] if self.regex is not None and text else []


# Cue words for CMO roles (independent of any one theory).
_CHANGE = re.compile(
    r"\b(improv\w*|increas\w*|decreas\w*|reduc\w*|declin\w*|lower\w*|higher|greater|fewer|rose|fell|"
    r"gain\w*|benefit\w*|effect\w*|associated|predict\w*|significant\w*|odds ratio|risk ratio|"
    r"95% ?ci|p ?[<=>] ?0?\.\d|cohen|difference|changes? in|outcomes?|worse\w*|better)\b",
    re.IGNORECASE,
)
_PROCESS = re.compile(
    r"\b(because|through|by (?:\w+ing)|via|enabled?|allow\w*|help(?:ed|s)? (?:them|participants|young|youth|students|clients|people|members)|"
    r"made (?:them|it|participants|young)|felt|feel\w*|sense of|fostered|foster\w*|mediat\w*|mechanism\w*|"
    r"valued|described|reported that|said that|explained|attributed|led to|leading to|so that|when they|"
    r"encourag\w*|motivat\w*|inspir\w*|saw|seeing|learn\w*)\b",
    re.IGNORECASE,
)
_DESIGN = re.compile(
    r"\b(we (?:recruited|randomi[sz]ed|conducted|interviewed|surveyed|analy[sz]ed|used|explored|examined)|"
    r"were recruited|participants were|semi-structured|thematic analysis|cross-sectional|randomi[sz]ed|"
    r"protocol|design|sample of|data were|questionnaire|focus groups?|interviews? with)\b",
    re.IGNORECASE,
)


def has_change(text: str) -> bool:
    return bool(_CHANGE.search(text))


# A study's limitations use process words ("does not allow", "cannot be attributed") about its design, not
# about how support works: they are never unexplained mechanisms.
_LIMITATION = re.compile(
    r"\b(cannot be (?:attributed|determined|inferred|established)|can not be|does not allow|do not allow|"
    r"limitations?|limited by|absence of a control|uncontrolled design|causal (?:inference|conclusions?)|"
    r"direction of (?:these|the|this) associations?|attrition|small sample|self-selected)\b",
    re.IGNORECASE,
)


def has_process(text: str) -> bool:
    return bool(_PROCESS.search(text)) and not _LIMITATION.search(text)
