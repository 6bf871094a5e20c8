"""Importers for database exports: RIS, WoS plain text, MEDLINE/.nbib, BibTeX, CSV/TSV, JSONL.

    read_file(path, fmt="auto") -> ImportResult      # pure: nothing is stored
    import_files(store, paths, fmt, database, run_id) # parse ALL files first, then upsert

Imported records go through `Store.upsert`, the same normalise → de-duplicate →
merge-provenance pipeline as harvested ones (source "import", the database in
the provenance row), and bad entries go to the quarantine table with "file:line".
"""

from __future__ import annotations

from pathlib import Path

from synth.importers.base import ImportFileError, ImportResult, Problem
from synth.importers.detect import FORMAT_NAMES, FORMATS, decode_text, sniff
from synth.records import InvalidRecord

__all__ = ["FORMATS", "ImportFileError", "ImportResult", "Problem", "import_files", "parse_text", "read_all", "read_bytes", "read_file", "store_results"]


def _parser(fmt: str):
    from synth.importers import bibtex, jsonl, nbib, ris, tabular

    return {"ris": ris.parse, "nbib": nbib.parse, "bibtex": bibtex.parse, "csv": tabular.parse, "jsonl": jsonl.parse}[fmt]


def parse_text(text: str, fmt: str = "auto", name: str = "<text>", database: str | None = None) -> ImportResult:
    """Parse export text (pure). Raises ImportFileError when the text is not that format."""
    if fmt in (None, "", "auto"):
        fmt = sniff(text)
        if fmt is None:
            raise ImportFileError(f"{name}: unrecognised file format (expected RIS, MEDLINE/nbib, BibTeX, CSV or JSONL; "
                                  f"use --format to say which)")
    if fmt not in FORMATS:
        raise ImportFileError(f"{name}: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    try:
        result = _parser(fmt)(text, name=name, database=database or None)
    except ImportFileError:
        raise
    except RecursionError:
        raise ImportFileError(f"{name}: cannot read as {FORMAT_NAMES[fmt]} (nested too deeply)") from None
    result.format = fmt
    result.problems.sort(key=lambda p: int(p.location.rsplit(":", 1)[1]) if p.location.rsplit(":", 1)[-1].isdigit() else 0)
    if not result.records and not result.problems:
        raise ImportFileError(f"{name}: no records found in the {FORMAT_NAMES[fmt]} file")
    return result


def read_bytes(data: bytes, fmt: str = "auto", name: str = "<input>", database: str | None = None) -> ImportResult:
    text, encoding, warnings = decode_text(data, name)
    result = parse_text(text, fmt, name, database)
    result.encoding = encoding
    result.warnings = warnings + result.warnings
    return result


def read_file(path, fmt: str = "auto", database: str | None = None) -> ImportResult:
    """Read and parse one export file (pure: nothing is stored)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not an export file") from None
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except OSError as e:
        raise ImportFileError(f"{path}: cannot read ({e.strerror or e})") from None
    return read_bytes(data, fmt, str(path), database)


COUNTS = ("read", "new", "merged", "updated", "unchanged", "quarantined")


def read_all(paths, fmt: str = "auto", database: str | None = None) -> list[tuple[str, ImportResult]]:
    """Parse every file; the first bad file raises ImportFileError before anything is stored."""
    if not paths:
        raise ImportFileError("no files given")
    return [(str(p), read_file(p, fmt, database)) for p in paths]


def import_files(store, paths, fmt: str = "auto", database: str | None = None, run_id: int | None = None,
                 progress=None) -> dict:
    """Parse every file first (any bad file: ImportFileError, nothing written), then upsert."""
    return store_results(store, read_all(paths, fmt, database), run_id, progress)


def store_results(store, parsed: list[tuple[str, ImportResult]], run_id: int | None = None, progress=None) -> dict:
    """Upsert parsed records and quarantine problems; the import summary.

    Returns {"files": [{file, format, encoding, database, read, new, merged, updated,
    unchanged, quarantined, problems}], "total": {...}}. `progress(n)` after each entry.
    """
    files = []
    for name, result in parsed:
        row = {"file": name, "format": result.format, "encoding": result.encoding,
               "database": ", ".join(sorted({r.database for r in result.records if r.database})),
               **{k: 0 for k in COUNTS}, "problems": [], "warnings": list(result.warnings)}
        row["read"] = result.entries
        for prob in result.problems:
            _quarantine(store, prob.location, prob.reason, prob.raw, run_id)
            row["problems"].append({"location": prob.location, "reason": prob.reason})
            if progress:
                progress(1)
        done_lines: set[int] = set()
        for rec, line in zip(result.records, result.lines):
            try:
                outcome, _ = store.upsert(rec, run_id)
            except InvalidRecord as e:
                loc = f"{name}:{line}"
                _quarantine(store, loc, f"invalid entry: {e}", "", run_id, rec.source_id)
                row["problems"].append({"location": loc, "reason": f"invalid entry: {e}"})
                continue
            if line not in done_lines:  # a JSONL line restoring several provenances counts once
                done_lines.add(line)
                row[outcome] += 1
                if progress:
                    progress(1)
        row["quarantined"] = len(row["problems"])
        files.append(row)
    total = {k: sum(f[k] for f in files) for k in COUNTS}
    return {"files": files, "total": total}


def _quarantine(store, location: str, reason: str, raw: str, run_id, source_id: str = "") -> None:
    store.quarantine("import", reason, raw=raw, source_id=source_id, location=location, run_id=run_id)
