"""BibTeX from database exports (Web of Science "savedrecs.bib", Scopus, Zotero, EndNote).

bibtexparser 2 splits the file into entries (with line numbers and failed blocks);
pylatexenc decodes LaTeX in the values. WoS escapes brackets as `{[}`, `&` as `\\&`,
`_` as `\\_` and mangles entities ("Timi \\& scedil;oara"); a bare `%` (common in
abstracts: "50% of participants") is escaped first, or LaTeX would read it as a comment.
"""

from __future__ import annotations

import logging
import re

import bibtexparser
from bibtexparser import model
from bibtexparser.middlewares import RemoveEnclosingMiddleware, ResolveStringReferencesMiddleware
from bibtexparser.middlewares.middleware import LibraryMiddleware

from synth.importers.base import (
    Collector,
    ImportFileError,
    ImportResult,
    database_from_urls,
    find_doi,
    find_pmcid,
    find_pmid,
    one_line,
    split_list,
    structure_abstract,
)
from synth.records import Record

_PERCENT = re.compile(r"(?<!\\)%")
_SIMPLE_ESCAPE = re.compile(r"\\([&_%$#])")
_NAME_SPLIT = re.compile(r"\s+and\s+", re.I)
# Macros that print nothing and take one argument: sort keys (`{\noopsort{2011a}}2010` is the year 2010).
_NOOP_MACROS = ("noopsort", "sortnoop", "SortNoop", "nosort", "NOOPSORT", "oneletter")
_NEWCOMMAND_NOOP = re.compile(r"\\(?:re)?newcommand\s*\{?\s*\\([A-Za-z]+)\s*\}?\s*\[1\]\s*\{\s*\}")
# Text macros pylatexenc does not know or renders differently from what a reader expects.
_TEXT_MACROS = {"textless": "<", "textgreater": ">", "textbar": "|", "textbackslash": "\\", "textasciitilde": "~",
                "textasciicircum": "^", "textunderscore": "_", "textquotedbl": '"', "textdollar": "$",
                "textpercent": "%", "textbraceleft": "{", "textbraceright": "}", "TeX": "TeX", "LaTeX": "LaTeX",
                "BibTeX": "BibTeX", "LaTeXe": "LaTeX2e", "XeTeX": "XeTeX"}
_MONTHS = {m[:3].lower(): m for m in ("January", "February", "March", "April", "May", "June", "July", "August",
                                         "September", "October", "November", "December")}


def _latex(noop=()):
    """A LaTeX-to-text converter that keeps what the text says: unknown macros keep their name or
    their argument's text (`{\\TeX}`, `\\mbox{x}`), `{\\textless}` is "<", sort-key macros vanish."""
    from pylatexenc import latex2text as L
    from pylatexenc import latexwalker as W
    from pylatexenc import macrospec as M

    noop = tuple(dict.fromkeys((*_NOOP_MACROS, *noop)))
    walker_db = W.get_default_latex_context_db()
    walker_db.add_context_category("synth", macros=[M.MacroSpec(m, "{") for m in noop], prepend=True)
    text_db = L.get_default_latex_context_db()
    specs = [L.MacroTextSpec(m, discard=True) for m in noop]
    specs += [L.MacroTextSpec(m, simplify_repl=_with_space(v)) for m, v in _TEXT_MACROS.items()]
    specs += [L.MacroTextSpec(m, simplify_repl="%s") for m in ("url", "path", "nolinkurl")]  # not "<url>"
    text_db.add_context_category("synth", macros=specs, prepend=True)
    return _KeepText(latex_context=text_db, walker_context=walker_db, math_mode="text", strict_latex_spaces=False)


def _with_space(text: str):
    """The macro's text, keeping the space LaTeX would swallow after it (`\\TeX users`)."""
    return lambda node: text + (" " if node.macro_post_space else "")


class _KeepText:
    """pylatexenc's LatexNodes2Text, but an unknown macro is not dropped with its content."""

    def __init__(self, latex_context, walker_context, **flags):
        from pylatexenc.latex2text import LatexNodes2Text

        class Converter(LatexNodes2Text):
            def macro_node_to_text(self, node):
                if self.latex_context.get_macro_spec(node.macroname) is not None:
                    return super().macro_node_to_text(node)
                args = node.nodeargd.argnlist if node.nodeargd and node.nodeargd.argnlist else []
                text = "".join(self._groupnodecontents_to_text(n) for n in args if n is not None)
                if text or args:
                    return text
                after = node.parsing_state.s[node.pos + node.len:node.pos + node.len + 2]
                # `\\foo{bar}`: the group that follows is its text; `{\\TeX}`, `\\TeX{}`: the name is
                if after[:1] == "{" and after != "{}":
                    return ""
                return node.macroname + (" " if node.macro_post_space else "")

        self.conv = Converter(latex_context=latex_context, **flags)
        self.walker_context = walker_context

    def latex_to_text(self, value: str) -> str:
        return self.conv.latex_to_text(value, latex_context=self.walker_context)


def decode_latex(value: str, conv=None) -> str:
    value = value or ""
    # Fast path for what exports mostly hold (WoS: `{[}`, `\&`, `\_`): pylatexenc costs ms per field.
    simple = _SIMPLE_ESCAPE.sub(r"\1", value).replace("{[}", "[").replace("{]}", "]")
    if "\\" not in simple and "$" not in simple and "~" not in simple:
        return simple.replace("{", "").replace("}", "")
    value = _PERCENT.sub(r"\\%", value)
    try:
        return (conv or _latex()).latex_to_text(value)
    except Exception:
        return value.replace("{", "").replace("}", "")


class ResolveConcatenation(LibraryMiddleware):
    """`#` concatenation and the @string references inside it (bibtexparser 2 resolves only a value
    that is one whole reference): `"Proc. Fifteenth Annual" # STOC` -> `{Proc. Fifteenth Annual STOC}`.
    @string values may use earlier strings; BibTeX's month macros (jan …) are predefined; an unknown
    reference is kept as its name rather than dropped. Runs before bibtexparser's own middlewares."""

    @classmethod
    def metadata_key(cls) -> str:
        return "synth_resolve_concatenation"

    def transform(self, library):
        strings = self.strings(library)
        for entry in library.entries:
            for f in entry.fields:
                f.value = resolve_value(f.value, strings)
        return library

    @staticmethod
    def strings(library) -> dict[str, str]:
        strings = dict(_MONTHS)
        for block in library.strings:  # file order: a string may use the ones before it
            strings[block.key.strip().lower()] = resolve_value(block.value, strings, unwrap=True)
        return strings


def resolve_value(value, strings: dict[str, str], unwrap: bool = False):
    """A field's raw value with references and `#` resolved, re-enclosed in braces (or as it was)."""
    if not isinstance(value, str):
        return value
    parts = _concat_parts(value)
    single_enclosed = len(parts) == 1 and _enclosed(parts[0])
    if single_enclosed and not unwrap:
        return value
    if len(parts) == 1 and not single_enclosed and parts[0].lower() not in strings:
        return parts[0] if unwrap else value  # a number, or an unknown reference: kept as written
    joined = ""
    for p in parts:
        piece = p[1:-1] if _enclosed(p) else strings.get(p.lower(), p)
        # Two words run together ("Annual" # STOC) read as one garbled word: keep them apart.
        joined += " " + piece if joined[-1:].isalpha() and piece[:1].isalpha() else piece
    return joined if unwrap else "{" + joined + "}"


def _enclosed(part: str) -> bool:
    return len(part) >= 2 and ((part[0] == "{" and part[-1] == "}") or (part[0] == '"' and part[-1] == '"'))


def _concat_parts(value: str) -> list[str]:
    """Split on `#` outside braces and quotes (a delimiter preceded by a backslash is escaped)."""
    parts, cur, depth, quoted, prev = [], [], 0, False, ""
    for ch in value:
        if prev != "\\":
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == '"' and depth == 0:
                quoted = not quoted
            elif ch == "#" and depth == 0 and not quoted:
                parts.append("".join(cur).strip())
                cur, prev = [], ch
                continue
        cur.append(ch)
        prev = ch
    parts.append("".join(cur).strip())
    return [p for p in parts if p] or [""]


def parse(text: str, name: str = "<text>", database: str | None = None) -> ImportResult:
    col = Collector(name, "bibtex", database)
    text = text.lstrip("\ufeff")
    log = logging.getLogger("bibtexparser")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)  # failed blocks are reported as Problems instead of log noise
    try:
        library = bibtexparser.parse_string(text, parse_stack=[
            ResolveConcatenation(), ResolveStringReferencesMiddleware(), RemoveEnclosingMiddleware()])
    except Exception as e:
        raise ImportFileError(f"{name}: cannot read as BibTeX ({type(e).__name__}: {e})") from None
    finally:
        log.setLevel(level)
    entries: list[model.Entry] = list(library.entries)
    failed = list(library.failed_blocks)
    strings = ResolveConcatenation.strings(library)
    for block in failed:
        dup = getattr(block, "ignore_error_block", None)
        if isinstance(dup, model.Entry):  # duplicate key / field: the entry itself is fine (middlewares skip it)
            for f in dup.fields:
                f.value = resolve_value(f.value, strings, unwrap=True)
            entries.append(dup)
        else:
            col.problem((block.start_line or 0) + 1, f"malformed BibTeX entry: {_reason(block)}",
                        block.raw or "")
    if not entries and not col.result.problems:
        from synth.importers.detect import describe

        raise ImportFileError(f"{name}: no BibTeX entries found ({describe(text)})")
    preambles = " ".join(str(p.value) for p in library.preambles)
    conv = _latex(tuple(_NEWCOMMAND_NOOP.findall(preambles)))
    entries.sort(key=lambda e: e.start_line or 0)
    for entry in entries:
        fields = {}
        for f in entry.fields:
            key = f.key.strip().lower()
            if key not in fields and isinstance(f.value, str):
                fields[key] = f.value
        rec, native, db = _record(entry, fields, conv)
        col.add(rec, (entry.start_line or 0) + 1, entry.raw or "", native, db)
    return col.result


def _reason(block) -> str:
    err = getattr(block, "error", None)
    text = getattr(err, "abort_reason", None) or str(err or "")
    return " ".join(text.split())[:200] or "syntax error"


def _record(entry: model.Entry, f: dict[str, str], conv) -> tuple[Record, str | None, str]:
    cache: dict[str, str] = {}

    def text(*keys: str) -> str:
        for k in keys:
            if f.get(k, "").strip():
                if k not in cache:
                    cache[k] = one_line(decode_latex(f[k], conv))
                return cache[k]
        return ""

    authors = [one_line(decode_latex(a, conv)) for a in _NAME_SPLIT.split(f.get("author", "")) if a.strip()]
    urls = [f.get("url", ""), f.get("link", "")]
    uid = text("unique-id", "unique_id")
    eid = text("eid") if text("eid").startswith("2-s2.0") else ""
    if not eid:
        m = re.search(r"eid=(2-s2\.0-\d+)", " ".join(urls))
        eid = m.group(1) if m else ""
    native = uid if uid.upper().startswith("WOS:") else f"EID:{eid}" if eid else None
    db = ("Web of Science" if uid.upper().startswith("WOS:") else text("source") if text("source").lower() in
          ("scopus", "embase", "pubmed", "medline", "web of science") else "") or database_from_urls(urls)
    if not native and entry.key and not f.get("doi") and not f.get("pmid"):
        native = f"key:{entry.key.strip()}"
    notes = [text("note"), text("annote"), text("pmid"), text("pubmed")]
    eprint = text("eprint") if text("eprinttype").lower() == "pubmed" else ""
    year = text("year") or text("date")
    rec = Record(
        title=text("title", "booktitle"),
        abstract=structure_abstract(text("abstract")),
        doi=find_doi(text("doi")) or find_doi(urls),
        pmid=eprint or (text("pmid") if text("pmid").isdigit() else None) or find_pmid(notes),
        pmcid=find_pmcid([text("pmcid")]) if text("pmcid") else None,
        openalex=text("openalex") or None,
        authors=authors,
        year=int(m.group(1)) if (m := re.search(r"(1[89]\d\d|20\d\d|21\d\d)", year)) else None,
        journal=text("journal", "journaltitle", "booktitle", "series"),
        pub_types=[text("type")] if text("type") else [entry.entry_type],
        keywords=split_list(text("keywords"), ";,") + split_list(text("keywords-plus"), ";"),
        language=text("language"),
        url=text("url"),
        volume=text("volume"),
        issue=text("number", "issue"),
        pages=text("pages").replace("--", "-"),
    )
    return rec, native, db
