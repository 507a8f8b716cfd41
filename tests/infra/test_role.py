"""The custom role grants exactly the ARM actions the enabled kinds need.

``infra/main.bicep`` holds one table of actions per target kind (``kindActions``) and builds
the role from the kinds a deployment enables. For the NSG kind the needed actions are found
in the code: its SDK calls (``<client>.<operation group>.<operation>(...)``) are mapped to
RBAC actions by the table below, and the role for ``kinds=['nsg']`` must equal the result,
nothing missing, nothing extra. A call missing from the table fails the test, so a new ARM
call cannot slip into the app without a decision on its rights. Kinds whose code is still to
come are held to the actions listed in ``SPEC``.
"""

from __future__ import annotations

import ast
import re

import pytest

from sync.kinds import KIND_NAMES, get_kind

from . import bicep_text as bicep
from .reach import ROOT, reachable_sources

NETWORK = "Microsoft.Network"
NSG_READ = f"{NETWORK}/networkSecurityGroups/read"
RULE_READ = f"{NETWORK}/networkSecurityGroups/securityRules/read"

#: SDK operation -> RBAC actions. A PUT long-running operation ends with a GET of the rule.
NSG_ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("network_security_groups", "get"): frozenset({NSG_READ}),
    ("network_security_groups", "list"): frozenset({NSG_READ}),
    ("network_security_groups", "list_all"): frozenset({NSG_READ}),
    ("security_rules", "get"): frozenset({RULE_READ}),
    ("security_rules", "list"): frozenset({RULE_READ}),
    ("security_rules", "begin_create_or_update"): frozenset(
        {f"{NETWORK}/networkSecurityGroups/securityRules/write", RULE_READ}
    ),
    ("security_rules", "begin_delete"): frozenset(
        {f"{NETWORK}/networkSecurityGroups/securityRules/delete"}
    ),
    ("service_tags", "list"): frozenset({f"{NETWORK}/locations/serviceTags/read"}),
}
IP_GROUP_READ = f"{NETWORK}/ipGroups/read"
#: The IP Group kind's calls; its long-running PUT also ends with a GET of the group.
IP_GROUP_ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("ip_groups", "list_by_resource_group"): frozenset({IP_GROUP_READ}),
    ("ip_groups", "begin_create_or_update"): frozenset(
        {f"{NETWORK}/ipGroups/write", IP_GROUP_READ}
    ),
}
ACTIONS = {**NSG_ACTIONS, **IP_GROUP_ACTIONS}

#: Polling a long-running operation: Azure-AsyncOperation and Location URLs.
LRO_STATUS = frozenset(
    {f"{NETWORK}/locations/operations/read", f"{NETWORK}/locations/operationResults/read"}
)


def _operation_groups() -> frozenset[str]:
    """Attribute names of NetworkManagementClient's operation groups, e.g. ``security_rules``."""
    from azure.mgmt.network import operations

    return frozenset(
        re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Operations")).lower()
        for name in operations.__all__
        if name.endswith("Operations") and name != "Operations"
    )


GROUPS = _operation_groups()


def arm_calls(source: str) -> set[tuple[str, str]]:
    """``(group, operation)`` of every ``<anything>.<group>.<operation>(...)`` call."""
    calls: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr in GROUPS
        ):
            calls.add((node.func.value.attr, node.func.attr))
    return calls


def required_actions(calls: set[tuple[str, str]]) -> set[str]:
    """The RBAC actions ``calls`` need; raises naming any call the table does not know."""
    unknown = sorted(f"{group}.{op}" for group, op in calls if (group, op) not in ACTIONS)
    if unknown:
        raise LookupError(f"ARM calls without a known RBAC action, add them to ACTIONS: {unknown}")
    actions = set().union(*(ACTIONS[call] for call in calls))
    if any(op.startswith("begin_") for _, op in calls):
        actions |= LRO_STATUS
    return actions


MAIN = bicep.read("main.bicep")
ROLE_FILES = {"modules/role.bicep": "subscription", "mg-role.bicep": "managementGroup"}

#: Every kind's actions as it declares them in its folder (``KIND.needs``), and discovery's:
#: Resource Graph answers only with resources the caller may read (the kinds' own reads).
SPEC: dict[str, frozenset[str]] = {
    **{k: get_kind(k).needs.actions for k in KIND_NAMES if get_kind(k).needs.actions},
    "discovery": frozenset({"Microsoft.ResourceGraph/resources/read"}),
}

#: Kinds whose writes are Microsoft.Network long-running operations (need LRO_STATUS).
NETWORK_WRITERS = frozenset(
    k for k in KIND_NAMES if "networkOperationStatus" in get_kind(k).needs.shared
)


def kind_table() -> dict[str, list[str]]:
    """``kindActions`` of main.bicep: kind -> its actions, in template order."""
    table = bicep.literal_after(MAIN, "var kindActions =")
    return {
        kind: bicep.strings(bicep.literal_after(table, f"\n  {kind}:"))
        for kind in bicep.object_entries(table)
    }


def network_status() -> list[str]:
    return bicep.strings(bicep.literal_after(MAIN, "var networkOperationStatus ="))


def role_for(kinds: list[str]) -> list[str]:
    """What main.bicep's ``roleActions`` evaluates to for ``kinds`` (its expressions are
    pinned by test_role_actions_are_composed_from_the_table)."""
    table = kind_table()
    actions = [action for kind in kinds for action in table[kind]]
    if NETWORK_WRITERS & set(kinds):
        actions += network_status()
    return list(dict.fromkeys(actions))  # union() keeps each value once


FIXTURE = """
def apply(client, rg, nsg, rule):
    current = client.network_security_groups.get(rg, nsg)
    self._client.security_rules.begin_create_or_update(
        rg, nsg, rule.name, rule
    ).result()
    tags = client.service_tags.list("westeurope")
    other.headers.get("ETag")
"""


def test_scan_finds_sdk_calls_in_a_fixture() -> None:
    calls = arm_calls(FIXTURE)
    assert calls == {
        ("network_security_groups", "get"),
        ("security_rules", "begin_create_or_update"),
        ("service_tags", "list"),
    }
    assert required_actions(calls) == {
        NSG_READ,
        RULE_READ,
        f"{NETWORK}/networkSecurityGroups/securityRules/write",
        f"{NETWORK}/locations/serviceTags/read",
        *LRO_STATUS,
    }


def test_reads_alone_need_no_operation_status() -> None:
    assert required_actions({("network_security_groups", "list_all")}) == {NSG_READ}


def test_a_call_missing_from_the_table_fails() -> None:
    calls = arm_calls("client.network_security_groups.begin_create_or_update(rg, n, nsg)\n")
    with pytest.raises(LookupError, match=r"network_security_groups\.begin_create_or_update"):
        required_actions(calls)


def test_table_names_real_sdk_operations() -> None:
    from azure.mgmt.network import operations

    for group, op in ACTIONS:
        cls = getattr(operations, "".join(p.title() for p in group.split("_")) + "Operations")
        assert callable(getattr(cls, op, None)), f"{group}.{op} is not an SDK operation"


KINDS_DIR = ROOT / "sync" / "kinds"


def calls_of(kind: str) -> set[tuple[str, str]]:
    """The SDK calls ``kind`` makes: those of its folder and of the kind-neutral modules."""
    calls: set[tuple[str, str]] = set()
    for path in reachable_sources():
        folder = path.relative_to(KINDS_DIR).parts[0] if path.is_relative_to(KINDS_DIR) else None
        if folder in (None, kind) or folder.endswith(".py"):
            calls |= arm_calls(path.read_text(encoding="utf-8"))
    return calls


@pytest.mark.parametrize("kind", ["nsg", "ipgroup"])
def test_role_equals_what_the_code_calls(kind: str) -> None:
    calls = calls_of(kind)
    if not calls:
        pytest.fail(f"no ARM call found in the deployed code: is the {kind} kind missing?")
    granted = role_for([kind])
    expected = required_actions(calls)
    if kind != "nsg":  # the kind-neutral service tag read is the NSG kind's to grant
        expected -= NSG_ACTIONS[("service_tags", "list")]
    assert sorted(granted) == sorted(expected)


def test_default_kinds_cover_what_the_code_calls_for_discovery() -> None:
    """Tag discovery queries Azure Resource Graph, so the default role must allow it."""
    sources = "".join(path.read_text(encoding="utf-8") for path in reachable_sources())
    assert "azure.mgmt.resourcegraph" in sources
    assert bicep.params(MAIN)["kinds"] == "['nsg', 'discovery']"


def test_nsg_only_keeps_the_seven_actions() -> None:
    assert sorted(role_for(["nsg"])) == sorted(
        [
            NSG_READ,
            RULE_READ,
            f"{NETWORK}/networkSecurityGroups/securityRules/write",
            f"{NETWORK}/networkSecurityGroups/securityRules/delete",
            f"{NETWORK}/locations/serviceTags/read",
            *LRO_STATUS,
        ]
    )


def test_each_kind_adds_exactly_its_actions() -> None:
    table = kind_table()
    assert sorted(table) == sorted(SPEC)
    assert sorted(network_status()) == sorted(LRO_STATUS)
    for kind, actions in table.items():
        assert len(actions) == len(set(actions)), f"duplicate actions in {kind}"
        assert set(actions) == SPEC[kind], kind
        others = [k for k in table if k != kind and k not in NETWORK_WRITERS]
        added = set(role_for([*others, kind])) - set(role_for(others))
        status = LRO_STATUS if kind in NETWORK_WRITERS else frozenset()
        assert added == SPEC[kind] | status, kind
    everything = [a for actions in table.values() for a in actions] + network_status()
    assert len(everything) == len(set(everything)), "an action listed under two kinds"
    assert not any("*" in action for action in everything)


def test_ipgroup_alone_gets_the_operation_status_reads() -> None:
    assert set(role_for(["ipgroup"])) == SPEC["ipgroup"] | LRO_STATUS
    assert set(role_for(["storage", "sql"])) == SPEC["storage"] | SPEC["sql"]


def test_unknown_kinds_are_rejected() -> None:
    allowed = bicep.strings(bicep.literal_after(bicep.decorators(MAIN, "kinds"), "@allowed("))
    assert sorted(allowed) == sorted(kind_table())


def test_role_actions_are_composed_from_the_table() -> None:
    # role_for() models these three lines; a change here must change the model with it.
    assert "var kindActionLists = [for kind in kinds: kindActions[kind]]" in MAIN
    assert "var usesNetworkWrites = !empty(intersection(kinds, networkWriters))" in MAIN
    assert sorted(bicep.strings(bicep.literal_after(MAIN, "var networkWriters ="))) == sorted(
        NETWORK_WRITERS
    )
    assert (
        "var roleActions = union(flatten(kindActionLists), "
        "usesNetworkWrites ? networkOperationStatus : [])"
    ) in MAIN
    role_module = bicep.literal_after(MAIN, "module role 'modules/role.bicep'")
    assert bicep.object_entries(bicep.literal_after(role_module, "params:"))["actions"] == (
        "atGroups ? groupActions : roleActions"
    )
    assert "output roleActions array = roleActions" in MAIN  # what mg-role.bicep is given


#: What the resourceGroups scope grants at the subscription: no one's resource is named.
SUBSCRIPTION_WIDE = LRO_STATUS | {
    f"{NETWORK}/locations/serviceTags/read",
    "Microsoft.ResourceGraph/resources/read",
    "Microsoft.App/locations/containerAppOperationStatuses/read",
    "Microsoft.App/locations/containerAppOperationResults/read",
}


def split_for_groups(kinds: list[str]) -> tuple[list[str], list[str]]:
    """main.bicep's ``groupActions`` and ``statusActions`` for ``kinds`` (its two filter()
    lines are pinned below)."""
    actions = role_for(kinds)
    return (
        [a for a in actions if a not in SUBSCRIPTION_WIDE],
        [a for a in actions if a in SUBSCRIPTION_WIDE],
    )


def test_at_resource_groups_the_actions_on_resources_stay_in_the_groups() -> None:
    assert "var subscriptionWideActions = union(networkOperationStatus, [" in MAIN
    wide = bicep.literal_after(MAIN, "var subscriptionWideActions =")
    assert set(bicep.strings(wide)) | LRO_STATUS == SUBSCRIPTION_WIDE
    assert (
        "var groupActions = filter(roleActions, action => "
        "!contains(subscriptionWideActions, action))"
    ) in MAIN
    assert (
        "var statusActions = filter(roleActions, action => "
        "contains(subscriptionWideActions, action))"
    ) in MAIN
    every = list(kind_table())
    for kinds in (["nsg", "discovery"], ["storage", "keyvault"], every, ["ipgroup"]):
        groups, status = split_for_groups(kinds)
        assert sorted(groups + status) == sorted(role_for(kinds))
        # What the groups get names a resource type; what the subscription gets, none.
        assert not [a for a in groups if "/locations/" in a or "ResourceGraph" in a]
        assert all("/locations/" in a or "ResourceGraph" in a for a in status)
    assert split_for_groups(["storage", "keyvault"])[1] == []  # then no second role at all


def test_at_resource_groups_the_role_is_assignable_and_assigned_there_only() -> None:
    role_module = bicep.literal_after(MAIN, "module role 'modules/role.bicep'")
    params = bicep.object_entries(bicep.literal_after(role_module, "params:"))
    assert params["assignableScopes"] == "atGroups ? roleResourceGroupIds : [subscription().id]"
    assert params["assignHere"] == "!atGroups"
    assert "var atGroups = roleScope == 'resourceGroups'" in MAIN
    loop = bicep.literal_after(MAIN, "module roleAtGroups 'modules/role-assignment.bicep'")
    assert (
        "module roleAtGroups 'modules/role-assignment.bicep' = [for (groupId, index) in "
        "(atGroups ? roleResourceGroupIds : []): {"
    ) in MAIN
    entries = bicep.object_entries(loop[1:])
    assert entries["scope"] == "resourceGroup(split(groupId, '/')[2], split(groupId, '/')[4])"
    assert bicep.object_entries(bicep.literal_after(loop[1:], "params:")) == {
        "principalId": "functionApp.outputs.principalId",
        "roleDefinitionId": "role.outputs.roleDefinitionId",
    }
    assigned = bicep.read("modules/role-assignment.bicep")
    assert "targetScope = 'resourceGroup'" in assigned
    assignment = bicep.object_entries(bicep.literal_after(assigned, "resource assignment"))
    assert assignment["name"] == "guid(resourceGroup().id, principalId, roleDefinitionId)"
    properties = bicep.object_entries(
        bicep.literal_after(bicep.literal_after(assigned, "resource assignment"), "properties:")
    )
    assert properties["roleDefinitionId"] == "roleDefinitionId"
    assert properties["principalType"] == "'ServicePrincipal'"
    status = bicep.literal_after(MAIN, "module statusRole 'modules/role.bicep'")
    assert "module statusRole 'modules/role.bicep' = if (atGroups && !empty(statusActions)) {" in (
        MAIN
    )
    status_params = bicep.object_entries(bicep.literal_after(status, "params:"))
    assert (status_params["actions"], status_params["purpose"]) == (
        "statusActions",
        "'operation status'",
    )
    assert "assignableScopes" not in status_params  # the subscription, as by default
    groups = bicep.decorators(MAIN, "roleResourceGroupIds")
    assert "resourceGroups/<name>" in groups


def test_role_scope_is_a_choice() -> None:
    allowed = bicep.strings(bicep.literal_after(bicep.decorators(MAIN, "roleScope"), "@allowed("))
    assert sorted(allowed) == ["managementGroup", "resourceGroups", "subscription"]
    assert bicep.params(MAIN)["roleScope"] == "'subscription'"
    # At management-group scope the subscription role is not created (mg-role.bicep is).
    assert "module role 'modules/role.bicep' = if (roleScope != 'managementGroup') {" in MAIN


@pytest.mark.parametrize(("path", "scope"), sorted(ROLE_FILES.items()))
def test_role_is_scoped_and_named_uniquely(path: str, scope: str) -> None:
    role = bicep.read(path)
    scope_id = {"subscription": "subscription().id", "managementGroup": "managementGroup().id"}
    assert f"targetScope = '{scope}'" in role
    properties = bicep.object_entries(bicep.literal_after(role, "properties: {"))
    if scope == "subscription":  # the subscription by default, or the groups main.bicep names
        assert properties["assignableScopes"] == "assignableScopes"
        assert bicep.params(role)["assignableScopes"] == f"[{scope_id[scope]}]"
        # The allow-list role keeps the id it always had: a redeployment updates it in place.
        assert bicep.params(role)["purpose"] == "'allow-list sync'"
        assert "purpose == 'allow-list sync' ? 'ipsync-nsg-rule-sync' :" in role
    else:
        assert bicep.literal_after(role, "assignableScopes:").split() == ["[", scope_id[scope], "]"]
    name = properties["roleName"]
    unique = {
        "subscription": "subscription().subscriptionId",
        "managementGroup": "managementGroup().name",
    }
    assert "${" + unique[scope] + "}" in name  # role names are unique per tenant
    permission = bicep.literal_after(bicep.literal_after(role, "permissions: [")[1:], "{")
    entries = bicep.object_entries(permission)
    assert entries == {
        "actions": "actions",
        "notActions": "[]",
        "dataActions": "[]",
        "notDataActions": "[]",
    }
    required = {name for name, default in bicep.params(role).items() if default is None}
    assert required == {"principalId", "actions"}


def test_every_action_is_documented() -> None:
    guide = (bicep.INFRA.parent / "docs" / "operators-guide.md").read_text(encoding="utf-8")
    table = kind_table()
    for action in [a for actions in table.values() for a in actions] + network_status():
        assert f"`{action}`" in guide, f"{action} is not explained in docs/operators-guide.md"
