"""Text and identifier normalisation shared by spiders, importers and the store.

Abstracts arrive with JATS, HTML and MathML markup, entities, odd whitespace and
mixed Unicode forms; every source goes through the same functions so that the
content hash and the de-duplication keys agree across sources.
"""

from __future__ import annotations

import html
import re
import unicodedata


_WS = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_TAG = re.compile(r"<[^>]+>")
# A real tag (`<p>`, `</jats:p>`, `<mml:math ...>`, `<br/>`), not a comparison like `p < 0.05`.
_REAL_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.I)
_PMCID = re.compile(r"^(?:PMC)?(\d+)$", re.I)

# Block-level elements whose end should become a paragraph break (kept as "\n").
_BLOCK = {"p", "sec", "div", "br", "li", "title", "jats:p", "jats:sec", "jats:title"}


def clean_whitespace(text: str) -> str:
    """Collapse runs of spaces inside lines; keep single newlines between paragraphs."""
    lines = [_WS.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def strip_markup(text: str | None) -> str:
    """Remove HTML/JATS/MathML tags and entities, keeping text content.

    Parsed with lxml's HTML parser (tolerant of namespace prefixes like `jats:p`,
    never fetches anything); falls back to a regex when the fragment is hopeless.
    """
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return clean_whitespace(unicodedata.normalize("NFC", text))
    if _REAL_TAG.search(text):
        from lxml import etree, html as lxml_html  # lazily: `synth search` never strips markup

        try:
            root = lxml_html.fragment_fromstring(text, create_parent="div")
            parts: list[str] = []
            _collect(root, parts)
            text = "".join(parts)
        except (etree.ParserError, ValueError):
            text = _TAG.sub(" ", text)
    text = html.unescape(text)
    return clean_whitespace(unicodedata.normalize("NFC", text))


def _collect(el, parts: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    local = tag.split("}")[-1].lower()
    if el.text and isinstance(el.tag, str):  # comments and processing instructions have a callable tag
        parts.append(el.text)
    for child in el:
        _collect(child, parts)
        if child.tail:
            parts.append(child.tail)
    if local in _BLOCK or local.endswith(":p") or local.endswith(":sec"):
        parts.append("\n")


def clean_text(text: str | None) -> str:
    """Title-like single-line text: markup removed, NFC, one line."""
    return strip_markup(text).replace("\n", " ").strip()


def normalize_doi(value: str | None) -> str | None:
    """Bare lower-case DOI (`10.xxxx/yyy`) from a DOI, doi: prefix or resolver URL."""
    if not value:
        return None
    m = _DOI.search(str(value).strip())
    if not m:
        return None
    doi = m.group(0).rstrip(".,;)]}>").lower()
    return doi


def normalize_pmid(value) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    s = re.sub(r"^(?:pmid:?\s*)", "", s, flags=re.I)
    return s if s.isdigit() and s != "0" else None


def normalize_pmcid(value) -> str | None:
    if not value:
        return None
    m = _PMCID.match(str(value).strip().replace(" ", ""))
    return f"PMC{m.group(1)}" if m else None


def normalize_openalex(value) -> str | None:
    if not value:
        return None
    m = re.search(r"(W\d+)$", str(value).strip(), re.I)
    return m.group(1).upper() if m else None


def title_key(title: str) -> str:
    """Lower-case ASCII-folded alphanumerics, for fuzzy title matching."""
    folded = unicodedata.normalize("NFKD", title or "")
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", folded))


def parse_year(value) -> int | None:
    if value is None:
        return None
    m = re.search(r"(1[89]\d\d|20\d\d|21\d\d)", str(value))
    return int(m.group(1)) if m else None
