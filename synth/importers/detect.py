"""Turn a file's bytes into text, and tell which export format the text is in.

Exports reach reviewers through Windows tools, Excel and library proxies, so the
bytes may carry a UTF-8 or UTF-16 BOM, be UTF-16 without one, or be in a legacy
encoding (Windows-1252, GBK, Shift-JIS …: guessed with charset-normalizer, and said so
in a warning line). Formats are recognised from content, not the file name: WoS ships RIS
and "plain text" as `.txt`, PubMed as `.nbib` or `.txt`.
"""

from __future__ import annotations

import codecs
import json
import re

from synth.importers.base import ImportFileError

FORMATS = ("ris", "nbib", "bibtex", "csv", "jsonl")
FORMAT_NAMES = {"ris": "RIS", "nbib": "MEDLINE (.nbib)", "bibtex": "BibTeX", "csv": "CSV", "jsonl": "JSONL"}

_MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (an .xlsx/.docx? save it as CSV)"),
    (b"\x1f\x8b", "a gzip archive"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"SQLite format 3", "an SQLite database"), (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc? save it as CSV)"),
    (b"{\\rtf", "an RTF document"), (b"\x7fELF", "a program"), (b"BZh", "a bzip2 archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode(data: bytes, name: str = "<input>") -> tuple[str, str]:
    """(text with `\\n` newlines and no BOM, encoding used); ImportFileError if not text."""
    text, encoding, _ = decode_text(data, name)
    return text, encoding


def decode_text(data: bytes, name: str = "<input>") -> tuple[str, str, list[str]]:
    """Like decode(), plus one-line warnings: a guessed (non-UTF-8) encoding, NUL bytes removed."""
    if not data.strip(b" \t\r\n\x00") or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise ImportFileError(f"{name}: the file is empty")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise ImportFileError(f"{name}: this is {what}, not a bibliographic export")
    warnings: list[str] = []
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding is None and b"\x00" in data[:4096]:
        encoding = _utf16_without_bom(data[:4096])
        if encoding is None and data[:4096].count(0) * 100 > len(data[:4096]):
            raise ImportFileError(f"{name}: this is a binary file, not a bibliographic export")
        if encoding:
            warnings.append(f"{name}: not UTF-8; read as {encoding.upper()} without a BOM (guessed from its zero bytes)")
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise ImportFileError(f"{name}: cannot decode the file as {encoding}") from None
    else:
        text, encoding, guessed = _decode_8bit(data)
        if guessed:
            warnings.append(f"{name}: not UTF-8; read as {encoding} (guessed: check accents and names, "
                            f"or save the file as UTF-8)")
    # NUL bytes (padding from broken exporters) would be stored and re-exported: drop them anywhere.
    nuls = text.count("\x00")
    if nuls:
        text = text.replace("\x00", "")
        warnings.append(f"{name}: removed {nuls} NUL byte{'s' if nuls > 1 else ''}")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    sample = text[:65536]
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 100):
        raise ImportFileError(f"{name}: this is a binary file, not a bibliographic export")
    if not text.strip():
        raise ImportFileError(f"{name}: the file is empty")
    return text, encoding, warnings


# Encodings charset-normalizer names for multi-byte (CJK) text: these decode strictly, so a hit is reliable.
_MULTIBYTE = ("gb18030", "gb2312", "gbk", "big5", "big5hkscs", "cp932", "shift_jis", "euc_jp", "euc_kr", "cp949",
              "cp950", "euc_jis_2004", "shift_jis_2004", "iso2022_jp", "johab", "hz")


def _decode_8bit(data: bytes) -> tuple[str, str, bool]:
    """(text, encoding, guessed). UTF-8; a UTF-8 file with a few broken bytes stays UTF-8 (bad bytes
    replaced) rather than turning every accent into mojibake; otherwise charset-normalizer's guess
    when it is a multi-byte encoding (GBK, Shift-JIS, Big5 …), Windows-1252 when the text reads as
    a Western language in it, else charset-normalizer's single-byte guess, else Latin-1 (never fails)."""
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd")
    good = sum(1 for c in lenient if ord(c) > 127) - bad
    if good >= 3 * bad:
        return lenient, "utf-8 (with undecodable bytes replaced)", True
    best = _guess(data)
    if best and best.replace("-", "_").lower() in _MULTIBYTE:
        try:
            return data.decode(best), best, True
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        text = data.decode("cp1252")
        if _reads_western(text) or not best:
            return text, "cp1252", True
    except UnicodeDecodeError:
        pass
    if best:
        try:
            return data.decode(best), best, True
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("latin-1"), "latin-1", True


def _guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    return match.encoding if match else None


_WORD = re.compile(r"[^\W\d_]+")


def _reads_western(text: str) -> bool:
    """Western text has a few accented letters inside mostly-ASCII words ("Müller", "naïve"); Cyrillic,
    Greek or CJK bytes read as Windows-1252 give words made wholly of accented letters."""
    words = [w for w in _WORD.findall(text[:200000]) if any(ord(c) > 127 for c in w)]
    if not words:
        return True
    accented = sum(sum(ord(c) > 127 for c in w) for w in words)
    return accented <= 0.5 * sum(len(w) for w in words)


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM has a zero byte in every other position (ASCII-heavy text)."""
    even, odd = head[0::2], head[1::2]
    if len(head) < 4:
        return None
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / max(1, len(odd))
    if zeros_odd > 0.4 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.4 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


_RIS_TY = re.compile(r"^TY {1,2}-")
_WOS_HEAD = re.compile(r"^(FN|VR|PT) \S")
_MEDLINE_ID = re.compile(r"^(PMID|PMC ?) ?- ?\S")
_BIBTEX = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]")


def sniff(text: str) -> str | None:
    """The format the text is in, judged from its first entries, or None."""
    lines = [ln for ln in text[:200000].split("\n") if ln.strip()][:400]
    for ln in lines:
        if _RIS_TY.match(ln) or (_WOS_HEAD.match(ln) and any(x.rstrip() == "ER" for x in lines)):
            return "ris"
        if _MEDLINE_ID.match(ln):
            return "nbib"
        if _BIBTEX.match(ln):
            return "bibtex"
    first = lines[0].strip() if lines else ""
    if first.startswith("{"):
        try:
            if isinstance(json.loads(first), dict):
                return "jsonl"
        except ValueError:
            pass
    if first.startswith("["):
        try:
            if isinstance(json.loads(text), list):
                return "jsonl"
        except ValueError:
            pass
    from synth.importers.columns import looks_tabular

    if looks_tabular(text):
        return "csv"
    return None


def describe(text: str) -> str:
    """For error messages: what the text looks like instead."""
    fmt = sniff(text)
    return f"it looks like {FORMAT_NAMES[fmt]}: try --format {fmt} or --format auto" if fmt else \
        "it is not a format synth recognises (RIS, MEDLINE/nbib, BibTeX, CSV, JSONL)"
