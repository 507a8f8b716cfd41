"""Event Hubs and Service Bus namespaces synced against the emulator: the tier each needs, and
virtual network rules sharing the Event Hubs limit with IP rules. Resources are made with plain
REST calls shaped like the spec examples (the contract suite's harnesses)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import netaddr

from armemu import Emulator
from sync.engine import run
from sync.settings import Settings
from tests.contract.harness import Arm
from tests.contract.harness.eventhub import SUBNET, EventHubHarness
from tests.contract.harness.servicebus import ServiceBusHarness

from .conftest import release

SettingsFor = Callable[..., Settings]
#: 100 /24s, no two adjacent: more than an Event Hubs namespace with 40 virtual network rules
#: takes, coverable by fewer.
WIDE = [f"20.{i // 64}.{(i % 64) * 4}.0/24" for i in range(100)]


def _target(resource: str, kind: str, **fields: object) -> dict[str, object]:
    return {"kind": kind, "resource": resource, "service_tags": ["Wide"], **fields}


def test_a_service_bus_namespace_below_premium_is_refused_saying_so(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path
) -> None:
    resource = ServiceBusHarness().path("standard")
    body = {"location": "westeurope", "sku": {"name": "Standard", "tier": "Standard"}}
    Arm(emulator).put(resource, ServiceBusHarness.api, body)
    writes = emulator.stats()["writes"]
    report = run(settings_for(release(tmp_path / "r.json", {"Wide": WIDE}),
                              [_target(resource, "servicebus")]))  # fmt: skip
    (result,) = report.targets
    assert result.status == "failed"
    assert "the namespace is in the Standard tier; IP rules need Premium" in (result.error or "")
    assert emulator.stats()["writes"] == writes


def test_virtual_network_rules_share_the_event_hubs_limit_and_stay_as_read(
    emulator: Emulator, settings_for: SettingsFor, tmp_path: Path
) -> None:
    harness, arm = EventHubHarness(), Arm(emulator)
    resource = harness.create(arm, "vnets", ["51.0.0.1"])
    rule_set = harness.rules(arm, resource)
    rule_set["virtualNetworkRules"] = [
        {"subnet": {"id": f"{SUBNET}{i}"}, "ignoreMissingVnetServiceEndpoint": True}
        for i in range(40)
    ]
    arm.put(harness.write_path(resource), harness.api, {"properties": rule_set})
    source = release(tmp_path / "r.json", {"Wide": WIDE})

    report = run(settings_for(source, [_target(resource, "eventhub")]))
    (result,) = report.targets
    assert result.status == "refused", result
    assert "needs 100 entries but 87 fit (limit 128 IP rules, 40 held by other rules, 1 held" in (
        result.error or ""
    )

    report = run(settings_for(source, [_target(resource, "eventhub", fit="cover",
                                               max_extra_ratio=1.0)]))  # fmt: skip
    assert report.ok, report.model_dump_json(indent=1)
    after = harness.rules(arm, resource)
    assert len(after["ipRules"]) + len(after["virtualNetworkRules"]) <= 128
    assert netaddr.IPSet(WIDE).issubset(netaddr.IPSet(harness.entries(arm, resource)))
    assert {k: v for k, v in after.items() if k != "ipRules"} == {
        k: v for k, v in rule_set.items() if k != "ipRules"
    }
