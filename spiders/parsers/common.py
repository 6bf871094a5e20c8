"""Helpers shared by the per-API parsers: markup to text, structured abstracts, authors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from lxml import etree, html as lxml_html

from synth.records import Record

MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"

# ISO 639-1 (OpenAlex, Crossref) → the ISO 639-2/B codes PubMed and Europe PMC use,
# so that one study's language agrees across sources.
LANG_3 = {
    "en": "eng", "fr": "fre", "de": "ger", "es": "spa", "it": "ita", "pt": "por", "nl": "dut",
    "ja": "jpn", "zh": "chi", "ru": "rus", "ko": "kor", "pl": "pol", "sv": "swe", "da": "dan",
    "no": "nor", "fi": "fin", "tr": "tur", "ar": "ara", "he": "heb", "cs": "cze", "hu": "hun",
    "el": "gre", "fa": "per", "id": "ind", "th": "tha", "uk": "ukr", "ro": "rum", "hr": "hrv",
}

_HEADINGS = {"title", "h1", "h2", "h3", "h4", "h5", "h6", "jats:title"}
_BLOCKS = {"p", "sec", "div", "br", "li", "jats:p", "jats:sec", "abstract", "jats:abstract", "section"}


class PageError(ValueError):
    """A whole response could not be used (truncated, not XML/JSON, an API error body)."""


@dataclass
class Parsed:
    """One record of a page: a Record, or the reason it could not be built and its raw text."""

    record: Record | None
    source_id: str = ""
    error: str = ""
    raw: str = ""


def collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def language(code: str | None) -> str:
    code = (code or "").strip().lower()
    return LANG_3.get(code, code)


def author_name(family: str | None, given: str | None) -> str:
    family, given = collapse(family), collapse(given)
    if family and given:
        return f"{family}, {given}"
    return family or given


def split_display_name(name: str | None) -> str:
    """'Heather Piwowar' → 'Piwowar, Heather' (already 'Family, Given' stays)."""
    name = collapse(name)
    if not name or "," in name:
        return name
    parts = name.rsplit(" ", 1)
    return f"{parts[1]}, {parts[0]}" if len(parts) == 2 else name


def label_line(label: str | None, text: str) -> str:
    label = collapse(label).rstrip(":.").strip()
    return f"{label.upper()}: {text}" if label else text


# ----------------------------------------------------------------- XML elements
def element_text(el: etree._Element | None) -> str:
    """Text content of an XML element with inline HTML and MathML flattened.

    MathML is pretty-printed in PubMed (one token per indented line); its
    whitespace-only text is dropped so `<mml:mi>V</mml:mi>…<mml:mn>2</mml:mn>`
    reads `V.O2max`, not `V . O 2 m a x`.
    """
    if el is None:
        return ""
    if len(el) == 0:  # fast path: no inline markup
        return " ".join(el.text.split()) if el.text else ""
    if el.find(".//" + MATHML_NS + "math") is None:
        return " ".join("".join(el.itertext()).split())
    parts: list[str] = []
    _walk(el, parts, in_math=False)
    return collapse("".join(parts))


def _walk(el, parts: list[str], in_math: bool) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    math = in_math or tag.startswith(MATHML_NS)
    keep_ws = tag == MATHML_NS + "mtext"
    if el.text and isinstance(el.tag, str):
        parts.append(el.text if (not math or keep_ws) else el.text.strip())
    for child in el:
        _walk(child, parts, math)
        if child.tail:
            parts.append(child.tail.strip() if math else child.tail)


# ----------------------------------------------------------------- HTML / JATS strings
def markup_to_text(markup: str | None) -> str:
    """HTML/JATS abstract → plain text, one section a line as `LABEL: text`.

    Section headings (`<jats:sec><jats:title>Methods</jats:title>`, Europe PMC's
    `<h4>Background</h4>`) become labels; a lone "Abstract" heading is dropped.
    """
    if not markup:
        return ""
    if "<" not in markup:
        return "\n".join(line for line in (collapse(x) for x in _unescape(markup).split("\n")) if line)
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return collapse(re.sub(r"<[^>]+>", " ", _unescape(markup)))
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    buf: list[str] = []

    def flush() -> None:
        text = collapse("".join(buf))
        buf.clear()
        if text:
            sections[-1][1].append(text)

    def walk(e, in_math: bool) -> None:
        tag = e.tag.lower() if isinstance(e.tag, str) else ""
        math = in_math or tag.startswith("mml:") or tag == "math"
        if tag in _HEADINGS:
            flush()
            label = collapse("".join(e.itertext()))
            sections.append((None if label.lower().rstrip(":.") in ("abstract", "summary", "") else label, []))
            if e.tail:
                buf.append(e.tail)
            return
        if e.text and tag:
            buf.append(e.text.strip() if math and tag != "mml:mtext" else e.text)
        for child in e:
            walk(child, math)
        if tag in _BLOCKS:
            flush()
        if e.tail and e is not root:
            buf.append(e.tail.strip() if in_math else e.tail)

    walk(root, False)
    flush()
    lines: list[str] = []
    for label, paras in sections:
        if not paras:
            continue
        if label:
            lines.append(label_line(label, " ".join(paras)))
        else:
            lines.extend(paras)
    return "\n".join(lines)


def _unescape(s: str) -> str:
    import html

    return html.unescape(s)


# ----------------------------------------------------------------- JSON pages
def load_json(data: bytes | str | dict) -> Any:
    if isinstance(data, (dict, list)):
        return data
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise PageError(f"response is not valid JSON ({e})") from None


def parse_items(items: Iterable[dict], build: Callable[[dict], Record], source_id: Callable[[dict], str]) -> Iterator[Parsed]:
    """Build one Record per item; an item that breaks the parser is reported, not raised."""
    for item in items:
        sid = ""
        try:
            sid = source_id(item) if isinstance(item, dict) else ""
            if not isinstance(item, dict):
                raise TypeError(f"item is a {type(item).__name__}, not an object")
            yield Parsed(build(item), source_id=sid)
        except Exception as e:  # noqa: BLE001 - one bad record must not lose the page
            yield Parsed(None, source_id=sid, error=f"parse error: {type(e).__name__}: {e}", raw=json.dumps(item, ensure_ascii=False)[:20000])


def first(value) -> Any:
    """First element of a list (Crossref wraps most strings in lists), else the value."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def as_str(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return str(value)
