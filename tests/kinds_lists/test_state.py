"""The run's state: one registry per run, opened on first use, shared by every gateway and the
peak records; a run with nothing to write never opens it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.engine import run
from sync.kinds import parse_target
from sync.settings import Settings
from sync.state import State
from sync.state.ownership import FolderRegistry, Registry
from sync.state.peaks import PeakBook
from tests.engine.conftest import make_nsg, nsg_id

from .conftest import Make, release, target

SettingsFor = Callable[..., Settings]
ALPHA = ["20.10.0.0/24", "40.1.1.1/32"]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Registry]:
    """Every registry a run opens, in order."""
    from sync import state

    found: list[Registry] = []
    real = state.open_registry

    def counting(settings: Settings) -> Registry:
        found.append(real(settings))
        return found[-1]

    monkeypatch.setattr(state, "open_registry", counting)
    return found


def test_the_registry_is_opened_once_on_first_use_whatever_the_threads(tmp_path: Path) -> None:
    calls: list[Registry] = []

    def opener() -> Registry:
        calls.append(FolderRegistry(tmp_path / "state"))
        return calls[-1]

    state = State(opener)
    assert calls == []
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = set(map(id, pool.map(lambda _: state.registry, range(64))))
    assert len(calls) == 1
    assert seen == {id(calls[0])}
    spec = parse_target({"nsg": nsg_id("n"), "service_tags": ["Alpha"]}, "t")
    state.peaks.record(spec, {"v4": 256}, reset=False)
    assert calls[0].load(PeakBook.key(spec)).peaks == {"v4": 256}  # beside ownership records


def test_one_run_opens_one_registry_for_every_resource_and_the_peaks(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path, opened: list[Any]
) -> None:
    resources = [make("storage", "st1"), make("keyvault", "kv1"), make("acr", "cr1")]
    source = release(tmp_path / "r1.json", {"Alpha": ALPHA})
    report = run(settings_for(source, [target(r, ["Alpha"]) for r in resources]))
    assert report.ok, report.model_dump_json(indent=1)
    assert [t.status for t in report.targets] == ["applied"] * 3
    assert len(opened) == 1
    (registry,) = opened
    for resource in resources:
        assert registry.load(resource.id).owned  # ownership records, in the run's registry


def test_a_run_with_nothing_to_write_opens_no_registry(
    emulator: Emulator,
    network_client: Any,
    settings_for: SettingsFor,
    tmp_path: Path,
    opened: list[Any],
) -> None:
    nsg = make_nsg(network_client, "n1")
    settings = settings_for(
        release(tmp_path / "r1.json", {"Alpha": ALPHA}),
        [{"nsg": nsg, "service_tags": ["Alpha"], "families": ["v4"]}],
        state=str(tmp_path / "state"),
    )
    assert run(settings).targets[0].status == "applied"
    assert len(opened) == 1  # the target's largest selection was recorded
    opened.clear()
    again = run(settings)
    assert again.targets[0].status == "unchanged"
    assert opened == []
