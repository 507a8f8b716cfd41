"""Azure AI services / Azure OpenAI firewall: ``properties.networkAcls.ipRules`` (PATCH the
account).

A rule is a public IPv4 address or CIDR (the service documents IPv4 only and refuses private
ranges). At most 100 IP rules per account (documented; virtual network rules have 100 of
their own). Whether ``/31`` and ``/32`` CIDRs are refused is not documented; an SDK issue
reports them refused, so rules are written as Storage's are: a single address without a mask,
a ``/31`` as its two addresses. The PATCH is long-running (``Azure-AsyncOperation``);
``defaultAction``, ``bypass``, virtual network rules and the rest of the account are sent back
as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sync.azure.writes import raw
from sync.kinds.base import Needs, TargetSpec
from sync.kinds.iprules import IpRuleKind, IpRuleTarget, Listed, ResourceApi, rules_copy

if TYPE_CHECKING:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    from sync.azure.client import Clients


class CognitiveTarget(IpRuleTarget):
    kind: Literal["cognitive"] = "cognitive"
    provider_type: ClassVar[str] = "Microsoft.CognitiveServices/accounts"
    noun: ClassVar[str] = "Azure AI services account"


class CognitiveApi(ResourceApi):
    client: CognitiveServicesManagementClient

    def get(self) -> Listed:
        account = self.client.accounts.get(self._rg, self._name)
        rules = account.properties.network_acls if account.properties else None
        values = tuple(r.value or "" for r in (rules.ip_rules if rules else None) or [])
        return Listed(values, rules, tags=dict(account.tags or {}))

    def put(self, listed: Listed, values: Sequence[str], headers: dict[str, str]) -> Any:
        from azure.mgmt.cognitiveservices import models

        rules = rules_copy(listed.rules, lambda: models.NetworkRuleSet(default_action="Allow"))
        rules.ip_rules = [models.IpRule(value=v) for v in values]
        update = models.Account(
            properties=models.AccountProperties(network_acls=rules),
            tags=listed.tags,  # ipsync's marks set, the owner's tags as read
        )
        return self.client.accounts.begin_update(
            self._rg, self._name, update, headers=headers, polling=False, cls=raw
        ).result()


class CognitiveKind(IpRuleKind):
    name: ClassVar[str] = "cognitive"
    arm_type: ClassVar[str] = "microsoft.cognitiveservices/accounts"
    target: ClassVar[type[TargetSpec]] = CognitiveTarget
    limit: ClassVar[int] = 100
    field: ClassVar[str] = "networkAcls.ipRules"
    forbidden_lengths: ClassVar[frozenset[int]] = frozenset({31})
    needs: ClassVar[Needs] = Needs(
        docs="kinds/cognitive.md",
        actions=frozenset(
            {
                "Microsoft.CognitiveServices/accounts/read",
                "Microsoft.CognitiveServices/accounts/write",
            }
        ),
        sdk="azure-mgmt-cognitiveservices",
        emulated=("Microsoft.CognitiveServices/accounts",),
    )

    def api(self, clients: Clients, resource_id: str) -> CognitiveApi:
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        return CognitiveApi(*clients.for_resource(CognitiveServicesManagementClient, resource_id))


KIND = CognitiveKind()
