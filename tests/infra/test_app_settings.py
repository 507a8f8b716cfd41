"""The deployment sets every app setting the Functions app and its triggers need, with values
the app's own code accepts."""

from __future__ import annotations

import ast
import json
import re

import pytest

from sync.app.app_settings import AppSettings, load_app_settings
from sync.azure.storage import blob_service
from sync.settings import Settings, load_settings

from . import bicep_text as bicep
from .reach import FUNCTION_APP, reachable_sources

MAIN = bicep.read("main.bicep")
FUNCTION_MODULE = bicep.read("modules/functionapp.bicep")
EXAMPLE = json.loads((bicep.INFRA / "main.parameters.example.json").read_text(encoding="utf-8"))
PARAM_FILE = bicep.strip_comments((bicep.INFRA / "main.bicepparam").read_text(encoding="utf-8"))

#: Values ARM only knows at deployment time, stood in by realistic examples.
DEPLOY_TIME = {
    "subscription().subscriptionId": "3f2a3b1c-0d4e-4f5a-8b6c-7d8e9f0a1b2c",
    "storage.name": "stipsyncexample0123",
    "storage.properties.primaryEndpoints.queue": "https://stipsyncexample0123.queue.core.windows.net/",
    "feedClouds[environment().name]": "Public",
    "graphEndpoints[environment().name]": "https://graph.microsoft.com",
    "appInsights.properties.ConnectionString": (
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
    ),
}

#: Settings the code reads that the deployment leaves unset on purpose.
NOT_DEPLOYED = {
    "AzureWebJobsStorage": "a connection string holds an account key; the app uses its identity",
    "AzureWebJobsStorage__blobServiceUri": "derived from __accountName (public cloud)",
    "AzureWebJobsStorage__queueServiceUri": "derived from __accountName (public cloud)",
    "AzureWebJobsStorage__clientId": "only for a user-assigned identity; ours is system-assigned",
    "XDG_CACHE_HOME": "the feed cache falls back to the temp dir on the read-only app mount",
    "WEBSITE_HOSTNAME": "set by the platform: the app's host name, for links to stored reports",
}

#: The app's own settings the deployment leaves at their code default, and why. Every other
#: field of AppSettings must be an app setting the template writes.
APP_DEFAULTS = {
    "IPSYNC_HTTP_WAIT_S": "a bound under the platform's 230 s answer limit, not a choice",
    "IPSYNC_HISTORY_KEEP": "200 reports are months of daily runs",
    "IPSYNC_LEASE_S": "the lock's lease; 60 s is Azure's longest fixed lease",
    "IPSYNC_HEALTH_MAX_AGE_H": "two days: a daily timer that missed a day is unhealthy",
    "IPSYNC_FEED_STALE_AFTER_HOURS": "ten days: a weekly release a few days late is told",
}

#: Settings with a code default that Azure still needs: no NSG work without a subscription.
NEEDED_IN_AZURE = {"IPSYNC_SUBSCRIPTION_ID"}

#: Settings deployed ahead of the code that will read them (empty values mean "off").
AHEAD_OF_CODE: dict[str, str] = {}

_BARE_NAME = re.compile(r"^[A-Za-z_]\w*$")


def _scope(overrides: dict[str, object] | None = None) -> dict[str, object]:
    """Parameter values of the example deployment (defaults where it sets none) and vars."""
    values: dict[str, object] = {}
    given = {name: entry["value"] for name, entry in EXAMPLE["parameters"].items()}
    given.update(overrides or {})
    for name, default in bicep.params(MAIN).items():
        if name in given:
            values[name] = given[name]
        elif default is not None:
            values[name] = _evaluate(default, values)
    for name, expression in re.findall(r"^var\s+(\w+)\s*=\s*(.+)$", MAIN, re.MULTILINE):
        if expression.strip() not in "{[":
            values[name] = _evaluate(expression, values)
    return values


def _evaluate(expression: str, scope: dict[str, object]) -> object:
    """The value of the small Bicep expressions our app settings use."""
    text = expression.strip()
    if text in DEPLOY_TIME:
        return DEPLOY_TIME[text]
    if (match := re.fullmatch(r"(\w+|empty\(\w+\))\s*\?\s*(.+?)\s*:\s*(.+)", text)) is not None:
        return _evaluate(match[2] if _condition(match[1], scope) else match[3], scope)
    if (match := re.fullmatch(r"readEnvironmentVariable\('\w+', ('[^']*')\)", text)) is not None:
        return _evaluate(match[1], scope)  # as deployed with the variable unset
    if re.fullmatch(r"'[^']*'", text):
        parts = [_evaluate(name, scope) for name in re.findall(r"\$\{(\w+)\}", text)]
        if any(not isinstance(p, str) or isinstance(p, _Opaque) for p in parts):
            return _Opaque(text)
        return re.sub(r"\$\{\w+\}", lambda _: str(parts.pop(0)), text[1:-1])
    if text in ("true", "false"):
        return text == "true"
    if text.isdigit():
        return int(text)
    if _BARE_NAME.match(text) and text in scope:
        return scope[text]
    # toLower(), uniqueString() and the like: fine for names, never used for settings.
    return _Opaque(text)


def _condition(expression: str, scope: dict[str, object]) -> bool:
    """A bare boolean name, or ``empty(name)`` of a string."""
    if (match := re.fullmatch(r"empty\((\w+)\)", expression)) is not None:
        value = _evaluate(match[1], scope)
        assert isinstance(value, str), expression
        assert not isinstance(value, _Opaque), expression
        return value == ""
    return bool(_evaluate(expression, scope))


class _Opaque(str):
    """An expression this reader does not evaluate; refused wherever a value matters."""


def deployed_settings(overrides: dict[str, object] | None = None) -> dict[str, str]:
    """App settings of the example deployment (with parameter ``overrides``): the settings
    given by name (``extraSettings``), then the host settings and ``ipsyncSettings``, which
    win over a name given twice."""
    assert "items(union(extraSettings, hostSettings, appSettings))" in FUNCTION_MODULE
    assert "appSettings: ipsyncSettings" in MAIN
    assert "extraSettings: extraSettings" in MAIN
    scope = _scope(overrides)
    extra = scope["extraSettings"]
    assert isinstance(extra, dict)
    raw = {
        **bicep.object_entries(bicep.literal_after(FUNCTION_MODULE, "var hostSettings =")),
        **bicep.object_entries(bicep.literal_after(MAIN, "var ipsyncSettings =")),
    }
    settings: dict[str, str] = {name: str(value) for name, value in extra.items()}
    for name, expression in raw.items():
        value = _evaluate(expression, scope)
        problem = f"app setting {name}: {expression!r} is not a string this test can evaluate"
        assert isinstance(value, str), problem
        assert not isinstance(value, _Opaque), problem
        settings[name] = value
    return settings


def _env_names_read(source: str) -> set[str]:
    """Names read from the environment: ``os.environ[...]``, ``os.getenv(...)``, ``env.get(...)``.

    Keys may be literals, module-level string constants or f-strings over such constants.
    """
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            if (node.func.attr == "get" and ("environ" in receiver or receiver == "env")) or (
                node.func.attr == "getenv" and receiver == "os"
            ):
                key = node.args[0]
        if key is not None and (name := _string_value(key, constants)) is not None:
            names.add(name)
    return names


def _string_value(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [
            _string_value(v.value if isinstance(v, ast.FormattedValue) else v, constants)
            for v in node.values
        ]
        return None if None in parts else "".join(p for p in parts if p is not None)
    return None


def test_env_reader_scan_finds_the_usual_forms() -> None:
    source = (
        "import os\n"
        "a = os.environ['A_ONE']\n"
        "b = os.environ.get('B_TWO', '')\n"
        "c = os.getenv('C_THREE')\n"
        "d = (env if env is not None else os.environ).get(\n    'D_FOUR', '')\n"
        "e = headers.get('Retry-After')\n"
        "PREFIX = 'E_FIVE'\n"
        "f = env.get(f'{PREFIX}__uri', env.get(PREFIX))\n"
        "g = env.get(f'{unknown}__x')\n"
    )
    assert _env_names_read(source) == {
        "A_ONE",
        "B_TWO",
        "C_THREE",
        "D_FOUR",
        "E_FIVE",
        "E_FIVE__uri",
    }


def test_timer_settings_are_deployed() -> None:
    # The host silently skips a timer whose %SETTING% is missing.
    if not FUNCTION_APP.is_file():
        pytest.fail("function_app.py is missing: cannot check the triggers' %SETTINGS%")
    referenced = set(re.findall(r"%(\w+)%", FUNCTION_APP.read_text(encoding="utf-8")))
    assert referenced, "function_app.py references no %SETTING%: where is the timer schedule?"
    assert sorted(referenced - set(deployed_settings())) == []


def test_required_settings_are_deployed() -> None:
    required = {
        f"IPSYNC_{name.upper()}"
        for model in (Settings, AppSettings)
        for name, field in model.model_fields.items()
        if field.is_required()
    }
    assert sorted((required | NEEDED_IN_AZURE) - set(deployed_settings())) == []


def test_every_app_setting_is_deployed_or_left_at_its_default_on_purpose() -> None:
    fields = {f"IPSYNC_{name.upper()}" for name in AppSettings.model_fields}
    deployed = set(deployed_settings())
    assert sorted(fields - deployed - set(APP_DEFAULTS)) == []
    assert sorted(set(APP_DEFAULTS) - fields) == [], "stale entries in APP_DEFAULTS"
    assert sorted(set(APP_DEFAULTS) & deployed) == [], "deployed now: drop them from APP_DEFAULTS"


def test_the_notification_format_follows_its_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "@allowed(['json', 'slack', 'teams'])" in bicep.decorators(MAIN, "notifyFormat")
    assert deployed_settings()["IPSYNC_NOTIFY_FORMAT"] == "json"
    for form in ("slack", "teams"):
        value = deployed_settings({"notifyFormat": form})["IPSYNC_NOTIFY_FORMAT"]
        monkeypatch.setenv("IPSYNC_NOTIFY_FORMAT", value)
        assert load_app_settings().notify_format == form


def test_every_deployed_ipsync_setting_exists_in_the_code() -> None:
    known = {
        f"IPSYNC_{name.upper()}" for model in (Settings, AppSettings) for name in model.model_fields
    }
    deployed = {name for name in deployed_settings() if name.startswith("IPSYNC_")}
    assert sorted(deployed - known - set(AHEAD_OF_CODE)) == [], (
        "a typo, or a setting the code no longer reads"
    )
    assert sorted(set(AHEAD_OF_CODE) & known) == [], "the code reads these now: drop them here"
    assert sorted(set(AHEAD_OF_CODE) - deployed) == []


def test_settings_the_app_reads_are_deployed_or_deliberately_unset() -> None:
    read: set[str] = set()
    for path in reachable_sources():
        read |= _env_names_read(path.read_text(encoding="utf-8"))
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in read, "the scan found nothing to check"
    missing = read - set(deployed_settings()) - set(NOT_DEPLOYED)
    assert sorted(missing) == []
    assert sorted(set(NOT_DEPLOYED) - read) == [], "stale entries in NOT_DEPLOYED"


def test_deployed_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*Settings.model_fields, *AppSettings.model_fields]:
        monkeypatch.delenv(f"IPSYNC_{name.upper()}", raising=False)
    deployed = deployed_settings()
    for name, value in deployed.items():
        monkeypatch.setenv(name, value)
    settings, app = load_settings(), load_app_settings()
    assert settings.subscription_id == DEPLOY_TIME["subscription().subscriptionId"]
    assert settings.schedule == deployed["IPSYNC_SCHEDULE"]
    assert settings.dry_run is EXAMPLE["parameters"]["dryRun"]["value"]
    assert app.allow_force is EXAMPLE["parameters"]["allowForce"]["value"]
    assert settings.targets == json.loads(EXAMPLE["parameters"]["targets"]["value"])


def test_history_container_is_created_by_the_deployment() -> None:
    scope = _scope()
    listed = bicep.literal_after(MAIN, "containers: [").strip("[]").split(",")
    created = {str(_evaluate(item, scope)) for item in listed}
    assert deployed_settings()["IPSYNC_CONTAINER"] in created


def test_storage_settings_give_an_identity_client() -> None:
    from azure.identity import ManagedIdentityCredential

    deployed = deployed_settings()
    assert "AzureWebJobsStorage" not in deployed  # no connection string, no account key
    client = blob_service(deployed)
    assert client.account_name == DEPLOY_TIME["storage.name"]
    assert client.url.startswith(f"https://{DEPLOY_TIME['storage.name']}.blob.core.windows.net")
    assert isinstance(client.credential, ManagedIdentityCredential)


def test_telemetry_uses_the_identity_when_local_auth_is_off() -> None:
    monitoring = bicep.read("modules/monitoring.bicep")
    assert "DisableLocalAuth: true" in monitoring
    assert deployed_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"
    # Without this role the identity may not publish and every log line is dropped.
    assert "monitoringMetricsPublisher" in bicep.literal_after(
        FUNCTION_MODULE, "resource telemetryPublisher"
    )


def test_example_parameters_are_template_parameters() -> None:
    declared = bicep.params(MAIN)
    assert sorted(set(EXAMPLE["parameters"]) - set(declared)) == []
    required = {name for name, default in declared.items() if default is None}
    assert sorted(required - set(EXAMPLE["parameters"])) == []


def test_feed_cloud_follows_the_deployment_cloud() -> None:
    clouds = bicep.object_entries(bicep.literal_after(MAIN, "var feedClouds ="))
    # The names ARM's environment().name returns in the public and sovereign clouds.
    assert sorted(clouds) == ["AzureChinaCloud", "AzureCloud", "AzureUSGovernment"]
    for expression in clouds.values():
        value = _evaluate(expression, {})
        assert isinstance(value, str)
        assert Settings(cloud=value).cloud == value  # type: ignore[arg-type]


def test_graph_endpoint_follows_the_deployment_cloud() -> None:
    feeds = bicep.object_entries(bicep.literal_after(MAIN, "var feedClouds ="))
    graphs = bicep.object_entries(bicep.literal_after(MAIN, "var graphEndpoints ="))
    assert sorted(graphs) == sorted(feeds)
    for expression in graphs.values():
        value = _evaluate(expression, {})
        assert isinstance(value, str)
        assert value.startswith("https://")
        assert not value.endswith("/")
        assert Settings(graph_endpoint=value).graph_base == value
    assert deployed_settings()["IPSYNC_GRAPH_ENDPOINT"] == Settings().graph_endpoint


def test_notify_url_is_a_key_vault_reference_or_off() -> None:
    assert "@secure()" in bicep.decorators(MAIN, "notifyUrlSecretUri")
    assert bicep.params(MAIN)["notifyUrlSecretUri"] == "''"
    assert deployed_settings()["IPSYNC_NOTIFY_URL"] == ""
    uri = "https://kv-ops.vault.azure.net/secrets/ipsync-webhook"
    on = deployed_settings({"notifyUrlSecretUri": uri})
    # The platform resolves this form with the app's identity before the app reads it.
    assert on["IPSYNC_NOTIFY_URL"] == f"@Microsoft.KeyVault(SecretUri={uri})"


def test_notify_url_unresolved_reference_is_off_and_resolved_is_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = "https://kv-ops.vault.azure.net/secrets/ipsync-webhook"
    reference = deployed_settings({"notifyUrlSecretUri": uri})["IPSYNC_NOTIFY_URL"]
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", reference)
    assert load_app_settings().notify_url is None  # unresolved: off, with a warning
    resolved = "https://hooks.example.com/services/T000/B000/token-part"
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", resolved)
    app = load_app_settings()
    assert app.notify_url is not None
    assert app.notify_url.get_secret_value() == resolved
    assert "token-part" not in repr(app)
    assert "token-part" not in app.model_dump_json()


def test_management_group_setting_follows_its_parameter() -> None:
    assert deployed_settings()["IPSYNC_MANAGEMENT_GROUP"] == ""  # empty: this subscription
    on = deployed_settings({"managementGroupId": "mg-network"})
    assert on["IPSYNC_MANAGEMENT_GROUP"] == "mg-network"


def test_run_queue_uri_points_at_the_app_storage() -> None:
    uri = deployed_settings()["AzureWebJobsStorage__queueServiceUri"]
    assert uri == f"https://{DEPLOY_TIME['storage.name']}.queue.core.windows.net/"


def test_bicepparam_file_sets_template_parameters() -> None:
    assert re.search(r"^using '\./main\.bicep'$", PARAM_FILE, re.MULTILINE)
    declared = bicep.params(MAIN)
    assigned = bicep.assignments(PARAM_FILE)
    assert sorted(set(assigned) - set(declared)) == []
    required = {name for name, default in declared.items() if default is None}
    assert sorted(required - set(assigned)) == []


def test_bicepparam_file_agrees_with_the_json_example() -> None:
    assigned = bicep.assignments(PARAM_FILE)
    assert assigned["dryRun"] == "true", "start safe: plan only until the operator switches"
    compared = 0
    for name, entry in EXAMPLE["parameters"].items():
        value = _evaluate(assigned.get(name, ""), {})
        if name in assigned and not isinstance(value, _Opaque):
            assert value == entry["value"], name
            compared += 1
    assert compared >= 8, "the two parameter files no longer share their settings"


#: Settings without a parameter of their own: local runs only, or tuning set by name through
#: ``extraSettings`` (which a redeployment keeps too).
BY_NAME_ONLY = {
    "IPSYNC_SUBSCRIPTIONS": "discovery beyond this subscription: usually managementGroupId",
    "IPSYNC_ARM_ENDPOINT": "follows the cloud deployed to; the emulator's, for local runs",
    "IPSYNC_CA_BUNDLE": "for the local emulator only",
    "IPSYNC_CREDENTIAL": "the app's managed identity; 'emulator' only on loopback",
    "IPSYNC_TAG_OVERRIDES": "what Azure tags may set beyond the safe fields: a deliberate choice",
    "IPSYNC_CACHE_DIR": "the temp dir on the read-only app mount",
    "IPSYNC_SOURCES": "a local file per feed, for offline runs: the app fetches every feed",
    "IPSYNC_STATE": "the app's own storage account",
    "IPSYNC_MIN_PREFIXLEN_V4": "tuning of the feed guards",
    "IPSYNC_MIN_PREFIXLEN_V6": "tuning of the feed guards",
    "IPSYNC_TIME_BUDGET_S": "tuning: host.json's timeout bounds it",
    "IPSYNC_PARALLELISM": "tuning",
    "IPSYNC_POLL_INTERVAL_S": "tuning; ARM's Retry-After rules",
    "IPSYNC_M365_CLIENT_REQUEST_ID": "generated once and kept, as the service asks",
    "IPSYNC_HTTP_WAIT_S": "tuning of the HTTP API",
    "IPSYNC_HISTORY_KEEP": "tuning of the run history",
    "IPSYNC_LEASE_S": "tuning of the run lock",
    "IPSYNC_HEALTH_MAX_AGE_H": "tuning of /api/health",
    "IPSYNC_FEED_STALE_AFTER_HOURS": "tuning of the stale-feed notes and /api/health",
    "IPSYNC_NEAR_CAPACITY_RATIO": "tuning of the near-a-limit notes",
    "IPSYNC_NEAR_EXTRA_RATIO": "tuning of the near-a-limit notes",
    "IPSYNC_TAG_SELECT": "tag trust: safe by default, widening it is a deliberate choice",
    "IPSYNC_TAG_MAX_ADDRESSES_V4": "tag trust: safe by default, a deliberate choice",
    "IPSYNC_TAG_MAX_ADDRESSES_V6": "tag trust: safe by default, a deliberate choice",
    "IPSYNC_TAG_ALLOW_COVER": "tag trust: off by default, a deliberate choice",
    "IPSYNC_TAG_HANDOVER_RESOURCE_GROUPS": "tag trust: none by default, a deliberate choice",
}


def test_every_setting_is_deployed_or_settable_by_name() -> None:
    """A setting set by hand on the app is gone after the next deployment: each one the code
    reads has a parameter, or goes through ``extraSettings`` by name."""
    known = {
        f"IPSYNC_{name.upper()}" for model in (Settings, AppSettings) for name in model.model_fields
    }
    deployed = set(deployed_settings())
    assert sorted(known - deployed - set(BY_NAME_ONLY)) == []
    assert sorted(set(BY_NAME_ONLY) & deployed) == [], "deployed now: drop them from BY_NAME_ONLY"
    assert sorted(set(BY_NAME_ONLY) - known) == []
    extra = {"IPSYNC_HISTORY_KEEP": "500", "IPSYNC_TAG_OVERRIDES": "ports", "IPSYNC_DRY_RUN": "x"}
    settings = deployed_settings({"extraSettings": extra})
    assert (settings["IPSYNC_HISTORY_KEEP"], settings["IPSYNC_TAG_OVERRIDES"]) == ("500", "ports")
    assert settings["IPSYNC_DRY_RUN"] == "true"  # the template's own setting wins


def test_lists_and_feeds_follow_their_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*Settings.model_fields, *AppSettings.model_fields]:
        monkeypatch.delenv(f"IPSYNC_{name.upper()}", raising=False)
    lists = {"azure-storage-weu": {"service_tags": ["Storage.WestEurope"], "families": ["v4"]}}
    feeds = [{"name": "atlassian", "url": "https://ip-ranges.atlassian.com/", "format": "json",
              "select": "items[].cidr"}]  # fmt: skip
    secret = "https://kv-ops.vault.azure.net/secrets/github-token"
    deployed = deployed_settings(
        {
            "lists": json.dumps(lists),
            "githubUrl": "https://github.example.com",
            "githubTokenSecretUri": secret,
            "m365Instance": "USGovDoD",
            "urlFeeds": json.dumps(feeds),
        }
    )
    assert deployed["IPSYNC_GITHUB_TOKEN"] == f"@Microsoft.KeyVault(SecretUri={secret})"
    for name, value in deployed.items():
        monkeypatch.setenv(name, value)
    settings, app = load_settings(), load_app_settings()
    reader = settings if "lists" in Settings.model_fields else app  # where the code reads it
    assert list(reader.lists) == ["azure-storage-weu"]
    assert settings.github_url == "https://github.example.com"
    assert settings.m365_instance == "USGovDoD"
    assert [feed["name"] for feed in settings.url_feeds] == ["atlassian"]
    # Unresolved (the identity may not read the secret): no token, and the log says why.
    assert settings.github_token is None
    assert "@secure()" in bicep.decorators(MAIN, "githubTokenSecretUri")
    off = deployed_settings()
    assert (off["IPSYNC_LISTS"], off["IPSYNC_GITHUB_TOKEN"], off["IPSYNC_URL_FEEDS"]) == (
        "{}",
        "",
        "[]",
    )
