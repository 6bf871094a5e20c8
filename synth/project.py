"""A review is a project folder: `synth.toml`, `theory.yaml` and a `data/` folder.

Commands find the project from `--project DIR`, `$SYNTH_PROJECT`, or the current
directory and its parents (like git).
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from synth.errors import SynthError
from synth.records import SOURCES

CONFIG_NAME = "synth.toml"

# Each API's own syntax for: (peer support terms) AND (youth terms) AND (mental health terms).
DEFAULT_QUERIES = {
    "pubmed": (
        '("peer support"[tiab] OR "peer mentor*"[tiab] OR "peer worker*"[tiab] OR "peer specialist*"[tiab] '
        'OR "peer navigator*"[tiab] OR "lived experience"[tiab] OR "Peer Group"[mh]) '
        'AND (youth[tiab] OR adolescen*[tiab] OR "young people"[tiab] OR "young adult*"[tiab] OR child*[tiab] '
        'OR student*[tiab] OR Adolescent[mh]) '
        'AND ("mental health"[tiab] OR psychiatr*[tiab] OR wellbeing[tiab] OR "well-being"[tiab] '
        'OR "Mental Disorders"[mh] OR "Mental Health Services"[mh])'
    ),
    "europepmc": (
        '("peer support" OR "peer mentor" OR "peer mentoring" OR "peer worker" OR "peer specialist" '
        'OR "peer navigator" OR "lived experience") '
        'AND (youth OR adolescent OR adolescents OR "young people" OR "young adults" OR child OR children OR student OR students) '
        'AND ("mental health" OR psychiatric OR wellbeing OR "well-being")'
    ),
    # OpenAlex and Crossref have no Boolean field syntax for abstracts: a relevance search.
    "openalex": '("peer support" OR "peer mentor" OR "peer worker" OR "lived experience") AND (youth OR adolescent OR "young people" OR child OR student) AND ("mental health" OR psychiatric OR wellbeing)',
    "crossref": "peer support youth adolescent young people mental health wellbeing lived experience peer mentor",
}

DEFAULT_BASE_URLS = {
    "pubmed": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
    "europepmc": "https://www.ebi.ac.uk/europepmc/webservices/rest/",
    "openalex": "https://api.openalex.org/",
    "crossref": "https://api.crossref.org/",
}

# Requests per second per host: the APIs' documented limits (docs/harvest.md).
DEFAULT_RATES = {"pubmed": 3.0, "europepmc": 10.0, "openalex": 10.0, "crossref": 1.0}
API_KEY_ENVS = {"pubmed": "NCBI_API_KEY", "europepmc": "", "openalex": "OPENALEX_API_KEY", "crossref": ""}

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_config() -> dict:
    return {
        "review": {
            "title": "Youth peer support for mental health: a realist review",
            "question": "What works in peer support for young people's mental health, for whom, in what contexts, and why?",
        },
        "harvest": {"since": "2000-01-01", "until": "", "contact_email": "", "overlap_days": 7},
        "sources": {
            name: {
                "enabled": True,
                "base_url": DEFAULT_BASE_URLS[name],
                "query": DEFAULT_QUERIES[name],
                "api_key_env": API_KEY_ENVS[name],
                "rate": DEFAULT_RATES[name],
            }
            for name in SOURCES
        },
        "index": {"model": DEFAULT_MODEL, "chroma_url": "", "batch_size": 64},
    }


@dataclass
class Project:
    root: Path
    config: dict

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "synth.db"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def theory_path(self) -> Path:
        return self.root / "theory.yaml"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "refresh.lock"

    def source(self, name: str) -> dict:
        cfg = copy.deepcopy(default_config()["sources"][name])
        cfg.update(self.config.get("sources", {}).get(name, {}))
        return cfg

    def section(self, name: str) -> dict:
        cfg = copy.deepcopy(default_config().get(name, {}))
        cfg.update(self.config.get(name, {}))
        return cfg

    def store(self):
        from synth.store import Store

        return Store(self.db_path)


def init_project(root: Path, overrides: dict | None = None) -> Project:
    root = Path(root)
    if (root / CONFIG_NAME).exists():
        raise SynthError(f"{root / CONFIG_NAME} already exists; not overwriting it")
    root.mkdir(parents=True, exist_ok=True)
    cfg = default_config()
    for section, values in (overrides or {}).items():
        if section == "sources":
            for name, vals in values.items():
                cfg["sources"][name].update(vals)
        else:
            cfg.setdefault(section, {}).update(values)
    (root / CONFIG_NAME).write_text(_HEADER + tomli_w.dumps(cfg))
    (root / "data").mkdir(exist_ok=True)
    return Project(root.resolve(), cfg)


_HEADER = """\
# synth review project. Edit freely; `synth harvest` reads this on every run.
# [sources.<name>] base_url: the API root (mirrors, proxies and tests point it elsewhere).
# api_key_env: the NAME of an environment variable holding the key, never the key itself.
# rate: requests per second per host (PubMed: 3, or 10 with an API key).

"""


def load_project(root: Path) -> Project:
    path = Path(root) / CONFIG_NAME
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SynthError(f"no {CONFIG_NAME} in {root}; run `synth init {root}` first") from None
    except tomllib.TOMLDecodeError as e:
        raise SynthError(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise SynthError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise SynthError(f"{path}: cannot read it ({e.strerror or type(e).__name__})") from None
    unknown = set(cfg.get("sources", {})) - set(SOURCES)
    if unknown:
        raise SynthError(f"{path}: unknown source(s) {', '.join(sorted(unknown))}; known: {', '.join(SOURCES)}")
    return Project(Path(root).resolve(), cfg)


def find_project(explicit: str | os.PathLike | None = None) -> Project:
    if explicit:
        return load_project(Path(explicit))
    env = os.environ.get("SYNTH_PROJECT")
    if env:
        return load_project(Path(env))
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_NAME).exists():
            return load_project(d)
    raise SynthError("no synth project here; run `synth init DIR` or pass --project DIR (or set SYNTH_PROJECT)")
