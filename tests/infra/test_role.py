"""The custom role grants exactly the ARM actions the deployed code's SDK calls need.

The calls are found in the code (``<client>.<operation group>.<operation>(...)``), each is
mapped to its RBAC actions by the table below, and the role in ``infra/modules/nsg-role.bicep``
must equal the result: nothing missing, nothing extra. A call missing from the table fails
the test, so a new kind of ARM call cannot slip into the app without a decision on its rights.
"""

from __future__ import annotations

import ast
import re

import pytest

from . import bicep_text as bicep
from .reach import reachable_sources

NETWORK = "Microsoft.Network"
NSG_READ = f"{NETWORK}/networkSecurityGroups/read"
RULE_READ = f"{NETWORK}/networkSecurityGroups/securityRules/read"

#: SDK operation -> RBAC actions. A PUT long-running operation ends with a GET of the rule.
ACTIONS: dict[tuple[str, str], frozenset[str]] = {
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

#: Polling a long-running operation: Azure-AsyncOperation and Location URLs (azure-facts §4).
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


def role_actions() -> list[str]:
    role = bicep.read("modules/nsg-role.bicep")
    assert len(re.findall(r"(?<![A-Za-z])actions:", role)) == 1
    return bicep.strings(bicep.literal_after(role, "actions:"))


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


def test_role_actions_equal_what_the_code_calls() -> None:
    calls: set[tuple[str, str]] = set()
    for path in reachable_sources():
        calls |= arm_calls(path.read_text(encoding="utf-8"))
    if not calls:
        pytest.fail("no ARM call found in the deployed code: is the NSG engine missing?")
    granted = role_actions()
    assert len(granted) == len(set(granted)), "duplicate actions in the role"
    assert sorted(set(granted)) == sorted(required_actions(calls))


def test_role_is_scoped_and_named_per_subscription() -> None:
    role = bicep.read("modules/nsg-role.bicep")
    assert "targetScope = 'subscription'" in role
    assert bicep.literal_after(role, "assignableScopes:").split() == ["[", "subscription().id", "]"]
    name = bicep.object_entries(bicep.literal_after(role, "properties: {"))["roleName"]
    assert "${subscription().subscriptionId}" in name  # role names are unique per tenant
    permission = bicep.literal_after(bicep.literal_after(role, "permissions: [")[1:], "{")
    entries = bicep.object_entries(permission)
    assert sorted(entries) == ["actions", "dataActions", "notActions", "notDataActions"]
    assert [entries[k] for k in ("dataActions", "notActions", "notDataActions")] == ["[]"] * 3
    assert not any("*" in action for action in role_actions())
