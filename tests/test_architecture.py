"""The rules of docs/architecture.md, checked: imports point down the layers, no cycles, the library
never imports click (the CLI maps its errors), and SQL lives only in the owner of each table.
Function-level (lazy) imports count too."""

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("synth", "index", "spiders")

CLI = "cli"
SYNTHESIS = "synthesis"
INDEX = "index"
HARVEST = "harvest"
STORE = "store"
RANK = {STORE: 0, HARVEST: 1, INDEX: 1, SYNTHESIS: 2, CLI: 3}

# store and records: what every layer may use
STORE_MODULES = {
    "synth", "synth.errors", "synth.records", "synth.normalize", "synth.versioned", "synth.lock", "synth.schema",
    "synth.store", "synth.dedupe", "synth.duplicates", "synth.retractions", "synth.screening", "synth.project",
    "synth.sentences", "synth.progress", "synth.design", "synth.citations", "synth.spreadsheet", "synth.highlight",
    "synth.harvestlog", "synth.cache",
}


def layer(module: str) -> str:
    if module in ("synth.cli", "synth.__main__") or module.startswith("synth.commands"):
        return CLI
    if module.startswith("spiders"):
        return HARVEST
    if module.startswith("index"):
        return INDEX
    if module in STORE_MODULES or module.startswith("synth.importers"):
        return STORE
    return SYNTHESIS


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rpartition(".")[0]
                if t in mods and t != name:
                    edges[name].add(t)
                elif t.split(".")[0] == "click":
                    edges[name].add("click")
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_there_are_no_import_cycles():
    assert cycles(imports(modules())) == []


def test_imports_point_down_the_layers():
    edges = imports(modules())
    upward = sorted(f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, targets in edges.items() for b in targets
                    if b != "click" and RANK[layer(b)] > RANK[layer(a)]
                    or {layer(a), layer(b)} == {HARVEST, INDEX})
    assert upward == []


def test_only_the_cli_imports_click():
    edges = imports(modules())
    assert sorted(a for a, targets in edges.items() if "click" in targets and layer(a) != CLI) == []


def test_the_checker_sees_a_cycle_and_an_upward_import():
    # the checks above can fail: a planted cycle and an upward import are found
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = imports(modules())
    assert "synth.schema" in edges["synth.store"] and "click" in edges["synth.cli"]  # lazy imports seen too
    assert "synth.retractions" in edges["synth.schema"]
    assert layer("synth.store") == STORE and layer("synth.commands.search") == CLI and layer("synth.tables") == SYNTHESIS


# ---------------------------------------------------------------------- SQL has owners
# The modules that hold SQL (docs/architecture.md, "Who owns which table"), and the tables each writes.
SQL_OWNERS = {
    "synth.store": {"records", "provenance", "quarantine", "runs", "meta", "sentences"},
    "synth.schema": set(),  # creates every table; migrations
    "synth.harvestlog": {"windows", "failed_requests"},
    "synth.screening": {"screening"},
    "synth.duplicates": {"duplicate_pairs"},
    "synth.retractions": {"retractions", "meta"},  # meta: the backfill's done-flag, written inside its migration
    "synth.mechanisms.pipeline": {"codes"},
    "synth.mechanisms.codes": set(),  # reads codes
    "synth.mechanisms.curation": {"curation", "curation_log"},
    "synth.mechanisms.emergent": {"emergent_clusters", "emergent_members", "sentence_fit"},
    "synth.mechanisms.vectors": {"theory_vectors"},
    "index.state": {"index_state"},
}
_SQL_CALL = ("execute", "executemany", "executescript")
_WRITE = __import__("re").compile(r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+([a-z_]+)\b")


def sql_uses(path: Path) -> tuple[list[int], set[str]]:
    """(lines calling execute*/touching `.conn`, tables named after INSERT INTO / UPDATE / DELETE FROM)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines, written = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (node.attr in _SQL_CALL or node.attr == "conn"):
            lines.append(node.lineno)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            written |= set(_WRITE.findall(node.value)) - {"set"}
    return lines, written


def test_sql_lives_only_in_the_owners_of_tables():
    found = {}
    for name, path in modules().items():
        lines, _ = sql_uses(path)
        if lines and name not in SQL_OWNERS:
            found[name] = sorted(set(lines))[:5]
    assert not found, f"SQL outside the table owners (move it into a named query of the owner): {found}"


def test_each_table_is_written_only_by_its_owner():
    tables = {t for owned in SQL_OWNERS.values() for t in owned}
    wrong = {}
    for name, path in modules().items():
        _, written = sql_uses(path)
        foreign = {t for t in written if t in tables} - SQL_OWNERS.get(name, set())
        if foreign:
            wrong[name] = sorted(foreign)
    assert not wrong, f"tables written outside their owner: {wrong}"


def test_the_sql_checker_sees_a_query_and_a_foreign_write(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(store):\n    store.conn.execute("UPDATE codes SET score=0 WHERE record_id=?", ("x",))\n')
    lines, written = sql_uses(bad)
    assert lines == [2, 2] and written == {"codes"}
