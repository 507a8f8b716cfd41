"""The project's modules the deployed app can run: ``function_app.py`` and every ``sync``
module it imports, directly or through others (lazy imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sync.feeds import feed_names
from sync.kinds import KIND_NAMES

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_APP = ROOT / "function_app.py"


def module_path(name: str) -> Path | None:
    """The file of a ``sync`` module (or package), or None when it is not ours."""
    if name != "sync" and not name.startswith("sync."):
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(source: str, package: str) -> set[str]:
    """Absolute names of every module an ``import`` in ``source`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)  # submodules
    return names


def reachable_sources(entry: Path = FUNCTION_APP) -> list[Path]:
    """``entry`` and the ``sync`` files it reaches by imports, sorted."""
    if not entry.is_file():
        pytest.fail(f"{entry.name} is missing: the deployed code cannot be scanned")
    seen: set[Path] = set()
    todo: list[tuple[Path, str]] = [(entry, "")]
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        names = imported_modules(path.read_text(encoding="utf-8"), package)
        if path == module_path("sync.kinds"):
            # The registry imports each kind by name (importlib): every kind is reachable.
            names |= {f"sync.kinds.{kind}" for kind in KIND_NAMES}
        if path == module_path("sync.feeds"):
            # So does the feed registry, each feed by its folder.
            names |= {f"sync.feeds.{feed}" for feed in feed_names()}
        for name in names:
            found = module_path(name)
            if found is not None:
                pkg = name if found.name == "__init__.py" else name.rpartition(".")[0]
                todo.append((found, pkg))
    return sorted(seen)
