"""One list kind's gateway and plan without the engine: what a run would write and say."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from armemu import Emulator
from sync.azure.client import Clients
from sync.azure.writes import ArmWriter, Deadline, Stale
from sync.core.selection import select
from sync.feeds import load_release
from sync.kinds import get_kind, parse_target
from sync.kinds.base import PlanContext
from sync.settings import Settings
from sync.state import State

from .conftest import Make, release, target

SettingsFor = Callable[..., Settings]
ALPHA = ["20.10.0.0/24", "40.1.1.1/32"]


def _plan(settings: Settings, raw: dict[str, Any]) -> tuple[Any, Any]:
    spec = parse_target(raw, "t")
    kind = get_kind(spec.kind)
    selection = select(load_release(settings), spec.service_tags, families=spec.families)
    writer = ArmWriter(spec.resource_id, Deadline(60), 0)
    gateway = kind.gateway(Clients(settings), spec.resource_id, writer, State.open(settings))
    snapshot = gateway.read()
    (plan,) = kind.plan([(spec, selection)], snapshot, PlanContext(1, 0.3, False))
    return gateway, plan


def test_without_a_record_the_plan_says_what_it_keeps(
    make: Make, settings_for: SettingsFor, tmp_path: Path, kind: str
) -> None:
    res = make(kind, "noted", ["51.0.0.1", "20.10.0.0/24"])
    settings = settings_for(release(tmp_path / "r.json", {"Alpha": ALPHA}), [])
    _, plan = _plan(settings, target(res, ["Alpha"]))
    (note,) = plan.notes
    assert "no ownership record" in note
    assert "the 2 IP rules present are kept" in note
    (write,) = plan.writes
    assert write.added == ("40.1.1.1/32",)
    assert write.removed == ()


def test_a_list_changed_after_the_read_is_not_overwritten(
    emulator: Emulator, make: Make, settings_for: SettingsFor, tmp_path: Path
) -> None:
    res = make("storage", "raced", ["51.0.0.1"])
    settings = settings_for(release(tmp_path / "r.json", {"Alpha": ALPHA}), [])
    gateway, plan = _plan(settings, target(res, ["Alpha"]))
    make("storage", "raced", ["51.0.0.1", "51.0.0.2"])  # the owner adds a rule meanwhile
    steps = len(emulator.history()[res.id])
    with pytest.raises(Stale, match="changed since it was read"):
        gateway.send(plan.writes[0], None)
    assert len(emulator.history()[res.id]) == steps
    assert "51.0.0.2" in res.values()
