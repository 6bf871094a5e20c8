"""The programme theory: mechanisms, outcomes and contexts, in `theory.yaml`.

The project's `theory.yaml` wins; without one the packaged default is used (and
`synth theory init` writes it out for editing). The theory's hash is part of every
record's `coded_hash`, so editing the file re-codes the corpus.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from synth.errors import SynthError

_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CONTEXT_DIMENSIONS = ("setting", "population", "delivery", "organisational")


@dataclass(frozen=True)
class Code:
    id: str
    name: str
    description: str = ""
    phrases: tuple[str, ...] = ()
    dimension: str = ""  # contexts only
    examples: tuple[str, ...] = ()  # mechanisms: typical evidence sentences (embedded as prototypes)

    def to_dict(self) -> dict:
        d = {"id": self.id, "name": self.name}
        if self.dimension:
            d["dimension"] = self.dimension
        if self.description:
            d["description"] = self.description
        if self.examples:
            d["examples"] = list(self.examples)
        d["phrases"] = list(self.phrases)
        return d


@dataclass
class Theory:
    mechanisms: list[Code]
    outcomes: list[Code]
    contexts: list[Code]
    scope: dict = field(default_factory=dict)
    source: str = "default"  # the file it came from

    @property
    def hash(self) -> str:
        payload = json.dumps(
            {"m": [c.to_dict() for c in self.mechanisms], "o": [c.to_dict() for c in self.outcomes],
             "c": [c.to_dict() for c in self.contexts], "s": self.scope},
            sort_keys=True, ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def mechanism(self, mid: str) -> Code | None:
        return next((m for m in self.mechanisms if m.id == mid), None)

    def names(self) -> dict[str, str]:
        return {c.id: c.name for c in (*self.mechanisms, *self.outcomes, *self.contexts)}

    def to_dict(self) -> dict:
        return {
            "scope": self.scope,
            "mechanisms": [c.to_dict() for c in self.mechanisms],
            "outcomes": [c.to_dict() for c in self.outcomes],
            "contexts": [c.to_dict() for c in self.contexts],
        }


def default_theory_text() -> str:
    return resources.files("synth").joinpath("data/theory.yaml").read_text(encoding="utf-8")


def theory_path(project) -> Path:
    return Path(project.theory_path)


def load_theory(project=None) -> Theory:
    """The project's theory.yaml, or the packaged default when the project has none."""
    if project is not None and theory_path(project).exists():
        path = theory_path(project)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise SynthError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
        except OSError as e:
            raise SynthError(f"{path}: cannot read it ({e.strerror or type(e).__name__})") from None
        return parse_theory(text, str(path))
    return parse_theory(default_theory_text(), "default")


def parse_theory(text: str, source: str = "theory.yaml") -> Theory:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SynthError(f"{source}:{where} invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise SynthError(f"{source}: expected a mapping with mechanisms, outcomes and contexts")
    mechs = _codes(data, "mechanisms", source, need_description=True)
    outs = _codes(data, "outcomes", source)
    ctxs = _codes(data, "contexts", source)
    if not mechs:
        raise SynthError(f"{source}: the theory needs at least one mechanism")
    for c in ctxs:
        if c.dimension and c.dimension not in CONTEXT_DIMENSIONS:
            raise SynthError(f"{source}: context {c.id}: dimension must be one of {', '.join(CONTEXT_DIMENSIONS)}")
    seen: dict[str, str] = {}
    for kind, codes in (("mechanism", mechs), ("outcome", outs), ("context", ctxs)):
        for c in codes:
            if c.id in seen and (seen[c.id] == kind or kind == "mechanism" or seen[c.id] == "mechanism"):
                raise SynthError(f"{source}: duplicate id {c.id!r}")
            seen.setdefault(c.id, kind)
    scope = data.get("scope") or {}
    if not isinstance(scope, dict):
        raise SynthError(f"{source}: scope must be a mapping")
    return Theory(mechs, outs, ctxs, scope, source)


def _codes(data: dict, key: str, source: str, need_description: bool = False) -> list[Code]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise SynthError(f"{source}: {key} must be a list")
    out = []
    for i, it in enumerate(items):
        if not isinstance(it, dict) or "id" not in it:
            raise SynthError(f"{source}: {key}[{i}] needs an id")
        cid = str(it["id"])
        if not _ID.match(cid):
            raise SynthError(f"{source}: {key} id {cid!r} must be lower_snake_case (a-z, 0-9, _)")
        name = str(it.get("name") or cid.replace("_", " ").capitalize())
        desc = " ".join(str(it.get("description") or "").split())
        if need_description and not desc:
            raise SynthError(f"{source}: mechanism {cid} needs a description")
        phrases = it.get("phrases") or []
        if not isinstance(phrases, list):
            raise SynthError(f"{source}: {cid}: phrases must be a list")
        examples = it.get("examples") or []
        if not isinstance(examples, list):
            raise SynthError(f"{source}: {cid}: examples must be a list")
        out.append(Code(cid, name, desc, tuple(str(p).strip() for p in phrases if str(p).strip()), str(it.get("dimension") or ""),
                        tuple(" ".join(str(e).split()) for e in examples if str(e).strip())))
    return out


# ---------------------------------------------------------------------- editing
def init_theory(project, force: bool = False) -> Path:
    path = theory_path(project)
    if path.exists() and not force:
        raise SynthError(f"{path} already exists; use --force to overwrite it with the default")
    path.write_text(default_theory_text(), encoding="utf-8")
    return path


def add_mechanism(project, mid: str, name: str, description: str, phrases: list[str], examples: list[str] = ()) -> Path:
    """Append a mechanism to the project's theory.yaml, keeping the user's comments and layout."""
    path = theory_path(project)
    if not path.exists():
        init_theory(project)
    text = path.read_text(encoding="utf-8")
    theory = parse_theory(text, str(path))
    if not _ID.match(mid):
        raise SynthError(f"mechanism id {mid!r} must be lower_snake_case (a-z, 0-9, _)")
    if mid in theory.names():
        raise SynthError(f"{path}: id {mid!r} already exists")
    if not description.strip():
        raise SynthError("a mechanism needs a description (--description)")
    entry = {"id": mid, "name": name or mid.replace("_", " ").capitalize(), "description": " ".join(description.split()),
             "phrases": [p for p in phrases if p.strip()]}
    if examples:
        entry["examples"] = [" ".join(e.split()) for e in examples if e.strip()]
    block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=100)
    block = "\n" + "".join("  " + line if line.strip() else line for line in block.splitlines(keepends=True))
    new = _insert_into_list(text, "mechanisms", block)
    try:
        ok = new is not None and parse_theory(new, str(path)).mechanism(mid) is not None
    except SynthError:
        ok = False
    if not ok:  # unusual layout: rewrite the file from the parsed theory
        data = yaml.safe_load(text)
        data["mechanisms"].append(entry)
        new = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(new, encoding="utf-8")
    return path


def _insert_into_list(text: str, key: str, block: str) -> str | None:
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(rf"^{key}\s*:\s*(#.*)?$", ln)), None)
    if start is None:
        return None
    end = len(lines)
    for j in range(start + 1, len(lines)):
        if re.match(r"^[^\s#]", lines[j]):
            end = j
            break
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#") and not lines[end - 1].startswith(" ")):
        end -= 1  # keep comments that introduce the next section with that section
    body = "".join(lines[:end])
    if not body.endswith("\n"):
        body += "\n"
    return body + block + ("\n" if end < len(lines) else "") + "".join(lines[end:])
