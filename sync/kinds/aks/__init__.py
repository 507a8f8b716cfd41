"""AKS API server authorized IP ranges: ``properties.apiServerAccessProfile.authorizedIPRanges``.

The list is written whole, in a full PUT of the managed cluster as read (ManagedClusters
CreateOrUpdate; UpdateTags cannot change it), with ``If-Match`` on the cluster's ``eTag``.
The PUT is a long-running cluster update that takes minutes: it is polled within the run's
time budget, and when the budget runs out first the update goes on in Azure, what it adds is
recorded as ipsync's, and the next run reads the result (while the cluster still updates, a
run that would write waits for the next one instead of being refused by AKS).

An entry is an IPv4 CIDR starting at its network address (``/32`` for one address); at most
200. Entries ipsync did not add (the owner's, the cluster's own egress addresses) are kept, by
the ownership registry as for Storage. An empty list switches the restriction off, so ipsync
neither starts on an unrestricted cluster nor writes a list that would end up empty; nor does
it add to ``0.0.0.0/32`` (only the cluster's load balancer), which takes no other range.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sync.azure.writes import raw
from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ResourceApi

if TYPE_CHECKING:
    from azure.mgmt.containerservice import ContainerServiceClient

    from sync.azure.client import Clients

#: Provisioning states after which the cluster takes a new write.
SETTLED = frozenset({"succeeded", "failed", "canceled"})
#: The entry that allows only the cluster's load balancer outbound address (and nothing else).
LOAD_BALANCER_ONLY = "0.0.0.0/32"


class AksTarget(IpRuleTarget):
    """A managed cluster's API server authorized IP ranges (IPv4)."""

    kind: Literal["aks"] = "aks"
    provider_type: ClassVar[str] = "Microsoft.ContainerService/managedClusters"
    noun: ClassVar[str] = "AKS cluster"
    holds: ClassVar[str] = "authorized IP ranges"
    name_pattern: ClassVar[str] = r"[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}"


class AksApi(ResourceApi):
    client: ContainerServiceClient

    def get(self) -> Listed:
        cluster = self.client.managed_clusters.get(self._rg, self._name)
        props = cluster.properties
        profile = props.api_server_access_profile if props else None
        values = tuple((profile.authorized_ip_ranges if profile else None) or [])
        state = str((props.provisioning_state if props else None) or "")
        busy = state if state and state.lower() not in SETTLED else None
        return Listed(values, cluster, etag=cluster.e_tag, busy=busy, tags=dict(cluster.tags or {}))

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.containerservice import models

        cluster = copy.deepcopy(listed.rules)
        if cluster.properties.api_server_access_profile is None:
            cluster.properties.api_server_access_profile = (
                models.ManagedClusterAPIServerAccessProfile()
            )
        cluster.properties.api_server_access_profile.authorized_ip_ranges = [*values]
        cluster.tags = listed.tags  # ipsync's marks set, the owner's tags as read
        return self.client.managed_clusters.begin_create_or_update(
            self._rg, self._name, cluster, headers=headers, polling=False, cls=raw
        ).result()


class AksKind(IpRuleKind):
    name: ClassVar[str] = "aks"
    arm_type: ClassVar[str] = "microsoft.containerservice/managedclusters"
    target: ClassVar[type[TargetSpec]] = AksTarget
    cidrs_only: ClassVar[bool] = True
    limit: ClassVar[int] = 200
    field: ClassVar[str] = "apiServerAccessProfile.authorizedIPRanges"
    not_empty: ClassVar[str | None] = (
        "which opens the API server to every address; refused before any write"
    )
    needs: ClassVar[Needs] = Needs(
        docs="kinds/aks.md",
        actions=frozenset(
            {
                "Microsoft.ContainerService/managedClusters/read",
                "Microsoft.ContainerService/managedClusters/write",
                # The PUT is long-running; its Azure-AsyncOperation URL is under the location.
                "Microsoft.ContainerService/locations/operations/read",
            }
        ),
        sdk="azure-mgmt-containerservice",
        emulated=("Microsoft.ContainerService/managedClusters",),
    )

    def api(self, clients: Clients, resource_id: str) -> AksApi:
        from azure.mgmt.containerservice import ContainerServiceClient

        return AksApi(*clients.for_resource(ContainerServiceClient, resource_id))

    def check(self, target: IpRuleTarget, listed: Listed) -> str | None:
        profile = listed.rules.properties.api_server_access_profile
        if profile is not None and profile.enable_private_cluster:
            return (
                f"{target.where}: the cluster is private (enablePrivateCluster); its API server "
                "takes no authorized IP ranges: drop this target"
            )
        if not listed.values:
            return (
                f"{target.where}: the cluster has no authorized IP ranges, so its API server is "
                "open to every address; ipsync does not close it: add the ranges that must keep "
                "access (your own) first, then ipsync adds the published ones"
            )
        if LOAD_BALANCER_ONLY in listed.values:
            return (
                f"{target.where}: the cluster allows only its load balancer ({LOAD_BALANCER_ONLY}),"
                " which AKS takes with no other range: remove it first, or drop this target"
            )
        return None


KIND = AksKind()
