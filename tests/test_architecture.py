"""The shape of the house, checked: the engine imports nothing from the server, no two modules import each
other in a circle, and every JSON answer of the API is documented with a schema in /openapi.json."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("proctor", "server")


# --- the import graph ------------------------------------------------------------------------------------
def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _import_statements(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import of a module, at the top level or inside a function (a lazy import that closes a circle
    hides the circle, it does not remove it), except those under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If):
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                    isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                stack.extend(node.orelse)
                continue
        stack.extend(ast.iter_child_nodes(node))


def _imported(name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules an import statement loads (``from a.b import c`` loads ``a.b.c`` when c is a
    module, else ``a.b``); importing ``a.b.c`` also runs ``a`` and ``a.b``."""
    targets: list[str] = []
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            mod = ".".join(parts[:i])
            if mod in modules and mod != name:
                yield mod


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[name] = {m for node in _import_statements(tree) for m in _imported(name, path, node, modules)}
    return graph


def _is_ancestor(a: str, b: str) -> bool:
    return b.startswith(a + ".")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan). A package importing its own
    submodules (``server.db.models`` -> ``server.db.models.exam``) and a submodule importing its parent
    package are how Python packages work, so edges between a package and its descendants are left out."""
    edges = {a: {b for b in bs if not _is_ancestor(a, b) and not _is_ancestor(b, a)} for a, bs in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_sees_lazy_imports() -> None:
    tree = ast.parse("import os\ndef f():\n    from server.db import models\nif TYPE_CHECKING:\n    import server.app\n")
    modules = {"server": Path("server/__init__.py"), "server.db": Path("server/db/__init__.py"),
               "server.db.models": Path("server/db/models/__init__.py"), "server.app": Path("server/app.py")}
    found = {m for node in _import_statements(tree) for m in _imported("x", Path("x.py"), node, modules)}
    assert found == {"server", "server.db", "server.db.models"}


def test_the_cycle_finder_finds_a_cycle_and_ignores_package_edges() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p": {"p.a"}, "p.d": {"p"}}
    assert find_cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert find_cycles({"p.a": {"p.b"}, "p.b": set()}) == []


def test_the_import_graph_sees_relative_and_submodule_imports() -> None:
    graph = import_graph()
    assert "server.db.models.exam" in graph["server.db.models"]
    assert "proctor.settings" in graph["proctor.pipeline"]


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "modules that import each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_the_engine_imports_nothing_from_the_server() -> None:
    modules = _modules()
    bad = []
    for name, path in modules.items():
        if not name.startswith("proctor"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):  # also inside functions
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            bad += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                    if n == "server" or n.startswith("server.")]
    assert not bad, "the engine (proctor/) must not import the server:\n" + "\n".join(bad)


def test_the_layers_below_the_api_know_nothing_of_http() -> None:
    """Services, domain rules, the database and the stores raise domain errors; only server.api (and the
    routes of the live and review sides) speak HTTP."""
    lower = ("server.services", "server.domain", "server.db", "server.storage")
    http = ("fastapi", "starlette", "server.api")
    bad = []
    for name, path in _modules().items():
        if not name.startswith(lower):
            continue
        for node in _import_statements(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            bad += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                    if any(n == h or n.startswith(h + ".") for h in http)]
    assert not bad, "\n".join(bad)


# --- the OpenAPI document --------------------------------------------------------------------------------
def _documented(schema: Any, components: dict[str, Any]) -> bool:
    """Whether a response schema says what the answer holds: a named model, a list of documented items, an
    object with properties or typed values, or a scalar. ``{}`` and a bare ``object`` say nothing."""
    if not isinstance(schema, dict) or not schema:
        return False
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1] in components
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"]
            return bool(branches) and all(_documented(b, components) for b in branches)
    kind = schema.get("type")
    if kind == "array":
        return _documented(schema.get("items"), components)
    if kind == "object":
        extra = schema.get("additionalProperties")
        return bool(schema.get("properties")) or (isinstance(extra, dict) and _documented(extra, components))
    return kind in ("string", "integer", "number", "boolean")


def undocumented_json_answers(doc: dict[str, Any]) -> list[str]:
    components = doc.get("components", {}).get("schemas", {})
    out = []
    for path, ops in sorted(doc.get("paths", {}).items()):
        for method, op in sorted(ops.items()):
            for status, answer in sorted(op.get("responses", {}).items()):
                if not str(status).startswith("2"):
                    continue
                content = answer.get("content", {})
                if "application/json" in content and not _documented(content["application/json"].get("schema"),
                                                                      components):
                    out.append(f"{method.upper()} {path} -> {status}")
    return out


def test_the_schema_check_tells_documented_from_undocumented() -> None:
    comps = {"Thing": {"type": "object", "properties": {"a": {"type": "integer"}}}}
    ok = [{"$ref": "#/components/schemas/Thing"}, {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
          {"type": "object", "additionalProperties": {"type": "string"}},
          {"anyOf": [{"$ref": "#/components/schemas/Thing"}, {"type": "null"}]}]
    bad = [{}, None, {"type": "object", "additionalProperties": True}, {"type": "array", "items": {}},
           {"type": "array", "items": {"type": "object", "additionalProperties": True}}]
    assert all(_documented(s, comps) for s in ok)
    assert not any(_documented(s, comps) for s in bad)


def test_every_json_answer_has_a_response_schema(tmp_path) -> None:
    from server.app import create_app
    from server.settings import ServerSettings

    app = create_app(ServerSettings(data_dir=tmp_path / "data", seed_demo=False, webhooks_enabled=False,
                                    auto_migrate=False))
    missing = undocumented_json_answers(app.openapi())
    assert not missing, ("operations answering JSON without a response schema (declare a response_model, or "
                         "a response_class for answers that are not JSON):\n" + "\n".join(missing))
