"""Every kind is one folder, and what it declares there (``KIND.needs``) matches the rest of the
tree: the role table of ``infra/main.bicep``, the dependencies, its docs page, the config
schema, the emulator's routes and the kind contract suite. A kind that forgets one of them —
such as a skeleton with a target model and nothing else — fails here, saying what is missing.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from sync.kinds import KIND_NAMES, get_kind
from sync.kinds.base import Needs, TargetSpec
from tests.infra import bicep_text as bicep

ROOT = Path(__file__).resolve().parents[1]
MAIN = bicep.read("main.bicep")
#: The role table's entries that belong to no kind: each is named here with why.
SHARED_ENTRIES = {"discovery": "Resource Graph, for every kind that is discovered by tag"}


@dataclass(frozen=True)
class Declared:
    """What the checks look at of a kind: its name, model, ARM type and needs."""

    name: str
    target: type[TargetSpec]
    arm_type: str
    needs: Needs
    folder: Path


def declared(name: str) -> Declared:
    kind = get_kind(name)
    return Declared(name, kind.target, kind.arm_type, kind.needs, ROOT / "sync" / "kinds" / name)


def _table() -> dict[str, set[str]]:
    table = bicep.literal_after(MAIN, "var kindActions =")
    return {
        kind: set(bicep.strings(bicep.literal_after(table, f"\n  {kind}:")))
        for kind in bicep.object_entries(table)
    }


def _requirement_names(text: str) -> set[str]:
    names = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~\[ ;]", line, maxsplit=1)[0].lower())
    return names


def _imported_sdks(folder: Path) -> set[str]:
    """The distributions of the ``azure.mgmt.<x>`` packages the folder's code imports."""
    found = set()
    for path in folder.rglob("*.py") if folder.is_dir() else ():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [module]
            for name in names:
                parts = (name or "").split(".")
                if parts[:2] == ["azure", "mgmt"] and len(parts) > 2 and parts[2] != "core":
                    found.add(f"azure-mgmt-{parts[2]}")
    return found


def _nav() -> str:
    return (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def _emulated(what: str) -> bool:
    from armemu import msgraph
    from armemu.catalog import KINDS
    from armemu.model import NSG_TYPE

    if what.startswith("graph:"):
        return msgraph.serves("/v1.0" + what.removeprefix("graph:"))
    return what.lower() in KINDS or what.lower() == NSG_TYPE.lower()


def problems(kind: Declared) -> list[str]:
    """What the tree lacks for ``kind``, one line each (empty: nothing)."""
    needs, found = kind.needs, []
    table = _table()
    if needs.actions:
        if table.get(kind.name) != set(needs.actions):
            found.append(f"infra/main.bicep kindActions.{kind.name} is not the kind's actions")
    elif not (needs.no_rbac or needs.graph):
        found.append("declares no RBAC action, no Graph permission, and no reason for neither")
    elif kind.name in table:
        found.append(f"infra/main.bicep lists kindActions.{kind.name}, which needs none")
    for shared in needs.shared:
        if f"var {shared} =" not in MAIN:
            found.append(f"shares {shared}, which infra/main.bicep does not define")
    requirements = _requirement_names((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared_deps = _requirement_names("\n".join(project["project"]["dependencies"]))
    for sdk in {*_imported_sdks(kind.folder), *([needs.sdk] if needs.sdk else [])}:
        if sdk != needs.sdk:
            found.append(f"imports {sdk} but declares sdk={needs.sdk!r}")
        if sdk not in requirements:
            found.append(f"{sdk} is not in requirements.txt")
        if sdk not in declared_deps:
            found.append(f"{sdk} is not in pyproject.toml's dependencies")
    page = ROOT / "docs" / needs.docs if needs.docs else None
    if page is None or not page.is_file():
        found.append(f"no docs page docs/{needs.docs}")
    elif f" {needs.docs}" not in _nav():
        found.append(f"docs/{needs.docs} is not in mkdocs.yml's nav")
    from sync.app.schema import config_schema

    if kind.target.__name__ not in config_schema()["$defs"]:
        found.append(f"the config schema has no {kind.target.__name__}")
    if kind.arm_type and not needs.emulated:
        found.append("an ARM kind the emulator does not serve (needs.emulated is empty)")
    found += [f"the emulator does not serve {t}" for t in needs.emulated if not _emulated(t)]
    if not (ROOT / "tests" / "contract" / "harness" / f"{kind.name}.py").is_file():
        found.append(f"no contract-suite harness tests/contract/harness/{kind.name}.py")
    return found


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_has_all_it_needs(name: str) -> None:
    assert problems(declared(name)) == []


def test_every_folder_is_a_kind_and_every_kind_a_folder() -> None:
    folders = {p.parent.name for p in (ROOT / "sync" / "kinds").glob("*/__init__.py")}
    assert set(KIND_NAMES) == folders
    for name in KIND_NAMES:
        assert get_kind(name).name == name
        assert get_kind(name).target.model_fields["kind"].default == name


def test_the_role_table_names_only_kinds_and_named_shared_entries() -> None:
    for entry in _table():
        assert entry in KIND_NAMES or entry in SHARED_ENTRIES, entry
    allowed = bicep.strings(bicep.literal_after(bicep.decorators(MAIN, "kinds"), "@allowed("))
    assert sorted(allowed) == sorted(_table())


def test_a_skeleton_kind_fails_every_check(tmp_path: Path) -> None:
    """A folder with a target model and nothing else: no actions, no SDK in the dependencies,
    no docs page, no schema entry, no emulator route, no contract harness."""
    (tmp_path / "plan.py").write_text("from azure.mgmt.redis import RedisManagementClient\n")

    class RedisTarget(TargetSpec):
        pass

    skeleton = Declared(
        "redis",
        RedisTarget,
        "microsoft.cache/redis",
        Needs(docs="kinds/redis.md"),
        tmp_path,
    )
    found = "\n".join(problems(skeleton))
    for missing in (
        "no RBAC action",
        "imports azure-mgmt-redis but declares sdk=None",
        "no docs page docs/kinds/redis.md",
        "the config schema has no RedisTarget",
        "needs.emulated is empty",
        "no contract-suite harness tests/contract/harness/redis.py",
    ):
        assert missing in found, (missing, found)
