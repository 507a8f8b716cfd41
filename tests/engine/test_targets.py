"""Targets from IPSYNC_TARGETS and from NSG tags: defaults, overrides and clear errors."""

from __future__ import annotations

import pytest

from sync.errors import SettingsError, TargetError
from sync.kinds import parse_target
from sync.settings import Settings, load_settings
from sync.targets import (
    check_breadth,
    check_overrides,
    discovered_targets,
    explicit_targets,
    named_in_settings,
    tag_bound,
    target_from_tags,
)

SUB = "00000000-0000-4000-8000-000000000001"
NSG = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n1"
#: The settings of a run that discovers: the defaults, or what a test names.
DEFAULTS = load_settings()


def trusting(**settings: object) -> Settings:
    return load_settings(**settings)


def test_discovered_nsg_gets_documented_defaults() -> None:
    tags = {"ipsync": "Storage.WestEurope, AzureMonitor.WestEurope"}
    target = target_from_tags(NSG, tags, DEFAULTS)
    assert target is not None
    assert target.service_tags == ("Storage.WestEurope", "AzureMonitor.WestEurope")
    assert (target.direction, target.protocol, target.ports) == ("Outbound", "Tcp", ("443",))
    assert target.local_prefixes == ("VirtualNetwork",)
    assert target.priority_range == (200, 299)


def test_nsg_tags_override_defaults_case_insensitively() -> None:
    tags = {
        "IPSync": "AzureCloud.westeurope",
        "ipsync-Direction": "Inbound",
        "ipsync-ports": "443;1433",
        "ipsync-priority": "3000 - 3099",
        "ipsync-families": "v4",
        "ipsync-policy": "add-only",
        "ipsync-local": "10.0.0.0/24 10.0.1.0/24",
    }
    overrides = "direction,ports,priority,local"
    target = target_from_tags(NSG, tags, trusting(tag_overrides=overrides))
    assert target is not None
    assert target.direction == "Inbound"
    assert target.ports == ("443", "1433")
    assert target.priority_range == (3000, 3099)
    assert target.families == ("v4",)
    assert target.policy == "add-only"
    assert target.local_prefixes == ("10.0.0.0/24", "10.0.1.0/24")


def test_untagged_nsg_is_not_a_target() -> None:
    assert target_from_tags(NSG, {"env": "prod"}, DEFAULTS) is None


@pytest.mark.parametrize(
    ("tags", "needle"),
    [
        ({"ipsync": "Storage.X", "ipsync-priority": "lots"}, "ipsync-priority='lots'"),
        ({"ipsync": "Storage.X", "ipsync-priority": "50-60"}, "priority_range"),
        ({"ipsync": "Storage.X", "ipsync-direction": "Sideways"}, "direction"),
        ({"ipsync": " , "}, "service_tags"),
    ],
)
def test_bad_nsg_tags_name_the_nsg_and_field(tags: dict[str, str], needle: str) -> None:
    with pytest.raises(TargetError) as caught:
        target_from_tags(NSG, tags, trusting(tag_overrides="priority,direction"))
    assert NSG in str(caught.value)
    assert needle in str(caught.value)
    assert caught.value.resource == NSG


def test_explicit_target_wins_over_discovery_and_errors_stay_per_target() -> None:
    settings = load_settings(
        targets=[
            {"nsg": NSG, "service_tags": ["Storage"]},
            {"nsg": "not-an-id", "service_tags": ["Storage"]},
        ]
    )
    explicit = explicit_targets(settings)
    assert [type(t).__name__ for t in explicit] == ["NsgTarget", "TargetError"]
    assert "not-an-id" in str(explicit[1])
    assert "nsg" in str(explicit[1])
    other = NSG.replace("/n1", "/n2")
    found = discovered_targets(
        [(NSG, {"ipsync": "AzureMonitor.X"}), (other, {"ipsync": "AzureMonitor.X"})],
        settings,
        taken={NSG.lower()},
    )
    assert [getattr(t, "nsg", None) for t in found] == [other]


def test_settings_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSYNC_MAX_REMOVE_RATIO", "2")
    with pytest.raises(SettingsError, match="IPSYNC_MAX_REMOVE_RATIO"):
        load_settings()
    monkeypatch.setenv("IPSYNC_MAX_REMOVE_RATIO", "0.5")
    monkeypatch.setenv("IPSYNC_TARGETS", "[not json")
    with pytest.raises(SettingsError, match="IPSYNC_TARGETS"):
        load_settings()


def test_config_file_keys_with_or_without_prefix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "ipsync.toml"
    config.write_text('IPSYNC_CLOUD = "China"\nmax_remove_ratio = 0.1\n')
    settings = load_settings(config)
    assert settings.cloud == "China"
    assert settings.max_remove_ratio == 0.1
    assert settings.arm_base == "https://management.chinacloudapi.cn"
    config.write_text('colour = "blue"\n')
    with pytest.raises(SettingsError, match="colour"):
        load_settings(config)


def test_example_config_is_valid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The settings file the README points to loads, and each of its targets validates."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "ipsync.toml"
    settings = load_settings(example)
    targets = explicit_targets(settings)
    assert targets
    assert all(not isinstance(t, TargetError) for t in targets)
    assert {t.direction for t in targets if not isinstance(t, TargetError)} == {
        "Inbound",
        "Outbound",
    }


@pytest.mark.parametrize(
    ("text", "suffix", "needle"),
    [
        ("cloud = ", ".toml", "not valid TOML"),
        ("{not json", ".json", "line 1: not valid JSON"),
        ('["a list"]', ".json", "must hold a table/object"),
    ],
)
def test_bad_config_files_name_the_file(tmp_path, text: str, suffix: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / f"ipsync{suffix}"
    config.write_text(text)
    with pytest.raises(SettingsError, match=needle) as caught:
        load_settings(config)
    assert str(config) in str(caught.value)


def test_missing_config_file_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SettingsError, match="No such file"):
        load_settings(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"subscription_id": None}, "IPSYNC_SUBSCRIPTION_ID"),
        ({"arm_endpoint": "http://127.0.0.1:1"}, "IPSYNC_ARM_ENDPOINT"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "IPSYNC_CA_BUNDLE"),
    ],
)
def test_arm_client_settings_are_checked_before_any_request(
    overrides: dict[str, object], setting: str
) -> None:
    from sync.azure.client import make_client

    values = {"subscription_id": SUB, "credential": "emulator", **overrides}
    values["arm_endpoint"] = values.get("arm_endpoint", "https://127.0.0.1:1")
    with pytest.raises(SettingsError, match=setting):
        make_client(load_settings(**values))


def test_tags_cannot_open_an_nsg_to_the_internet() -> None:
    """The attack of a tag writer: every widening tag is refused, none is half-applied."""
    tags = {
        "ipsync": "Storage.WestEurope",
        "ipsync-extra": "0.0.0.0/0",
        "ipsync-direction": "Inbound",
        "ipsync-ports": "*",
        "ipsync-protocol": "*",
        "ipsync-local": "*",
        "ipsync-priority": "100-110",
    }
    with pytest.raises(TargetError) as caught:
        target_from_tags(NSG, tags, DEFAULTS)
    message = str(caught.value)
    for tag in ("extra", "direction", "ports", "protocol", "local", "priority"):
        assert f"ipsync-{tag}" in message
    allowed = "extra,direction,ports,protocol,local,priority"
    with pytest.raises(TargetError) as caught:
        target_from_tags(NSG, tags, trusting(tag_overrides=allowed))
    assert "ipsync-extra=0.0.0.0/0" in str(caught.value)
    assert "ipsync-ports=*" in str(caught.value)


def test_by_default_tags_may_choose_families_fit_and_add_only_only() -> None:
    tags = {"ipsync": "AzureMonitor.X", "ipsync-families": "v4", "ipsync-fit": "exact"}
    target = target_from_tags(NSG, {**tags, "ipsync-policy": "add-only"}, DEFAULTS)
    assert target is not None
    assert (target.families, target.fit, target.policy) == (("v4",), "exact", "add-only")
    with pytest.raises(TargetError, match="ipsync-policy=sync"):
        target_from_tags(NSG, {**tags, "ipsync-policy": "sync"}, DEFAULTS)
    with pytest.raises(TargetError, match="ipsync-exclude"):
        target_from_tags(NSG, {**tags, "ipsync-exclude": "10.0.0.0/24"}, DEFAULTS)


def test_unknown_tag_overrides_are_a_settings_error() -> None:
    settings = load_settings(tag_overrides="ports, prots")
    with pytest.raises(SettingsError, match="IPSYNC_TAG_OVERRIDES: unknown prots"):
        check_overrides(settings, ["nsg"])
    check_overrides(load_settings(tag_overrides="ports,priority"), ["nsg"])


def test_added_prefixes_obey_the_feeds_minimum_length() -> None:
    wide = parse_target({"nsg": NSG, "service_tags": ["A"], "extra_prefixes": ["10.0.0.0/7"]}, "t")
    with pytest.raises(TargetError, match=r"extra_prefixes: 10.0.0.0/7 is broader than /8"):
        check_breadth(wide, load_settings())
    local = parse_target({"nsg": NSG, "service_tags": ["A"], "local_prefixes": ["::/0"]}, "t")
    with pytest.raises(TargetError, match="IPSYNC_MIN_PREFIXLEN_V6"):
        check_breadth(local, load_settings())
    narrow = parse_target({"nsg": NSG, "service_tags": ["A"], "local_prefixes": ["2001::/16"]}, "t")
    check_breadth(narrow, load_settings())


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("IPSYNC_MIN_PREFIXLEN_V4", "0", "IPSYNC_MIN_PREFIXLEN_V4"),
        ("IPSYNC_SCHEDULE", "garbage", "not a 6-field NCRONTAB"),
        ("IPSYNC_SCHEDULE", "0 61 4 * * *", "minute: 61 is outside 0-59"),
        ("IPSYNC_POLL_INTERVAL_S", "inf", "IPSYNC_POLL_INTERVAL_S"),
        ("IPSYNC_TIME_BUDGET_S", "inf", "IPSYNC_TIME_BUDGET_S"),
        ("IPSYNC_TIME_BUDGET_S", "nan", "IPSYNC_TIME_BUDGET_S"),
    ],
)
def test_settings_that_would_disarm_a_guard_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=needle):
        load_settings()


def test_real_schedules_are_accepted() -> None:
    for schedule in ("0 30 4 * * *", "0 */15 * * * *", "0 0 6 * * Mon-Fri", "0 0 3 1,15 * *"):
        assert load_settings(schedule=schedule).schedule == schedule


IPG = f"/subscriptions/{SUB}/resourceGroups/rg-fw/providers/Microsoft.Network/ipGroups/g1"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s1"


def test_by_default_a_tag_selects_regional_service_tags_only() -> None:
    """``ipsync=AzureCloud`` put every Azure address of the world into an NSG."""
    for wide in ("AzureCloud", "Storage", "Storage.WestEurope,AzureMonitor"):
        with pytest.raises(TargetError, match="IPSYNC_TAG_SELECT") as caught:
            target_from_tags(NSG, {"ipsync": wide}, DEFAULTS)
        assert "ipsync=" in str(caught.value)
    regional = target_from_tags(NSG, {"ipsync": "AzureCloud.westeurope"}, DEFAULTS)
    assert regional is not None
    # the operator's patterns decide, in any case
    chosen = trusting(tag_select="storage.*, AzureMonitor")
    target = target_from_tags(NSG, {"ipsync": "Storage.WestEurope,azuremonitor"}, chosen)
    assert target is not None
    with pytest.raises(TargetError, match="IPSYNC_TAG_SELECT"):
        target_from_tags(NSG, {"ipsync": "Sql.WestEurope"}, chosen)


def test_a_tag_may_ask_for_a_cover_fit_only_where_the_settings_allow_it() -> None:
    tags = {"ipsync": "Storage.WestEurope", "ipsync-fit": "cover"}
    with pytest.raises(TargetError, match=r"ipsync-fit=cover \(IPSYNC_TAG_ALLOW_COVER is off\)"):
        target_from_tags(STORAGE, tags, DEFAULTS, "storage")
    target = target_from_tags(STORAGE, tags, trusting(tag_allow_cover=True), "storage")
    assert target is not None
    assert target.fit == "cover"


def test_an_ip_group_is_handed_over_by_the_settings_never_by_its_own_tags() -> None:
    """An IP Group's whole list becomes ipsync's: its own tags alone must not do that."""
    tags = {"ipsync": "Storage.WestEurope"}
    with pytest.raises(TargetError, match="IPSYNC_TAG_HANDOVER_RESOURCE_GROUPS") as caught:
        target_from_tags(IPG, tags, DEFAULTS, "ipgroup")
    assert "IPSYNC_TARGETS" in str(caught.value)
    elsewhere = trusting(tag_handover_resource_groups="rg")
    with pytest.raises(TargetError, match="IPSYNC_TAG_HANDOVER_RESOURCE_GROUPS"):
        target_from_tags(IPG, tags, elsewhere, "ipgroup")
    group_id = f"/subscriptions/{SUB}/resourceGroups/RG-FW"
    for allowed in ("rg-fw", group_id):
        settings = trusting(tag_handover_resource_groups=allowed)
        assert target_from_tags(IPG, tags, settings, "ipgroup") is not None
    # named in the settings, it is a target without any tag's help
    named = trusting(targets=[{"kind": "ipgroup", "resource": IPG, "service_tags": ["AzureCloud"]}])
    assert not isinstance(explicit_targets(named)[0], TargetError)
    assert discovered_targets([(IPG, tags)], named, set(), "ipgroup") == []


@pytest.mark.parametrize(
    ("tags", "kind", "needle"),
    [
        ({"ipsync-familes": "v4"}, "nsg", "unknown for nsg targets; did you mean ipsync-families?"),
        ({"ipsync-ports": "443"}, "storage", "ipsync-ports (unknown for storage targets"),
        (
            {"IPSYNC-Colour": "blue"},
            "nsg",
            "ipsync-colour (unknown for nsg targets; known: access, ",
        ),
    ],
)
def test_an_unknown_tag_suffix_is_refused_with_a_did_you_mean(
    tags: dict[str, str], kind: str, needle: str
) -> None:
    resource = NSG if kind == "nsg" else STORAGE
    with pytest.raises(TargetError) as caught:
        target_from_tags(resource, {"ipsync": "Storage.WestEurope", **tags}, DEFAULTS, kind)
    assert needle in str(caught.value)


def test_the_tags_ipsync_writes_itself_are_not_unknown_suffixes() -> None:
    tags = {"ipsync": "Storage.WestEurope", "ipsync-release": "373", "ipsync-managed": "g1"}
    settings = trusting(tag_handover_resource_groups="rg-fw")
    assert target_from_tags(IPG, tags, settings, "ipgroup") is not None
    # an IP rule list carries its release and generation in tags of ipsync's own
    marks = {"ipsync": "Storage.WestEurope", "IPSYNC-RELEASE": "373", "ipsync-generation": "4"}
    assert target_from_tags(STORAGE, marks, DEFAULTS, "storage") is not None


@pytest.mark.parametrize(
    ("ports", "every"),
    [
        ("0-65535", True),
        ("1-65535", True),
        ("0-30000, 30001-65535", True),
        ("443;1-65535", True),
        ("443,8000-9000", False),
        ("2-65535", False),
    ],
)
def test_a_tag_asking_for_every_port_counts_as_star(ports: str, every: bool) -> None:
    tags = {"ipsync": "Storage.WestEurope", "ipsync-ports": ports}
    settings = trusting(tag_overrides="ports")
    if not every:
        target = target_from_tags(NSG, tags, settings)
        assert target is not None
        return
    with pytest.raises(TargetError, match="every port, as"):
        target_from_tags(NSG, tags, settings)


def test_a_target_a_tag_selected_is_bounded_and_one_the_settings_name_is_not() -> None:
    settings = trusting(
        targets=[{"nsg": NSG, "service_tags": ["AzureCloud"]}],
        tag_max_addresses_v4=4096,
    )
    other = NSG.replace("/n1", "/n2")
    found = discovered_targets([(other, {"ipsync": "Storage.WestEurope"})], settings, set())
    (discovered,) = found
    assert not isinstance(discovered, TargetError)
    names = named_in_settings(settings)
    assert tag_bound(discovered, settings, names) == {"v4": 4096, "v6": 1 << 82}
    (named,) = explicit_targets(settings)
    assert not isinstance(named, TargetError)
    assert tag_bound(named, settings, names) is None
    assert tag_bound(named, DEFAULTS, named_in_settings(DEFAULTS)) == {"v4": 65536, "v6": 1 << 82}


def test_a_published_list_is_named_in_the_settings_never_tag_selected() -> None:
    settings = trusting(lists={"edl": {"service_tags": ["AzureCloud"]}})
    (edl,) = explicit_targets(settings)
    assert not isinstance(edl, TargetError)
    assert tag_bound(edl, settings, named_in_settings(settings)) is None


def test_a_resource_whose_explicit_target_failed_is_not_taken_by_its_tags() -> None:
    settings = trusting(targets=[{"nsg": NSG, "service_tags": ["AzureCloud"], "ports": ["x"]}])
    assert isinstance(explicit_targets(settings)[0], TargetError)
    assert discovered_targets([(NSG, {"ipsync": "Storage.WestEurope"})], settings, set()) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IPSYNC_TAG_SELECT", "Storage.* {evil}"),
        ("IPSYNC_TAG_HANDOVER_RESOURCE_GROUPS", "/subscriptions/x/resourceGroups/rg"),
        ("IPSYNC_TAG_MAX_ADDRESSES_V4", "-1"),
    ],
)
def test_tag_trust_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
