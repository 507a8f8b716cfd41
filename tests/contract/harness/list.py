"""Published lists: no Azure resource; a document in the state folder, written whole."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from . import Arm, Harness

NO_ARM = "a published list makes no Azure request"
#: The state folder's lists, under the run's cache folder (the suite's settings name it).
LISTS = Path("state") / "lists"


@dataclass
class ListHarness(Harness):
    kind: ClassVar[str] = "list"
    counts_writes: ClassVar[bool] = False
    capacity: ClassVar[int] = 150_000
    wide: ClassVar[str] = "0.0.0.0/0"
    not_applicable: ClassVar[dict[str, str]] = {
        "foreign": "ipsync owns the whole document",
        "owner_entry": "ipsync owns the whole document",
        "faults": NO_ARM,
        "budget": NO_ARM,
        "tags": "a list is named in the settings only",
        "registry_lost": "the list lives in the state place itself: losing it loses the list",
    }
    cache: Path = Path()

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        return f"lists/{name}"

    def target(self, resource: str, selectors: Sequence[str], **fields: Any) -> dict[str, Any]:
        return {"kind": "list", "name": resource.removeprefix("lists/"),
                "service_tags": list(selectors), "families": ["v4"], **fields}  # fmt: skip

    def _file(self, resource: str) -> Path:
        return self.cache / LISTS / f"{resource.removeprefix('lists/')}.json"

    def entries(self, arm: Arm, resource: str) -> list[str]:
        path = self._file(resource)
        if not path.is_file():
            return []
        document = json.loads(path.read_text())
        return [*document["v4"], *document["v6"]]

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        path = self._file(resource)
        document = json.loads(path.read_text())
        document["v4"] = [to, *document["v4"][1:]]
        path.write_text(json.dumps(document))
        return False

    def states(self, arm: Arm, resource: str) -> list[Any]:
        return []


HARNESS = ListHarness()
