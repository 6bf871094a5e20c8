"""The curation sheet: one row per evidence fragment, with decision columns a reviewer fills in
Excel (or any CSV editor), applied all at once by `synth code --from FILE`.

Rows: every sentence coded (or scored just under the threshold: "uncertain") for a mechanism,
and every sentence coded for an outcome or a context, strongest evidence first (findings
before conclusions before the rest). A reviewer writes accept or reject in `decision`, or
another id of the same kind in `change_to` (reject this code, accept that one), and may leave
a `note`. Applying is all or nothing: every bad row is reported as FILE:ROW and nothing is
written unless the whole sheet is good, and the batch can be undone (`synth code --undo`).
Accepted and rejected mechanism fragments become the coder's training examples on the next
re-code (synth.mechanisms.pipeline).
"""

from __future__ import annotations

import csv
from operator import itemgetter
from pathlib import Path

from synth.errors import SynthError
from synth.mechanisms.codes import Coded, coded
from synth.mechanisms.curation import KINDS, apply_batch, decisions, notes, split_code, stored_code
from synth.spreadsheet import FORMULA_TRIGGERS

SHEET_NAME = "Evidence (curate here)"
COLUMNS = ["record_id", "sentence", "kind", "code", "name", "status", "score", "role", "linked", "citation", "quote",
           "decision", "change_to", "note"]
DECISIONS = ("accept", "reject")
ROLE_ORDER = {"finding": 0, "conclusion": 1, "methods": 2, "aim": 3, "background": 4}


class SheetError(SynthError):
    """A sheet that cannot be applied; `problems` holds one FILE:ROW line per bad row."""

    def __init__(self, message: str, problems: list[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


def evidence_rows(store, theory, skip: set[str] = frozenset(), mechanism: str | None = None,
                  configs: list[dict] | None = None, view: Coded | None = None) -> list[dict]:
    """The sheet's rows. CONFIGS: the study configurations when the caller has them (tables do), for `linked`;
    VIEW: the corpus's codes (SKIP left out), likewise."""
    from synth.mechanisms.cmoc import study_configurations
    from synth.citations import short_citation

    names = theory.names()
    view = view or coded(store, skip)
    eff = view.mechanisms
    theory_ids = {m.id for m in theory.mechanisms}
    unsure = {k: sc for k, sc in view.uncertain.items() if k[2] in theory_ids and (not mechanism or k[2] == mechanism)}
    rids = sorted(set(eff) | {k[0] for k in unsure})
    if not rids:
        return []
    recs = store.records_by_id(rids, brief=True)
    sents = store.sentences_of_many(rids)
    scores = _scores(store, rids)
    linked: dict[tuple[str, int, str], list[str]] = {}
    for c in configs if configs is not None else study_configurations(store, theory, mechanism, skip, view):
        if c["outcome"]:
            for q in c["quotes"]:
                linked.setdefault((c["record_id"], q["idx"], c["mechanism"]), []).append(f"{c['outcome']} ({c['direction']})")
    noted = notes(store)
    rows = []

    cites: dict[str, str] = {}

    def add(rid, idx, kind, code, status, score):
        s = next((x for x in sents.get(rid, []) if x["idx"] == idx), None)
        if s is None or rid not in recs:
            return
        if rid not in cites:
            cites[rid] = short_citation(recs[rid])
        rows.append({"record_id": rid, "sentence": idx, "kind": kind, "code": code, "name": names.get(code, code),
                     "status": status, "score": round(score, 3) if score is not None else "", "role": s["role"] or "",
                     "linked": "; ".join(linked.get((rid, idx, code), [])), "citation": cites[rid],
                     "quote": s["text"], "decision": "", "change_to": "", "note": noted.get((rid, idx, stored_code(kind, code)), "")})

    for rid, mechs in eff.items():
        for mid, m in mechs.items():
            if mechanism and mid != mechanism:
                continue
            for idx in m["evidence"]:
                add(rid, idx, "mechanism", mid, "curated" if m["curated"] and (rid, idx, mid) not in scores else "coded",
                    scores.get((rid, idx, mid)))
    for (rid, idx, mid), sc in unsure.items():
        add(rid, idx, "mechanism", mid, "uncertain", sc)
    if not mechanism:
        for kind, per in (("outcome", view.outcomes), ("context", view.contexts)):
            for rid, codes in per.items():
                for code, c in codes.items():
                    for idx in c["evidence"]:
                        add(rid, idx, kind, code, "curated" if c["curated"] else "coded", None)
    for rid, idx, stored, decision in decisions(store):  # rejected fragments stay visible, to revise
        kind, code = split_code(stored)
        if decision == "reject" and idx >= 0 and rid not in skip and (not mechanism or code == mechanism):
            if rid not in recs:
                recs.update(store.records_by_id([rid], brief=True))
                sents.update(store.sentences_of_many([rid]))
            add(rid, idx, kind, code, "rejected", scores.get((rid, idx, code)))
    order = {k: i for i, k in enumerate(KINDS)}
    mech_order = {m.id: i for i, m in enumerate(theory.mechanisms)}
    rows.sort(key=lambda r: (order[r["kind"]], mech_order.get(r["code"], 99), r["code"], r["status"] == "uncertain",
                             ROLE_ORDER.get(r["role"], 5), -(r["score"] or 0), r["record_id"], r["sentence"]))
    return rows


def _scores(store, rids: list[str]) -> dict[tuple[str, int, str], float]:
    from synth.mechanisms.codes import sentence_scores

    return sentence_scores(store, rids)


_FLAT = itemgetter(*COLUMNS)


def flat(row: dict) -> list:
    return list(_FLAT(row))


# ---------------------------------------------------------------------- reading a filled-in sheet
def read_sheet(path: Path) -> list[tuple[int, dict]]:
    """(row number as the user's program shows it, {column: text}); SheetError if it is not a synth sheet."""
    if not path.exists():
        raise SheetError(f"{path}: no such file")
    if path.suffix.lower() == ".xlsx":
        table = _xlsx_rows(path)
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise SheetError(f"{path}: not UTF-8 text; save the sheet as CSV UTF-8 (or .xlsx)") from None
        lines = text.splitlines()
        # Excel in many European locales saves "CSV" with semicolons (or tabs): take the header's delimiter
        head = lines[0] if lines else ""
        delimiter = max((",", ";", "\t"), key=head.count)
        table = list(csv.reader(lines, delimiter=delimiter))
    if not table or [str(c or "").strip().lower() for c in table[0][:len(COLUMNS)]] != COLUMNS:
        hint = ""
        sibling = path.with_name(f"{path.stem}-evidence.csv")
        if path.suffix.lower() == ".csv" and sibling.exists():
            hint = f"; the curation sheet for this table is {sibling.name}"
        raise SheetError(f"{path} is not a synth curation sheet (its first row must be: {', '.join(COLUMNS)}); nothing applied{hint}")
    out = []
    for n, cells in enumerate(table[1:], start=2):
        cells = list(cells) + [""] * (len(COLUMNS) - len(cells))
        out.append((n, {c: _text(v) for c, v in zip(COLUMNS, cells)}))
    return out


def _xlsx_rows(path: Path) -> list[list]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as e:
        raise SheetError(f"{path}: not a readable .xlsx file ({type(e).__name__}); nothing applied") from None
    if SHEET_NAME not in wb.sheetnames:
        raise SheetError(f"{path} has no sheet {SHEET_NAME!r}: not a synth review workbook; nothing applied")
    return [list(r) for r in wb[SHEET_NAME].iter_rows(values_only=True)]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    if s.startswith("'") and s[1:2] and s[1:2] in FORMULA_TRIGGERS:  # undo the writer's formula defusing
        s = s[1:]
    return s


def parse_decisions(store, theory, path: Path) -> list[dict]:
    """The decisions a sheet asks for, every row checked; SheetError listing every bad row."""
    known = {"mechanism": {m.id for m in theory.mechanisms}, "outcome": {o.id for o in theory.outcomes},
             "context": {c.id for c in theory.contexts}}
    items, problems = [], []
    live: dict[str, str | None] = {}
    decided: dict[tuple, tuple[int, str]] = {}  # (record, sentence, kind, code) -> (row, decision)
    for n, row in read_sheet(path):
        decision, change, note = row["decision"].lower(), row["change_to"], row["note"]
        if not (decision or change or note):
            continue
        where = f"{path.name}:{n}"
        kind, code = row["kind"].lower(), row["code"]
        if kind not in KINDS:
            problems.append(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
            continue
        if code not in known[kind]:
            problems.append(f"{where}: unknown {kind} {code!r}")
            continue
        if decision and decision not in DECISIONS:
            problems.append(f"{where}: decision {row['decision']!r} must be accept or reject (or empty)")
            continue
        if change and change not in known[kind]:
            problems.append(f"{where}: change_to {change!r} is not a {kind} id of the theory")
            continue
        if change and (decision == "accept" or change == code):
            problems.append(f"{where}: change_to means reject {code} and accept {change}; leave decision empty or write reject")
            continue
        ref = row["record_id"]
        if ref not in live:
            rec = store.get(ref) if ref else None
            live[ref] = rec["id"] if rec else None
        rid = live[ref]
        if rid is None:
            problems.append(f"{where}: no record {ref!r} in this project")
            continue
        try:
            idx = int(row["sentence"])
        except ValueError:
            problems.append(f"{where}: sentence {row['sentence']!r} is not a number")
            continue
        if not any(s["idx"] == idx for s in store.sentences_of(rid)):
            problems.append(f"{where}: record {rid} has no sentence {idx}")
            continue
        base = {"record_id": rid, "idx": idx, "kind": kind, "note": note}
        wants = [(code, "reject"), (change, "accept")] if change else [(code, decision)] if decision else []
        clash = next(((c, d, decided[(rid, idx, kind, c)]) for c, d in wants
                      if decided.get((rid, idx, kind, c), (0, d))[1] != d), None)
        if clash:
            c, d, (first, was) = clash
            problems.append(f"{where}: {kind} {c} of {rid} sentence {idx} is to {d} here but to {was} on row {first}")
            continue
        for c, d in wants:
            decided.setdefault((rid, idx, kind, c), (n, d))
        if change:
            items.append({**base, "code": code, "decision": "reject"})
            items.append({**base, "code": change, "decision": "accept"})
        else:
            items.append({**base, "code": code, "decision": decision or None})
    if problems:
        raise SheetError(f"{len(problems)} bad row{'s' if len(problems) != 1 else ''} in {path.name}; nothing applied", problems)
    return items


def apply_sheet(store, theory, path: Path) -> dict:
    """Check the whole sheet, then apply it as one batch. {"decisions", "accepted", "rejected", "notes", "batch"}."""
    path = Path(path)
    items = parse_decisions(store, theory, path)
    summary = {"file": str(path), "decisions": sum(1 for i in items if i["decision"]),
               "accepted": sum(1 for i in items if i["decision"] == "accept"),
               "rejected": sum(1 for i in items if i["decision"] == "reject"),
               "notes": sum(1 for i in items if i["note"]), "batch": None}
    if items:
        summary["batch"] = apply_batch(store, items, source=path.name)
    return summary
