"""App Service as azure-mgmt-web sees it: sites and slots, the access restrictions of config/web
(main and SCM, multi-source rules, service tags, VNet and header rules), the default rule a GET
shows, App Service's error shape, limits and history."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.web import WebSiteManagementClient

from armemu import Emulator

from .helpers import SUB, Recorder, ranges, raw, sdk_client

RG = "testrg123"
AUTH = {"Authorization": "Bearer t"}
SITE_PATH = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/sites/sitef6141"
Q = "?api-version=2026-09-01"
SUBNET = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet"
    "/subnets/apps"
)
ALLOW_ALL = {
    "ipAddress": "Any",
    "action": "Allow",
    "priority": 2147483647,
    "name": "Allow all",
    "description": "Allow all access",
}


def ip(name: str, address: str, priority: int = 100, action: str = "Allow", **more: Any) -> Any:
    return {"name": name, "ipAddress": address, "action": action, "priority": priority, **more}


@pytest.fixture
def apps(emulator: Emulator) -> Any:
    client = sdk_client(WebSiteManagementClient, emulator).web_apps
    # CreateOrUpdateWebApp.json (2025-03-01): kind, location, serverFarmId
    farm = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/serverfarms/plan"
    body = {"kind": "functionapp", "location": "East US", "tags": {"ipsync": "AzureCloud"},
            "properties": {"serverFarmId": farm}}  # fmt: skip
    client.begin_create_or_update(RG, "sitef6141", body).result()
    return client


def config(apps: Any, **lists: Any) -> Any:
    """PUT config/web with these properties; the raw answer."""
    hook = Recorder()
    apps.create_or_update_configuration(
        RG, "sitef6141", {"properties": lists}, raw_response_hook=hook
    )
    return hook.seen[-1]


def test_site_create_is_200_shaped_like_the_example(emulator: Emulator, apps: Any) -> None:
    hook = Recorder()
    site = apps.get(RG, "sitef6141", raw_response_hook=hook)
    body = hook.seen[0].body
    # CreateOrUpdateWebApp.json's answer: a site with host names, SSL states and siteConfig
    assert (body["type"], body["kind"], body["location"]) == (
        "Microsoft.Web/sites",
        "functionapp",
        "East US",
    )
    assert set(body["properties"]) >= {
        "state", "hostNames", "repositorySiteName", "usageState", "enabled", "enabledHostNames",
        "availabilityState", "hostNameSslStates", "serverFarmId", "siteConfig", "resourceGroup",
        "defaultHostName", "httpsOnly",
    }  # fmt: skip
    assert site.default_host_name == "sitef6141.azurewebsites.net"
    assert site.enabled_host_names == [
        "sitef6141.azurewebsites.net",
        "sitef6141.scm.azurewebsites.net",
    ]
    assert "etag" not in body
    hook = Recorder()
    apps.begin_create_or_update(
        RG, "second", {"location": "East US", "properties": {}}, raw_response_hook=hook
    ).result()
    assert hook.seen[0].status == 200  # the SDK takes 200 and 202 for a create, not 201
    assert apps.get(RG, "second").kind == "app"
    assert [s.name for s in apps.list_by_resource_group(RG)] == ["sitef6141", "second"]


def test_config_get_shows_the_default_rule(apps: Any) -> None:
    hook = Recorder()
    got = apps.get_configuration(RG, "sitef6141", raw_response_hook=hook)
    body = hook.seen[0].body
    # GetSiteConfig.json: id .../config/web, name web, type Microsoft.Web/sites/config, kind
    assert (body["id"], body["name"], body["type"], body["kind"]) == (
        SITE_PATH + "/config/web",
        "web",
        "Microsoft.Web/sites/config",
        "functionapp",
    )
    assert set(body["properties"]) >= {"numberOfWorkers", "defaultDocuments", "minTlsVersion"}
    props = body["properties"]
    assert props["ipSecurityRestrictions"] == [ALLOW_ALL]
    assert props["scmIpSecurityRestrictions"] == [ALLOW_ALL]
    assert props["scmIpSecurityRestrictionsUseMain"] is False
    assert got.ip_security_restrictions_default_action is None


def test_config_put_takes_every_kind_of_rule(emulator: Emulator, apps: Any) -> None:
    rules = [
        ip("multi", "20.1.2.0/24,20.1.3.0/24,2001:db8::/48", 100),
        ip("fd", "AzureFrontDoor.Backend", 110, tag="ServiceTag",
           headers={"X-Azure-FDID": ["0a1b2c3d-0000-4000-8000-000000000000"]}),
        {"name": "vnet", "vnetSubnetResourceId": SUBNET, "action": "Allow", "priority": 120,
         "vnetTrafficTag": 7, "subnetTrafficTag": 3},
        ip("proxy", "20.1.4.0/24", 130, tag="XffProxy"),
        ip("mask", "20.1.5.0", 140, subnetMask="255.255.255.0"),
        ip("block", "20.1.6.0/24", 90, action="Deny"),
    ]  # fmt: skip
    seen = config(apps, ipSecurityRestrictions=rules, ipSecurityRestrictionsDefaultAction="Deny")
    # UpdateSiteConfig.json: 200 at once, no etag, no long-running headers
    assert seen.status == 200
    assert not {"etag", "azure-asyncoperation", "location"} & set(seen.headers)
    shown = seen.body["properties"]["ipSecurityRestrictions"]
    assert [r.get("tag") for r in shown] == [
        "Default", "ServiceTag", "Default", "XffProxy", "Default", "Default", None,
    ]  # fmt: skip
    assert shown[2]["vnetSubnetResourceId"] == SUBNET
    assert (shown[2]["vnetTrafficTag"], shown[2]["subnetTrafficTag"]) == (7, 3)
    assert shown[-1] == {**ALLOW_ALL, "action": "Deny", "name": "Deny all",
                         "description": "Deny all access"}  # fmt: skip
    assert emulator.history()[SITE_PATH][-1] == {
        "main": ["20.1.2.0/24", "20.1.3.0/24", "2001:db8::/48", "AzureFrontDoor.Backend",
                 SUBNET, "20.1.4.0/24", "20.1.5.0/24"],
        "scm": ["Any"],
    }  # fmt: skip
    # what GET answers goes back as it is: the default rule is dropped, not doubled
    again = apps.get_configuration(RG, "sitef6141")
    apps.create_or_update_configuration(RG, "sitef6141", again)
    assert emulator.history()[SITE_PATH][-1] == emulator.history()[SITE_PATH][-2]


def test_an_unset_default_denies_once_rules_exist(emulator: Emulator, apps: Any) -> None:
    seen = config(apps, scmIpSecurityRestrictions=[ip("a", "20.1.2.0/24")])
    props = seen.body["properties"]
    assert props["scmIpSecurityRestrictions"][-1]["name"] == "Deny all"
    assert props["ipSecurityRestrictions"] == [ALLOW_ALL]
    assert props["scmIpSecurityRestrictionsDefaultAction"] is None
    assert emulator.history()[SITE_PATH][-1] == {"main": ["Any"], "scm": ["20.1.2.0/24"]}


def test_patch_replaces_one_list_and_keeps_the_rest(emulator: Emulator, apps: Any) -> None:
    config(apps, ipSecurityRestrictions=[ip("a", "20.1.2.0/24")],
           scmIpSecurityRestrictions=[ip("s", "20.1.9.0/24")], minTlsVersion="1.3")  # fmt: skip
    hook = Recorder()
    patched = apps.update_configuration(
        RG, "sitef6141", {"properties": {"ipSecurityRestrictions": [ip("b", "20.1.3.0/24")]}},
        raw_response_hook=hook,
    )  # fmt: skip
    assert hook.seen[0].status == 200
    assert [r.name for r in patched.ip_security_restrictions] == ["b", "Deny all"]
    assert [r.name for r in patched.scm_ip_security_restrictions] == ["s", "Deny all"]
    assert patched.min_tls_version == "1.3"
    # a PUT replaces the config: what it does not send returns to its default
    replaced = apps.create_or_update_configuration(
        RG, "sitef6141", {"properties": {"ipSecurityRestrictions": [ip("c", "20.1.4.0/24")]}}
    )
    assert [r.name for r in replaced.scm_ip_security_restrictions] == ["Allow all"]
    assert replaced.min_tls_version == "1.2"


def test_scm_use_main_makes_scm_follow_main(emulator: Emulator, apps: Any) -> None:
    config(apps, ipSecurityRestrictions=[ip("a", "20.1.2.0/24")],
           scmIpSecurityRestrictions=[ip("s", "20.1.9.0/24")],
           scmIpSecurityRestrictionsUseMain=True)  # fmt: skip
    assert emulator.history()[SITE_PATH][-1] == {"main": ["20.1.2.0/24"], "scm": ["20.1.2.0/24"]}


def test_limits_are_512_rules_and_8_ranges(emulator: Emulator, apps: Any) -> None:
    eight = ",".join(ranges(8))
    rules = [ip(f"r{i}", eight, 100 + i) for i in range(512)]
    seen = config(apps, ipSecurityRestrictions=rules, scmIpSecurityRestrictions=rules)
    assert len(seen.body["properties"]["ipSecurityRestrictions"]) == 513  # and the default
    assert len(emulator.history()[SITE_PATH][-1]["main"]) == 512 * 8


@pytest.mark.parametrize(
    ("rules", "subject", "fragment"),
    [
        ([ip("a", ",".join(ranges(9)))], "IpSecurityRestriction.IpAddress", "at most 8"),
        ([ip(f"r{i}", "20.1.2.0/24", i) for i in range(513)], "ipSecurityRestrictions",
         "513 rules exceed the limit of 512"),
        ([ip("a", "123.123.123.123")], "IpSecurityRestriction.IpAddress",
         "'123.123.123.123' is an invalid CIDR!"),
        ([ip("a", "20.1.2.0/24", vnetSubnetResourceId=SUBNET)], "IpSecurityRestriction",
         "Only IpAddress or VnetSubnetResourceId property must be specified."),
        ([{"name": "a", "action": "Allow", "priority": 1}], "IpSecurityRestriction",
         "Only IpAddress"),
        ([ip("a", "20.1.2.0/24", tag="Proxy")], "IpSecurityRestriction.Tag", "Proxy"),
        ([ip("a", "20.1.2.0/24", action="Maybe")], "IpSecurityRestriction.Action", "Maybe"),
        ([ip("a", "Azure Cloud", tag="ServiceTag")], "IpSecurityRestriction.IpAddress",
         "service tag"),
        ([ip("a", "20.1.2.0/24", headers={"X-Client": ["a"]})], "IpSecurityRestriction.Headers",
         "X-Client"),
        ([ip("a", "20.1.2.0/24", headers={"X-Forwarded-Host": list("abcdefghi")})],
         "IpSecurityRestriction.Headers", "at most 8 values"),
        ([ip("a", "20.1.2.0/24", vnetTrafficTag="x")], "IpSecurityRestriction.vnetTrafficTag",
         "not an integer"),
    ],
    ids=["9-ranges", "513-rules", "bare-address", "both", "neither", "tag", "action",
         "service-tag", "header-name", "header-values", "traffic-tag"],
)  # fmt: skip
def test_refuses(
    emulator: Emulator, apps: Any, rules: list[Any], subject: str, fragment: str
) -> None:
    seen = Recorder()
    with pytest.raises(HttpResponseError) as info:
        apps.create_or_update_configuration(
            RG, "sitef6141", {"properties": {"ipSecurityRestrictions": rules}},
            raw_response_hook=seen,
        )  # fmt: skip
    assert (info.value.status_code, info.value.error.code) == (400, "BadRequest")
    assert info.value.error.message.startswith(f"{subject} is invalid.  ")
    assert fragment in info.value.error.message
    error = seen.seen[0].body["error"]
    # App Service's shape: the message again, the code, and the error entity
    assert error["details"][:2] == [{"message": error["message"]}, {"code": "BadRequest"}]
    entity = error["details"][2]["errorentity"]
    assert (entity["extendedCode"], entity["messageTemplate"]) == ("51021", "{0} is invalid.  {1}")
    assert entity["parameters"][0] == subject
    after = apps.get_configuration(RG, "sitef6141").ip_security_restrictions
    assert [r.name for r in after] == ["Allow all"]
    assert len(emulator.history()[SITE_PATH]) == 1  # the create only


def test_slots_have_their_own_config(emulator: Emulator, apps: Any) -> None:
    hook = Recorder()
    slot = apps.begin_create_or_update_slot(
        RG, "sitef6141", "staging", {"location": "East US", "properties": {}},
        raw_response_hook=hook,
    ).result()  # fmt: skip
    # CreateOrUpdateWebAppSlot.json (2026-09-01): name site/slot, type Microsoft.Web/sites/slots
    assert hook.seen[0].status == 200
    assert (slot.name, slot.type) == ("sitef6141/staging", "Microsoft.Web/sites/slots")
    assert slot.id == SITE_PATH + "/slots/staging"
    assert slot.default_host_name == "sitef6141-staging.azurewebsites.net"
    hook = Recorder()
    apps.update_configuration_slot(
        RG, "sitef6141", "staging",
        {"properties": {"ipSecurityRestrictions": [ip("a", "20.1.2.0/24")],
                        "scmIpSecurityRestrictionsUseMain": True}},
        raw_response_hook=hook,
    )  # fmt: skip
    body = hook.seen[0].body
    assert (body["id"], body["type"]) == (
        SITE_PATH + "/slots/staging/config/web",
        "Microsoft.Web/sites/slots/config",
    )
    assert apps.get_configuration(RG, "sitef6141").ip_security_restrictions[0].name == "Allow all"
    assert emulator.history()[slot.id][-1] == {"main": ["20.1.2.0/24"], "scm": ["20.1.2.0/24"]}
    assert [s.name for s in apps.list_slots(RG, "sitef6141")] == ["sitef6141/staging"]
    apps.delete_slot(RG, "sitef6141", "staging")
    assert list(apps.list_slots(RG, "sitef6141")) == []


def test_below_a_missing_site_is_404(emulator: Emulator, apps: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        apps.get_configuration(RG, "nosite")
    assert info.value.error.code == "NotFound"
    assert info.value.error.message == "Cannot find Web App with name nosite."
    with pytest.raises(ResourceNotFoundError):
        apps.begin_create_or_update_slot(RG, "nosite", "s", {"location": "East US"})
    code, _, body = raw(emulator, "GET", SITE_PATH + "/config/appsettings" + Q, headers=AUTH)
    assert (code, body["error"]["code"]) == (404, "NotFound")
    code, _, body = raw(emulator, "DELETE", SITE_PATH + "/config/web" + Q, headers=AUTH)
    assert (code, body["error"]["code"]) == (405, "MethodNotAllowed")


def test_site_writes_carry_site_config(emulator: Emulator, apps: Any) -> None:
    """A site PUT or PATCH with siteConfig changes the same config/web."""
    apps.update(RG, "sitef6141", {"properties": {"siteConfig": {
        "ipSecurityRestrictions": [ip("a", "20.1.2.0/24")]}}})  # fmt: skip
    assert apps.get_configuration(RG, "sitef6141").ip_security_restrictions[0].name == "a"
    site = apps.get(RG, "sitef6141")
    assert site.site_config.ip_security_restrictions is None  # only config/web shows them
    assert site.kind == "functionapp"


@pytest.mark.parametrize(
    ("version", "status"), [("2025-05-01", 200), ("2021-01-15", 200), ("2026-03-01-preview", 200),
                            ("2020-12-01", 400)]
)  # fmt: skip
def test_api_versions(emulator: Emulator, apps: Any, version: str, status: int) -> None:
    code, _, body = raw(emulator, "GET", f"{SITE_PATH}/config/web?api-version={version}",
                        headers=AUTH)  # fmt: skip
    assert code == status, body


def test_faults_apply_to_config_writes(emulator: Emulator, apps: Any) -> None:
    emulator.add_faults([{"method": "PUT", "path_contains": "/config/web", "status": 429,
                          "code": "TooManyRequests", "retry_after": 3}])  # fmt: skip
    with pytest.raises(HttpResponseError) as info:
        config(apps, ipSecurityRestrictions=[ip("a", "20.1.2.0/24")])
    assert info.value.status_code == 429
    config(apps, ipSecurityRestrictions=[ip("a", "20.1.2.0/24")])
    assert emulator.stats()["writes_by_resource"][SITE_PATH.lower()] == 3  # create + 2 PUTs
