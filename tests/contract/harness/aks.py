"""AKS clusters: ``properties.apiServerAccessProfile.authorizedIPRanges``, written whole in a
long-running PUT of the cluster with ``If-Match`` (shapes of the ManagedClustersCreate_Update
and ManagedClustersGet spec examples)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import Arm, Harness, group_id

API = "2026-08-01"
#: What AKS sets on a cluster itself: a PUT by hand sends the cluster without them.
READ_ONLY = ("provisioningState", "powerState", "fqdn")


def cluster_body(ranges: Sequence[str]) -> dict[str, Any]:
    """A cluster as the ManagedClustersCreate_Update example makes it, with ``ranges``."""
    return {
        "location": "westeurope",
        "tags": {"tier": "production"},
        "sku": {"name": "Base", "tier": "Free"},
        "properties": {
            "kubernetesVersion": "",
            "dnsPrefix": "dnsprefix1",
            "agentPoolProfiles": [{"name": "nodepool1", "count": 3, "vmSize": "Standard_DS2_v2",
                                   "osType": "Linux", "type": "VirtualMachineScaleSets",
                                   "mode": "System"}],
            "linuxProfile": {"adminUsername": "azureuser",
                             "ssh": {"publicKeys": [{"keyData": "keydata"}]}},
            "networkProfile": {"loadBalancerSku": "standard", "outboundType": "loadBalancer",
                               "loadBalancerProfile": {"managedOutboundIPs": {"count": 2}}},
            "enableRBAC": True,
            "apiServerAccessProfile": {"authorizedIPRanges": [*ranges]},
        },
    }  # fmt: skip


@dataclass
class AksHarness(Harness):
    kind: ClassVar[str] = "aks"
    capacity: ClassVar[int] = 200
    write_method: ClassVar[str] = "PUT"
    long_running: ClassVar[bool] = True
    api: ClassVar[str] = API

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        path = f"{group_id()}/providers/Microsoft.ContainerService/managedClusters/{name}"
        arm.put(path, API, cluster_body(foreign))
        return path

    def entries(self, arm: Arm, resource: str) -> list[str]:
        profile = arm.get(resource, API)["properties"].get("apiServerAccessProfile") or {}
        return list(profile.get("authorizedIPRanges") or [])

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        self._put_ranges(arm, resource, lambda ranges: [*ranges, value])

    def widen(self, arm: Arm, resource: str, to: str) -> bool:
        """A range has no name: the wide one replacing ipsync's last is the owner's."""
        self._put_ranges(arm, resource, lambda ranges: [*ranges[:-1], to])
        return True

    def _put_ranges(self, arm: Arm, resource: str, change: Any) -> None:
        """The owner's full PUT of the cluster as read, its ranges changed."""
        cluster = arm.get(resource, API)
        props = {k: v for k, v in cluster["properties"].items() if k not in READ_ONLY}
        profile = props["apiServerAccessProfile"]
        profile["authorizedIPRanges"] = change(profile["authorizedIPRanges"])
        body = {k: cluster[k] for k in ("location", "tags", "sku") if k in cluster}
        arm.put(resource, API, {**body, "properties": props})


HARNESS = AksHarness()
