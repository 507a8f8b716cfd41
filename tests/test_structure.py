"""The shape of the code: no import circles between the product's modules, no module too long.

The import graph is read from the source with ``ast``, so an import inside a function counts
as much as one at the top (both run); only imports under ``if TYPE_CHECKING:`` are left out,
as they never run. An edge goes to the module an import names (``from a.b import c`` names
``a.b.c`` when that is a module, else ``a.b``), not to the packages above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Longest module, in lines (the project's guide: small modules named after what they hold).
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, name: str, package: bool) -> Iterator[tuple[str, str | None]]:
    """``(module, name)`` of every import anywhere in ``node``, but under ``if TYPE_CHECKING:``
    (``import a.b`` is ``("a.b", None)``, ``from a import b`` is ``("a", "b")``)."""
    if isinstance(node, ast.If) and _type_checking(node.test):
        for child in node.orelse:
            yield from _imported(child, name, package)
        return
    if isinstance(node, ast.Import):
        yield from ((alias.name, None) for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the module's package, one level up per extra dot
            parts = name.split(".") if package else name.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        yield from ((base, alias.name) for alias in node.names)
    for child in ast.iter_child_nodes(node):
        yield from _imported(child, name, package)


def import_graph(top: str = "sync") -> dict[str, set[str]]:
    """Module -> the modules of ``top`` it imports."""
    paths = {module_name(p): p for p in sorted((ROOT / top).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets: set[str] = set()
        for module, member in _imported(tree, name, path.name == "__init__.py"):
            dotted = f"{module}.{member}" if f"{module}.{member}" in paths else module
            while dotted and dotted not in paths:  # import a.b.c where only a.b is ours
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                targets.add(dotted)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a circle or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_circle(graph: dict[str, set[str]], group: frozenset[str]) -> list[str]:
    """One circle through ``group``'s first module, as the modules along it."""
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for nxt in sorted(graph[node] & group):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                todo.append(nxt)
    raise AssertionError(f"{sorted(group)} holds no circle through {start}")


def test_the_graph_sees_imports_inside_functions_and_skips_type_checking_only() -> None:
    graph = import_graph()
    # sync.engine imports discovery inside a function; the kinds import State for typing only.
    assert "sync.azure.discovery" in graph["sync.candidates"]
    assert "sync.state" in graph["sync.engine"]
    assert "sync.state" not in graph["sync.kinds.base"]  # under TYPE_CHECKING
    assert "sync.kinds.base" in graph["sync.kinds.sql"]  # a module named in ``from ... import``
    assert "sync.kinds" not in graph["sync.kinds.sql"]


def test_the_circle_finder_names_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    (group,) = circles(graph)
    assert group == {"a", "b", "c"}
    assert a_circle(graph, group) == ["a", "b", "c", "a"]


def test_no_import_circles_between_product_modules() -> None:
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles: " + "; ".join(" -> ".join(a_circle(graph, g)) for g in found)


def test_only_entry_points_import_the_app() -> None:
    """The app (CLI, Functions adapter) sits on top: the engine, the kinds, the state and the
    clients never reach up into it; ``python -m sync`` is an entry point into the CLI."""
    graph = import_graph()
    entry_points = {"sync.__main__"}
    upward = {
        module: sorted(t for t in targets if t == "sync.app" or t.startswith("sync.app."))
        for module, targets in graph.items()
        if not module.startswith("sync.app") and module not in entry_points
    }
    found = {m: t for m, t in upward.items() if t}
    assert not found, f"modules that import the app: {found}"


def test_no_module_is_longer_than_the_limit() -> None:
    files = [ROOT / "function_app.py"]
    for top in ("sync", "armemu", "bench"):
        files += sorted((ROOT / top).rglob("*.py"))
    long = {
        str(f.relative_to(ROOT)): n
        for f in files
        if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
