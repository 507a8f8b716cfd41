"""Premium Service Bus namespaces: ``networkRuleSets/default`` ``properties.ipRules[{ipMask,
action}]``, a synchronous PUT of the whole rule set (shapes of the SBNameSpaceCreate and
SBNetworkRuleSetCreate spec examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .eventhub import EventHubHarness


@dataclass
class ServiceBusHarness(EventHubHarness):
    kind: ClassVar[str] = "servicebus"
    provider: ClassVar[str] = "Microsoft.ServiceBus/namespaces"
    tier: ClassVar[str] = "Premium"


HARNESS = ServiceBusHarness()
