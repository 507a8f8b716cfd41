"""The app under test: its settings against the ARM emulator, and calls as the host makes them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

import function_app
from armemu import Emulator
from sync.app.history import History

from ._http import Answer, call

#: the subscription of the shared emulator fixtures (tests/conftest.py)
SUB = "00000000-0000-0000-0000-000000000000"
FEED = Path(__file__).resolve().parents[1] / "data" / "ServiceTags_Public_20251017.json.xz"
RG = "rg-app"


def nsg_id(name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/"
        f"networkSecurityGroups/{name}"
    )


def target(name: str, **more: Any) -> dict[str, Any]:
    return {"nsg": nsg_id(name), "service_tags": ["Storage.WestEurope"], **more}


@dataclass
class App:
    """The app's environment: two NSGs in the emulator, storage in Azurite."""

    emulator: Emulator
    storage: ContainerClient
    monkeypatch: pytest.MonkeyPatch
    #: ARM writes made by the fixture itself (creating the NSGs)
    setup_writes: int = 0

    def arm_writes(self) -> int:
        """Writes the emulator received from runs."""
        writes: int = self.emulator.stats()["writes"]
        return writes - self.setup_writes

    def targets(self, *targets: dict[str, Any]) -> None:
        self.monkeypatch.setenv("IPSYNC_TARGETS", json.dumps(list(targets)))

    def sync(self, **params: str) -> Answer:
        return call(function_app.sync_http, "POST", "/api/sync", params=params)

    def force(self) -> Answer:
        return call(function_app.sync_force_http, "POST", "/api/sync/force")

    def history(self) -> History:
        return History(self.storage)


def make_app(
    storage: ContainerClient,
    emulator: Emulator,
    network_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> App:
    """Two empty NSGs in the emulator and the app's settings pointing at them."""
    from azure.mgmt.network.models import NetworkSecurityGroup

    for name in ("nsg-a", "nsg-b"):
        network_client.network_security_groups.begin_create_or_update(
            RG, name, NetworkSecurityGroup(location="westeurope")
        ).result()
    for var, value in {
        "IPSYNC_ARM_ENDPOINT": emulator.endpoint,
        "IPSYNC_CA_BUNDLE": str(emulator.ca_bundle),
        "IPSYNC_CREDENTIAL": "emulator",
        "IPSYNC_SUBSCRIPTION_ID": SUB,
        "IPSYNC_SOURCE": str(FEED),
        "IPSYNC_POLL_INTERVAL_S": "0",  # the emulator's writes finish at the first poll
    }.items():
        monkeypatch.setenv(var, value)
    made = App(emulator, storage, monkeypatch, emulator.stats()["writes"])
    made.targets(target("nsg-a"))
    return made


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    """The first truthy result of ``check``, polled until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
