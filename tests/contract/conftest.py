"""The kind contract suite's fixtures: each kind's harness, the emulator through plain REST,
and settings for one run; releases built from the real ``Storage.WestEurope`` of a bundled
release (IPv4), with changes made to it as a hostile or an ordinary week would."""

from __future__ import annotations

import importlib
import json
import lzma
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import netaddr
import pytest

from armemu import Emulator
from sync.kinds import KIND_NAMES
from sync.settings import Settings, load_settings
from tests.engine.conftest import write_release

from .harness import Arm, Harness

DATA = Path(__file__).resolve().parents[1] / "data"
TAG = "Storage.WestEurope"
#: An owner's own entries, public and apart from the tag's addresses.
FOREIGN = ("1.2.3.0/24", "8.8.4.0/24")


def _published() -> list[str]:
    document = json.loads(
        lzma.decompress((DATA / "ServiceTags_Public_20251017.json.xz").read_bytes())
    )
    (tag,) = [v for v in document["values"] if v["name"] == TAG]
    prefixes = [p for p in tag["properties"]["addressPrefixes"] if ":" not in p]
    return [str(c) for c in netaddr.cidr_merge(prefixes)]


#: The tag's IPv4 prefixes, merged (96).
PUBLISHED = _published()


@pytest.fixture(params=KIND_NAMES)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    found: Harness = importlib.import_module(f"tests.contract.harness.{request.param}").HARNESS
    if hasattr(found, "cache"):
        found.cache = tmp_path  # type: ignore[attr-defined]
    return found


def skip_unless_applies(harness: Harness, case: str) -> None:
    reason = harness.not_applicable.get(case)
    if reason:
        pytest.skip(f"{harness.kind}: {reason}")


@pytest.fixture
def arm(emulator: Emulator) -> Arm:
    return Arm(emulator)


Releases = Callable[..., Path]


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    """A release of ``TAG`` holding ``prefixes`` (default: the real ones), numbered ``change``,
    with other tags besides (``AzureCloud``, cloud-wide, for the tag cases)."""

    def make(change: int = 373, prefixes: Sequence[str] = PUBLISHED, **tags: list[str]) -> Path:
        path = tmp_path / f"release-{change}-{len(prefixes)}.json"
        return write_release(path, {TAG: list(prefixes), "AzureCloud": ["20.0.0.0/12"], **tags},
                             change)  # fmt: skip

    return make


Run = Callable[..., Settings]


@pytest.fixture
def settings_for(emulator_settings: Settings, tmp_path: Path) -> Run:
    def make(source: Path, targets: list[dict[str, Any]], **overrides: Any) -> Settings:
        base = emulator_settings.model_dump(exclude={"targets", "source", "cache_dir", "state"})
        return load_settings(**{**base, "source": str(source), "targets": targets,
                                "cache_dir": tmp_path, "state": str(tmp_path / "state"),
                                **overrides})  # fmt: skip

    return make
