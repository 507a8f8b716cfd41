"""Rule normalisation, ownership and naming."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.core.plan import normalise_prefix
from sync.kinds.naming import tags_key
from sync.kinds.nsg.rules import all_of_family, is_owned, normalised, rule_name

from ._make import make_rule, make_target

#: ARM rule names: 1..80 of letters, digits, . - _; start alphanumeric,
#: end alphanumeric or _.
VALID_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1.2.3/24", "10.1.2.0/24"),  # host bits dropped
        (" 10.1.2.0/24 ", "10.1.2.0/24"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("2001:0DB8:0000::1/48", "2001:db8::/48"),  # compression and case
        ("2001:DB8::", "2001:db8::/128"),
        ("VirtualNetwork", "VirtualNetwork"),
        ("Storage.WestEurope", "Storage.WestEurope"),
        ("*", "*"),
        ("1234", "1234"),  # odd foreign values stay as written (recording 01)
    ],
)
def test_normalise_prefix(raw: str, expected: str) -> None:
    assert normalise_prefix(raw) == expected


#: Entries as NSG rules and selections hold them: canonical CIDRs of both families, and forms
#: that normalise otherwise (host bits, padding, case, a bare address), tags, blanks.
ENTRIES = st.sampled_from(
    [
        "20.1.2.0/24", "20.1.2.3/24", " 20.1.2.0/24", "20.1.2.9", "20.1.2.9/32", "52.0.0.0/8",
        "2603:1000::/25", "2603:1000::/24", "2603:1000:0::/25", "2603:1000::1", "2603:1000::1/128",
        "VirtualNetwork", "*", "", "   ", "1234",
    ]
)  # fmt: skip


@given(st.lists(st.lists(ENTRIES, max_size=6), max_size=4))
def test_entries_normalised_in_bulk_as_one_by_one(rules: list[list[str]]) -> None:
    """Every read and plan of a rule's entries, again and again (the second time from the
    texts already known canonical): the same set as normalising each, blank ones dropped."""
    for values in [*rules, *rules]:
        expected = frozenset(normalise_prefix(v) for v in values if v.strip())
        assert normalised(values) == expected
        for family in ("v4", "v6"):
            of_family = all("/" in e and (":" in e) == (family == "v6") for e in expected)
            assert all_of_family(expected, family) is of_family


class TestOwnership:
    target = make_target(priority_range=(200, 299), rule_prefix="ipsync")

    def test_our_prefix_in_band_and_direction_is_owned(self) -> None:
        assert is_owned(make_rule("ipsync-storage-westeurope-v4", 250, ["1.0.0.0/8"]), self.target)

    def test_prefix_compare_ignores_case_like_arm_names(self) -> None:
        assert is_owned(make_rule("IPSYNC-storage-v4", 200, ["1.0.0.0/8"]), self.target)

    @pytest.mark.parametrize("priority", [199, 300, 4096])
    def test_our_prefix_outside_band_is_foreign(self, priority: int) -> None:
        assert not is_owned(make_rule("ipsync-storage-v4", priority, ["1.0.0.0/8"]), self.target)

    def test_other_name_inside_band_is_foreign(self) -> None:
        assert not is_owned(make_rule("allow-storage", 250, ["1.0.0.0/8"]), self.target)

    def test_other_direction_is_foreign(self) -> None:
        rule = make_rule("ipsync-storage-v4", 250, ["1.0.0.0/8"], direction="Inbound")
        assert not is_owned(rule, self.target)


class TestNames:
    def test_example_from_the_docs(self) -> None:
        assert rule_name(make_target(), "v4") == "ipsync-storage-westeurope-v4"
        assert rule_name(make_target(), "v6") == "ipsync-storage-westeurope-v6"

    def test_inbound_names_differ_from_outbound(self) -> None:
        inbound = make_target(direction="Inbound")
        assert rule_name(inbound, "v4") == "ipsync-storage-westeurope-in-v4"
        assert rule_name(inbound, "v4") != rule_name(make_target(), "v4")

    def test_tag_order_and_case_do_not_matter(self) -> None:
        one = make_target(service_tags=("Storage.WestEurope", "AzureMonitor"))
        two = make_target(service_tags=("azuremonitor", "storage.westeurope"))
        assert (
            rule_name(one, "v4")
            == rule_name(two, "v4")
            == ("ipsync-azuremonitor_storage-westeurope-v4")
        )
        assert tags_key(one.service_tags) == "azuremonitor_storage-westeurope"

    def test_custom_prefix_kept_as_written(self) -> None:
        assert rule_name(make_target(rule_prefix="Corp.sync"), "v6").startswith("Corp.sync-")

    @pytest.mark.parametrize("direction", ["Inbound", "Outbound"])
    def test_long_tag_lists_are_cut_with_a_hash_and_stay_valid(self, direction: str) -> None:
        tags = tuple(f"AzureCloud.region{i:02d}" for i in range(30))
        long_a = make_target(service_tags=tags, rule_prefix="p" * 40, direction=direction)
        long_b = make_target(service_tags=(*tags, "Sql"), rule_prefix="p" * 40, direction=direction)
        names = {rule_name(t, f) for t in (long_a, long_b) for f in ("v4", "v6")}
        assert len(names) == 4  # unique per tag list and family
        for name in names:
            assert len(name) <= 80
            assert VALID_NAME.match(name), name
            assert name.endswith(("-v4", "-v6"))
        assert rule_name(long_a, "v4") == rule_name(long_a, "v4")  # deterministic

    def test_names_of_odd_tags_are_valid(self) -> None:
        target = make_target(service_tags=("AzureCloud.centralfrance", "Sql.East US 2!"))
        name = rule_name(target, "v4")
        assert VALID_NAME.match(name)
        assert name == "ipsync-azurecloud-centralfrance_sql-east-us-2-v4"


def test_a_human_rule_sharing_the_prefix_without_the_delimiter_is_foreign() -> None:
    target = make_target(priority_range=(200, 299))
    assert not is_owned(make_rule("IPSyncBlockTor", 210, ["198.51.100.0/24"]), target)
    assert not is_owned(make_rule("ipsyncfoo-v4", 210, ["198.51.100.0/24"]), target)
    assert is_owned(make_rule("IPSYNC-storage-v4", 210, ["198.51.100.0/24"]), target)


def test_a_deny_rule_in_the_band_is_foreign_to_an_allow_target() -> None:
    target = make_target(priority_range=(200, 299))
    deny = make_rule("ipsync-storage-westeurope-v4", 210, ["198.51.100.0/24"], access="Deny")
    assert not is_owned(deny, target)
    assert is_owned(deny, make_target(priority_range=(200, 299), access="Deny"))


def test_planning_does_not_import_the_network_sdk() -> None:
    """The SDK's models cost about 0.4 s to import; only a write (rule_to_sdk) needs them."""
    code = (
        "import sys, sync.kinds.nsg, sync.kinds.nsg.rules; "
        "print('azure.mgmt.network' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
