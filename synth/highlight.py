"""Query-term highlighting: words whose English stem matches a query term's stem.

Stemming both sides means "navigators" in a sentence lights up for the query
"peer navigator", exactly as BM25 matched it.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"(?u)\b\w\w+\b")
PLAIN_MARKS = ("«", "»")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def query_stems(query: str, stopwords: frozenset[str] | None = None) -> set[str]:
    """Stems of the query's words, stop words removed (as the BM25 index tokenises;
    pass the index's stop words to avoid importing bm25s on the query path)."""
    stop = stopwords if stopwords else _stopwords()
    words = [w for w in _WORD.findall(query.lower()) if w not in stop]
    return set(_stemmer().stemWords(words))


def spans(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """Character spans of the words in `text` matching `stems`, adjacent matches merged (phrases)."""
    if not stems or not text:
        return []
    matches = list(_WORD.finditer(text))
    stemmed = _stemmer().stemWords([m.group().lower() for m in matches])
    out: list[tuple[int, int]] = []
    for m, s in zip(matches, stemmed):
        if s in stems:
            if out and text[out[-1][1]:m.start()].strip(" -") == "":
                out[-1] = (out[-1][0], m.end())
            else:
                out.append((m.start(), m.end()))
    return out


def matched_stems(text: str, stems: set[str]) -> set[str]:
    """Which of the query's stems occur in `text`."""
    if not stems or not text:
        return set()
    return stems & set(_stemmer().stemWords([w.lower() for w in _WORD.findall(text)]))


def matched_terms(text: str, stems: set[str]) -> list[str]:
    return [text[a:b] for a, b in spans(text, stems)]


def mark_plain(text: str, stems: set[str], marks: tuple[str, str] = PLAIN_MARKS) -> str:
    return _mark(text, stems, marks[0], marks[1], lambda s: s)


def mark_rich(text: str, stems: set[str], style: str = "bold yellow") -> str:
    from rich.markup import escape

    return _mark(text, stems, f"[{style}]", f"[/{style}]", escape)


def _mark(text, stems, open_, close, esc) -> str:
    out, pos = [], 0
    for a, b in spans(text, stems):
        out += [esc(text[pos:a]), open_, esc(text[a:b]), close]
        pos = b
    out.append(esc(text[pos:]))
    return "".join(out)


def trim(text: str, stems: set[str], width: int = 320) -> str:
    """A window of about `width` characters around the first highlighted word."""
    if len(text) <= width:
        return text
    hits = spans(text, stems)
    centre = hits[0][0] if hits else 0
    start = max(0, min(centre - width // 3, len(text) - width))
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = text.find(" ", start + width)
    end = len(text) if end == -1 else end
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
