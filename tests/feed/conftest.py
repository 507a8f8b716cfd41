"""Fixtures: the bundled real releases, decompressed once per session."""

from __future__ import annotations

import json
import lzma
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from sync.core.feed import Release
from sync.feeds import load_release
from sync.feeds.azure.parse import parse_release
from sync.settings import load_settings

DATA = Path(__file__).resolve().parent.parent / "data"
PUBLIC = "ServiceTags_Public_20251017.json.xz"
RELEASES = [
    "ServiceTags_Public_20250101.json.xz",
    "ServiceTags_Public_20251010.json.xz",
    PUBLIC,
    "ServiceTags_AzureGovernment_20251025.json.xz",
    "ServiceTags_China_20251025.json.xz",
]
XML = "PublicIPs_20200826.xml.xz"


@cache
def release_bytes(name: str) -> bytes:
    """The decompressed bytes of a bundled file."""
    return lzma.decompress((DATA / name).read_bytes())


def raw_json(name: str) -> dict[str, Any]:
    """A fresh (mutable) copy of a bundled JSON release."""
    result: dict[str, Any] = json.loads(release_bytes(name))
    return result


@cache
def parsed(name: str) -> Release:
    return parse_release(release_bytes(name), origin=name)


@pytest.fixture
def public() -> Release:
    return parsed(PUBLIC)


@pytest.fixture
def release_of() -> Callable[[str], Release]:
    return parsed


@pytest.fixture(autouse=True)
def _no_ipsync_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings read IPSYNC_* from the environment: tests start from a clean one, and keep
    what they cache (release verdicts) out of the user's cache directory."""
    for key in list(os.environ):
        if key.upper().startswith("IPSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., Release]:
    """load_release of a file, with the verdicts kept in ``tmp_path / "cache"``."""

    def load(path: Path, **settings: Any) -> Release:
        return load_release(
            load_settings(source=str(path), cache_dir=tmp_path / "cache", **settings)
        )

    return load
