"""Cross-source duplicate detection beyond shared identifiers (docs/dedupe.md).

Two records with no identifier in common are compared field by field, the way a person
would: title, authors, year, journal, volume, issue, first page and identifiers, over every
provenance row of a stored record. Each field adds or takes away evidence (a weight, in the
manner of Fellegi-Sunter linkage; set by hand on the tune split of the labelled benchmark in
bench/data/duplicates, where they beat a splink model trained on the same split). The sum
decides:

* **same** (>= SAME_AT): merged automatically;
* **uncertain**: not merged, listed by `synth duplicates` for a person to decide;
* **distinct** (< UNCERTAIN_AT): kept apart.

Some differences decide on their own, whatever the title says: an erratum, a retraction
notice, a comment, a reply, a protocol and a conference abstract are never the same
publication as an article that is not one (a protocol and its results paper have
near-identical titles), and two records whose DOIs, PMIDs or PMCIDs differ are different
publications, except that a preprint's DOI does not clash with its article's. Numbers that
differ between two titles ("part 1" / "part 2", "6-month" / "12-month") weigh heavily against.
A title alone never merges.

Candidates come from blocks: a fuzzy title match (rapidfuzz) or the same first author, in
the same year or the next or previous one.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from synth.normalize import title_key

SAME, UNCERTAIN, DISTINCT = "same", "uncertain", "distinct"

# Decision thresholds on the summed evidence (see `score`).
SAME_AT = 10.0
UNCERTAIN_AT = 5.0
TITLE_BLOCK = 72.0  # candidate titles: token_set_ratio at least this (0..100)
BLOCK_LIMIT = 60  # at most this many title candidates per year block
AUTHOR_LIMIT = 10  # and this many more with the same first author (those of them with the closest titles)
GENERIC_TITLE_LEN = 25  # shorter titles ("Editorial", "Peer support") say little on their own
GENERIC_TITLE_TOKENS = 4

# kept for callers of the old API
TITLE_THRESHOLD = 94.0
MIN_TITLE_LEN = GENERIC_TITLE_LEN

_IDS = ("doi", "pmid", "pmcid", "openalex")


# --------------------------------------------------------------------------- small helpers
def conflicts(a: dict, b: dict) -> bool:
    """True when both carry the same kind of identifier with different values."""
    return any(a.get(k) and b.get(k) and a[k] != b[k] for k in _IDS)


# Letters NFKD does not split into a base letter and an accent ("Nørgaard" must fold to "norgaard").
_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "đ": "d", "Đ": "D",
                          "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i"})


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", str(text or "").translate(_LETTERS)).encode("ascii", "ignore").decode()


def family_names(authors: list[str]) -> set[str]:
    """Family names, accent- and case-folded: "Smith, John", "Smith JA", "Liu R.", "John Smith"."""
    return {f for f in (family_name(a) for a in authors) if f}


def family_name(written: str) -> str:
    name = _fold(written)
    if re.search(r"\bet al\b", name, re.I):
        return ""
    if "," in name:
        family = name.split(",", 1)[0]
    else:
        tokens = name.replace(".", " ").split()
        if len(tokens) > 1 and len(tokens[-1]) <= 3 and tokens[-1].isupper():
            while len(tokens) > 1 and len(tokens[-1]) <= 3 and tokens[-1].isupper():
                tokens.pop()  # "Smith JA", "Liu R.", "Tan J.H." (Embase)
            family = " ".join(tokens)
        elif len(tokens) > 1 and all(len(t) <= 2 and t[:1].isupper() for t in tokens[:-1]):
            family = tokens[-1]  # "J. A. Smith", "JA Smith"
        elif len(tokens) > 1 and tokens[0].isupper() and len(tokens[0]) > 3:
            family = tokens[0]  # "SMITH John" (family name in capitals first)
        else:
            family = tokens[-1] if tokens else ""
    family = re.sub(r"[^a-z]", "", family.lower())
    return family if len(family) > 1 else ""


def _number(value) -> str:
    """The first number of a volume, issue or page range ("12(3)", "e0123", "S12-S13" → "12", "123", "12")."""
    m = re.search(r"\d+", str(value or ""))
    return (m.group(0).lstrip("0") or "0") if m else ""


def distinct(a: dict, b: dict) -> bool:
    """True when two records are shown to be different studies (kept for old callers)."""
    return compare(view_of([a]), view_of([b])).decision == DISTINCT


# --------------------------------------------------------------------------- kinds of item
_ERRATUM = re.compile(r"^(erratum|errata|corrigendum|corrigenda|correction|corrections|publisher correction|"
                      r"author correction|correction notice|notice of correction|department of error|"
                      r"error in|errors in)\b")
_RETRACTION = re.compile(r"^(retraction|notice of retraction|retraction notice|withdrawal|expression of concern)\b")
_REPLY = re.compile(r"^(reply|replies|response|responses|in reply|author reply|authors reply|author response|"
                    r"authors response|a response to|a reply to|rejoinder)\b")
_COMMENT = re.compile(r"^(comment|comments|commentary|letter to the editor|letter regarding|invited commentary on|"
                      r"letter)\b")
_RE = re.compile(r"^\W*re\s*:", re.I)  # "Re: <title>" (not "Re-engaging ...")
_PROTOCOL = re.compile(r"\bprotocols?\b")
_ABSTRACT_TYPES = ("conference abstract", "meeting abstract", "conference paper", "conference proceeding",
                   "congress", "poster", "proceedings paper", "conference review")
_COMMENT_TYPES = re.compile(r"\b(comment|letter|reply|correspondence)\b")
_PREPRINT_TYPES = re.compile(r"\b(preprint|posted content)\b")
_STRIP_PREFIX = re.compile(r"^(retracted article|retracted|withdrawn)\b\s*")
# DOI prefixes of preprint servers: medRxiv/bioRxiv, Research Square, PsyArXiv/OSF, SocArXiv, SSRN,
# Preprints.org, arXiv, JMIR Preprints, Authorea, EdArXiv, Qeios.
_PREPRINT_DOI = re.compile(r"^10\.(1101/\d{4}\.\d\d\.\d\d|21203/rs|31234/|31219/|31235/|2139/ssrn|20944/preprints|"
                           r"48550/|2196/preprints|22541/|35542/|32388/|36227/|26434/)")
_PREPRINT_VENUE = re.compile(r"rxiv|research square|preprint|ssrn|open science framework|\bosf\b|authorea|qeios", re.I)


def _types(pub_types) -> str:
    return " ".join(str(t).lower().replace("-", " ").replace("_", " ") for t in pub_types or ())


def kind_of(title: str, pub_types=()) -> str:
    """What sort of item a record is: article, erratum, retraction, comment, reply, protocol, abstract.

    A preprint is an article here: it is the same publication as its published version."""
    key = _STRIP_PREFIX.sub("", title_key(title))
    types = _types(pub_types)
    if _ERRATUM.match(key) or re.search(r"\b(published erratum|erratum|corrigendum|correction)\b", types):
        return "erratum"
    if _RETRACTION.match(key) or "retraction of publication" in types:
        return "retraction"
    if _REPLY.match(key):
        return "reply"
    if (_COMMENT.match(key) or _RE.match(str(title or "")) or re.search(r"\bcomment(ary)? on\b", key[:40])
            or _COMMENT_TYPES.search(types)):
        return "comment"
    if any(t in types for t in _ABSTRACT_TYPES):
        return "abstract"
    if _PROTOCOL.search(key) or re.search(r"\bprotocol\b", types):
        return "protocol"
    return "article"


def is_preprint(obs: dict) -> bool:
    """A preprint server's record (its type, its DOI or its venue says so)."""
    if _PREPRINT_TYPES.search(_types(obs.get("pub_types"))):
        return True
    if obs.get("doi") and _PREPRINT_DOI.match(str(obs["doi"])):
        return True
    return bool(obs.get("journal") and _PREPRINT_VENUE.search(str(obs["journal"])))


_ROMAN = {"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"}


def numbering(key: str) -> tuple:
    """The numbers in a title key, in order: "part 2", "II: Practice", "12-month outcomes", "2020 reviewers"."""
    return tuple(t for t in key.split() if t.isdigit() or t in _ROMAN)


# --------------------------------------------------------------------------- journals
_JSTOP = {"of", "the", "and", "for", "in", "on", "de", "la", "le", "et", "und", "der", "fur", "y", "a", "an"}


def journal_tokens(name: str) -> list[str]:
    name = re.sub(r"\([^)]*\)", " ", str(name or ""))  # "Psychiatric Services (Washington, D.C.)"
    return [t for t in title_key(name).split() if t not in _JSTOP]


def journals_agree(a: list[str], b: list[str]) -> bool | None:
    """Whether two journal names (token lists) are the same journal: equal, or one abbreviates the other
    ("J Adolesc Health" / "Journal of Adolescent Health"). None when either is unknown."""
    if not a or not b:
        return None
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) == len(long) and all(x.startswith(y) or y.startswith(x) for x, y in zip(a, b)):
        return True
    if "".join(short) == "".join(long):
        return True
    # every token of the shorter name abbreviates a token of the longer, in order
    j = 0
    for tok in short:
        while j < len(long) and not long[j].startswith(tok):
            j += 1
        if j == len(long):
            break
        j += 1
    else:
        if len(short) >= min(2, len(long)):
            return True
    return fuzz.token_set_ratio(" ".join(a), " ".join(b)) >= 92


# --------------------------------------------------------------------------- views
@dataclass
class View:
    """What matching compares of a record: every observation's values."""

    titles: list[str] = field(default_factory=list)  # title keys
    authors: list[list[str]] = field(default_factory=list)  # family names, per observation, in order
    years: set = field(default_factory=set)
    journals: list[list[str]] = field(default_factory=list)
    volumes: set = field(default_factory=set)
    issues: set = field(default_factory=set)
    pages: set = field(default_factory=set)
    ids: dict = field(default_factory=dict)  # kind -> set of values (a preprint's DOI is in preprint_dois)
    kinds: set = field(default_factory=set)
    preprint_dois: set = field(default_factory=set)
    published: bool = False  # some observation is not a preprint
    preprint: bool = False  # some observation is a preprint
    numbers: set = field(default_factory=set)  # numbering of each title (tuples)
    preprint_years: set = field(default_factory=set)

    # derived once by view_of (a view is compared with dozens of candidates)
    families: set = field(default_factory=set)
    first_authors: set = field(default_factory=set)
    generic: bool = True  # every title names no study (see _generic_title)


_BRACKETED = re.compile(r"^\[(.*)\][.\s]*$")


def view_of(observations: list[dict]) -> View:
    v = View()
    for o in observations:
        title = str(o.get("title") or "").strip()
        m = _BRACKETED.match(title)  # MEDLINE's translated titles: "[Peer support in schools]."
        if m:
            title = m.group(1)
        key = _STRIP_PREFIX.sub("", title_key(title))
        if key and key not in v.titles:
            v.titles.append(key)
            v.numbers.add(numbering(key))
        names = [f for f in (family_name(a) for a in (o.get("authors") or [])) if f]
        if names:
            v.authors.append(names)
        pre = is_preprint(o)
        v.preprint |= pre
        v.published |= not pre
        if o.get("year") and not pre:  # a preprint's year and venue are not the article's
            try:
                v.years.add(int(o["year"]))
            except (TypeError, ValueError):
                pass
        jt = journal_tokens(o.get("journal") or "") if not pre else []
        if jt and jt not in v.journals:
            v.journals.append(jt)
        for attr, key in (("volumes", "volume"), ("issues", "issue"), ("pages", "pages")):
            n = _number(o.get(key))
            if n and not pre:
                getattr(v, attr).add(n)
        for k in _IDS:
            if o.get(k):
                if k == "doi" and pre:
                    v.preprint_dois.add(str(o[k]))
                else:
                    v.ids.setdefault(k, set()).add(str(o[k]))
        if pre and o.get("year"):
            try:
                v.preprint_years.add(int(o["year"]))
            except (TypeError, ValueError):
                pass
        v.kinds.add(kind_of(o.get("title") or "", o.get("pub_types") or ()))
    v.families = {f for names in v.authors for f in names}
    v.first_authors = {names[0] for names in v.authors if names}
    v.generic = all(_generic_title(t) for t in v.titles) if v.titles else True
    return v


def record_view(store, record_id: str) -> View | None:
    """The view of a stored record: its derived row and every provenance observation."""
    derived, obs = store.match_row(record_id)
    if derived is None:
        return None
    return view_of(obs or [derived])


# --------------------------------------------------------------------------- the comparison
@dataclass
class Verdict:
    decision: str
    score: float
    reasons: list[str]

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def title_similarity(a: View, b: View) -> tuple[float, bool]:
    """(best token-sorted similarity 0..100 over the two records' titles, whether one title is the
    other with a subtitle dropped)."""
    best, prefix = 0.0, False
    for x in a.titles:
        for y in b.titles:
            s = fuzz.token_sort_ratio(x, y)
            if s > best:
                best = s
            short, long = (x, y) if len(x) <= len(y) else (y, x)
            if len(short.split()) >= 4 and len(short) >= 25 and long.startswith(short):
                prefix = True
    return best, prefix


_TSTOP = {"a", "an", "the", "of", "and", "or", "for", "in", "on", "to", "from", "with", "by", "at", "as", "is", "are",
          "this", "our", "its", "their", "we", "what", "how", "why", "de", "la", "le", "el", "y", "et", "der", "die", "und"}
_GENERIC_WORDS = {"editorial", "editorials", "introduction", "preface", "foreword", "letter", "letters", "message",
                  "chairman", "chair", "president", "presidents", "editor", "editors", "note", "notes", "news",
                  "issue", "contents", "index", "obituary", "abstracts", "announcement", "announcements", "reviewers",
                  "acknowledgement", "acknowledgements", "acknowledgment", "thanks", "book", "review", "reviews",
                  "correspondence", "commentary", "comment", "reply", "response", "highlights", "update", "welcome",
                  "conference", "meeting", "proceedings", "report", "annual", "volume", "special", "guest", "year",
                  "column", "corner", "perspective", "viewpoint", "summary", "errata", "erratum", "correction"}


def _generic_title(key: str) -> bool:
    """A title that names no study ("Editorial", "Message from the Chairman", "Peer support")."""
    content = [t for t in key.split() if t not in _TSTOP]
    if len(key) < GENERIC_TITLE_LEN or len(content) < 3:
        return True
    return all(t in _GENERIC_WORDS or t.isdigit() for t in content)


def _family_overlap(a: set[str], b: set[str]) -> set[str]:
    """Family names in common, allowing spelling variants (Müller/Mueller, a typo) of longer names."""
    shared = a & b
    for x in a - shared:
        if len(x) >= 5 and any(len(y) >= 5 and fuzz.ratio(x, y) >= 85 for y in b - shared):
            shared = shared | {x}
    return shared


def compare(a: View, b: View) -> Verdict:
    """The evidence that two records are the same study, and the decision it gives."""
    reasons: list[str] = []
    score = 0.0
    # ---- identifiers
    shared_ids = [k for k in _IDS if a.ids.get(k) and b.ids.get(k) and a.ids[k] & b.ids[k]]
    if a.preprint_dois & b.preprint_dois:
        shared_ids.append("doi")
    # a preprint's DOI is not the article's: only DOIs of the same sort clash
    clashing = [k for k in ("doi", "pmid", "pmcid") if a.ids.get(k) and b.ids.get(k) and not a.ids[k] & b.ids[k]]
    if a.preprint_dois and b.preprint_dois and not a.preprint_dois & b.preprint_dois and "doi" not in clashing:
        clashing.append("doi")
    if clashing and not shared_ids:
        return Verdict(DISTINCT, -20.0, [f"different {'/'.join(k.upper() for k in clashing)}"])
    if shared_ids:
        score += 20
        reasons.append(f"same {'/'.join(k.upper() for k in shared_ids)}")
    # ---- what kind of item
    ka, kb = a.kinds - {"article"}, b.kinds - {"article"}
    if ka != kb and not (ka & kb):
        names = lambda ks: "/".join(sorted(ks)) or "article"  # noqa: E731
        return Verdict(DISTINCT, -20.0, [f"{names(ka)} vs {names(kb)}"])
    # ---- title
    sim, prefix = title_similarity(a, b)
    generic = a.generic or b.generic
    if sim >= 97:
        t = 8.0
    elif sim >= 93:
        t = 6.0
    elif sim >= 88:
        t = 3.0
    elif prefix:
        t = 4.0
    elif sim >= 80:
        t = 0.0
    elif sim >= 65:
        t = -6.0
    else:
        t = -12.0
    if generic and t > 0:
        t = min(t, 2.0)  # "Editorial", "Message from the Chairman": the title says little
    score += t
    reasons.append(f"title {sim:.0f}" + (" (subtitle dropped)" if prefix and sim < 88 else "") + (" (generic)" if generic else ""))
    na, nb = {n for n in a.numbers if n}, {n for n in b.numbers if n}
    if na and nb and not na & nb:  # "part 1" / "part 2", "6-month" / "12-month", "2019 reviewers" / "2020 reviewers"
        score -= 12
        reasons.append("numbers in the titles differ")
    # ---- authors
    fa, fb = a.families, b.families
    if fa and fb:
        shared = _family_overlap(fa, fb)
        ratio = len(shared) / min(len(fa), len(fb))
        first = bool(_family_overlap(a.first_authors, b.first_authors))
        if not shared:
            score -= 8
            reasons.append("no author in common")
        else:
            score += (3 if first else 0) + (3 if ratio >= 0.6 else 1)
            reasons.append(f"authors {len(shared)}/{min(len(fa), len(fb))}" + (", first author" if first else ""))
            if first and ratio >= 0.6 and ((a.preprint and not a.published and b.published)
                                           or (b.preprint and not b.published and a.published)):
                score += 2  # stands in for the journal, volume and pages a preprint lacks
                reasons.append("preprint and article")
    else:
        reasons.append("authors missing")
    # ---- year (a preprint comes out up to two years before its article)
    if a.years and b.years:
        gap = min(abs(x - y) for x in a.years for y in b.years)
        score += 1 if gap == 0 else (-1 if gap == 1 else -10)
        if gap:
            reasons.append(f"years {gap} apart")
    else:
        ya, yb = a.years or a.preprint_years, b.years or b.preprint_years
        if ya and yb:
            gap = min(abs(x - y) for x in ya for y in yb)
            score += 0 if gap <= 1 else (-2 if gap == 2 else -10)
            if gap > 1:
                reasons.append(f"years {gap} apart")
    # ---- journal
    agree = None
    for ja in a.journals:
        for jb in b.journals:
            got = journals_agree(ja, jb)
            if got:
                agree = True
                break
            if got is False and agree is None:
                agree = False
        if agree:
            break
    if agree is True:
        score += 2
        reasons.append("journal agrees")
    elif agree is False:
        score -= 2
        reasons.append("journal differs")
    # ---- where in the journal
    for attr, plus, minus in (("volumes", 2.0, -6.0), ("issues", 1.0, -3.0), ("pages", 3.0, -6.0)):
        x, y = getattr(a, attr), getattr(b, attr)
        if x and y:
            if x & y:
                score += plus
            else:
                score += minus
                reasons.append(f"{attr[:-1]} differs")
    decision = SAME if score >= SAME_AT else UNCERTAIN if score >= UNCERTAIN_AT else DISTINCT
    return Verdict(decision, score, reasons)


# --------------------------------------------------------------------------- blocking
def _title_tokens(key: str) -> set[str]:
    return {t for t in key.split() if len(t) > 2 and t not in _TSTOP}


class _Block:
    """One year's live records: title keys, an inverted index of title tokens, first authors."""

    def __init__(self):
        self.keys: dict[str, str] = {}
        self.postings: dict[str, set[str]] = {}
        self.firsts: dict[str, set[str]] = {}
        self._entry: dict[str, tuple[set[str], str]] = {}

    def put(self, rid: str, key: str, first: str) -> None:
        tokens = _title_tokens(key)
        self.keys[rid] = key
        self._entry[rid] = (tokens, first)
        for t in tokens:
            self.postings.setdefault(t, set()).add(rid)
        if first:
            self.firsts.setdefault(first, set()).add(rid)

    def drop(self, rid: str) -> None:
        if rid not in self._entry:
            return
        tokens, first = self._entry.pop(rid)
        del self.keys[rid]
        for t in tokens:
            self.postings[t].discard(rid)
        if first:
            self.firsts[first].discard(rid)

    def titles_near(self, key: str) -> dict[str, str]:
        """The block's titles worth scoring against `key`: those sharing at least two of its informative
        tokens (one, when it has only one). Scoring every title of the block made a harvest quadratic
        (docs/scale.md); a title close enough to matter shares most of its words. Tokens in more than
        a tenth of the block ("peer", "support", "young") tell titles apart too little to block on; a
        title made only of such words is scored against the whole block."""
        common = max(50, len(self.keys) // 10)
        rare = [self.postings[t] for t in _title_tokens(key) if 0 < len(self.postings.get(t, ())) <= common]
        if not rare:
            return self.keys
        need = min(2, len(rare))
        if need == 1:
            ids = rare[0]
        else:
            counts = Counter()
            for ids_ in rare:
                counts.update(ids_)
            ids = [rid for rid, c in counts.items() if c >= need]
        return {rid: self.keys[rid] for rid in ids}


class TitleIndex:
    """Title keys and first authors of live records, blocked by year, loaded lazily from the store."""

    VIEWS = 20_000  # record views kept (LRU): a new record is compared with up to ~240 candidates

    def __init__(self, store):
        self.store = store
        self._views: OrderedDict[str, View | None] = OrderedDict()
        self.blocks: dict[int | None, _Block] = {}
        self._year_of: dict[str, int | None] = {}

    def _block(self, year) -> _Block:
        if year not in self.blocks:
            block = self.blocks[year] = _Block()
            for rid, key, authors in self.store.match_keys(year):
                self._put(block, year, rid, key, json.loads(authors or "[]"))
        return self.blocks[year]

    def _put(self, block: _Block, year, rid: str, key: str, authors: list[str]) -> None:
        block.put(rid, key or "", family_name(authors[0]) if authors else "")
        self._year_of[rid] = year

    def _years(self, year) -> list:
        if year is None:
            return self.store.live_years() or [None]
        return [year, year - 1, year + 1, None]

    def match(self, key: str, year: int | None) -> str | None:
        found = self.candidates(key, year)
        return found[0] if found else None

    def candidates(self, key: str, year: int | None, first_author: str = "") -> list[str]:
        """Live records whose title is close, or whose first author is the same, in the year and the
        years either side; best title first."""
        hits: dict[str, tuple[float, int]] = {}
        for rank, y in enumerate(self._years(year)):
            block = self._block(y)
            if not block.keys:
                continue
            if key:
                for _, score, rid in process.extract(key, block.titles_near(key), scorer=fuzz.token_set_ratio,
                                                     score_cutoff=TITLE_BLOCK, limit=BLOCK_LIMIT):
                    if rid not in hits or (-score, rank) < hits[rid]:
                        hits[rid] = (-score, rank)
            same_first = block.firsts.get(first_author) if first_author else None
            if same_first:  # the best titles among them: a common family name can fill a tenth of a year
                near = {rid: block.keys[rid] for rid in same_first if rid not in hits}
                for *_, rid in process.extract(key, near, scorer=fuzz.token_set_ratio, limit=AUTHOR_LIMIT):
                    hits.setdefault(rid, (0.0, rank))
        return sorted(hits, key=lambda rid: hits[rid])

    def add(self, record_id: str, key: str, year: int | None, authors: list[str] | None = None) -> None:
        self.discard(record_id)
        self._put(self._block(year), year, record_id, key, authors or [])

    def view(self, record_id: str) -> View | None:
        """record_view, cached: rebuilding a view parses every observation of the record, and the
        same candidates come up for study after study. A write to the record drops it (add/discard)."""
        if record_id in self._views:
            self._views.move_to_end(record_id)
            return self._views[record_id]
        v = self._views[record_id] = record_view(self.store, record_id)
        if len(self._views) > self.VIEWS:
            self._views.popitem(last=False)
        return v

    def discard(self, record_id: str) -> None:
        self._views.pop(record_id, None)
        if record_id in self._year_of:
            self.blocks[self._year_of.pop(record_id)].drop(record_id)


def fuzzy_matches(store, rec) -> tuple[list[tuple[str, Verdict]], list[tuple[str, Verdict]]]:
    """(records the observation is the same study as, best first; records it may be) for a record that
    shares no identifier with any stored one."""
    obs = rec.to_dict()
    mine = view_of([obs])
    first = family_name(rec.authors[0]) if rec.authors else ""
    same, unsure = [], []
    titles = store.titles()
    for cand in titles.candidates(title_key(rec.title), rec.year, first):
        view = titles.view(cand)
        if view is None:
            continue
        verdict = compare(view, mine)
        if verdict.decision == SAME:
            same.append((cand, verdict))
        elif verdict.decision == UNCERTAIN:
            unsure.append((cand, verdict))
    same.sort(key=lambda cv: -cv[1].score)
    unsure.sort(key=lambda cv: -cv[1].score)
    return same, unsure
