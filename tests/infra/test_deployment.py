"""The deployment's platform pieces: azd conventions, publishing without passwords, the
manual-run queue, the failed-run alert, and docs that match the Flex Consumption plan."""

from __future__ import annotations

import logging
import re

import pytest
import yaml

from sync.app.telemetry import log_report
from sync.report import Report, TargetReport

from . import bicep_text as bicep

ROOT = bicep.INFRA.parent
MAIN = bicep.read("main.bicep")
FUNCTION_MODULE = bicep.read("modules/functionapp.bicep")
STORAGE_MODULE = bicep.read("modules/storage.bicep")
MONITORING = bicep.read("modules/monitoring.bicep")
GUIDE = (ROOT / "docs" / "operators-guide.md").read_text(encoding="utf-8")

#: Built-in role ids, the same in every tenant.
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"


def test_azure_yaml_deploys_the_function_app_with_azd() -> None:
    config = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (ROOT / "infra" / "main.bicepparam").is_file()  # azd reads <module>.bicepparam
    ((name, service),) = config["services"].items()
    assert service == {"project": ".", "language": "python", "host": "function"}
    # azd publishes to the resource tagged with the service name.
    assert f"union(tags, {{ 'azd-service-name': '{name}' }})" in MAIN
    assert "output AZURE_RESOURCE_GROUP string = rg.name" in MAIN


def test_azd_state_is_neither_committed_nor_published() -> None:
    for ignore in (".gitignore", ".funcignore"):
        lines = (ROOT / ignore).read_text(encoding="utf-8").splitlines()
        assert ".azure/" in lines, ignore


def test_basic_auth_publishing_is_off_for_ftp_and_scm() -> None:
    policies = FUNCTION_MODULE[
        FUNCTION_MODULE.index("Microsoft.Web/sites/basicPublishingCredentialsPolicies@") :
    ]
    assert bicep.strings(bicep.literal_after(policies, "for policy in")) == ["ftp", "scm"]
    body = bicep.literal_after(policies.split("for policy in ['ftp', 'scm']:", 1)[1], "{")
    assert bicep.object_entries(body) == {"parent": "app", "name": "policy", "properties": "{"}
    assert bicep.object_entries(bicep.literal_after(body, "properties:")) == {"allow": "false"}


def test_storage_creates_the_run_queue_and_its_poison_queue() -> None:
    assert "var runQueueName = 'ipsync-runs'" in MAIN
    storage_module = bicep.literal_after(MAIN, "module storage 'modules/storage.bicep'")
    queues = bicep.object_entries(bicep.literal_after(storage_module, "params:"))["queues"]
    # The Functions host moves a message that keeps failing to <queue>-poison.
    assert queues == "[runQueueName, '${runQueueName}-poison']"
    assert "queueServices/queues@" in STORAGE_MODULE
    loop = bicep.literal_after(STORAGE_MODULE, "resource storageQueues")
    assert "for queue in queues:" in loop
    assert bicep.object_entries(bicep.literal_after(loop, "for queue in queues:")) == {
        "parent": "queueService",
        "name": "queue",
    }


def test_app_identity_may_use_the_queues_of_its_own_account_only() -> None:
    assert f"var storageQueueDataContributor = '{STORAGE_QUEUE_DATA_CONTRIBUTOR}'" in (
        FUNCTION_MODULE
    )
    grant = bicep.object_entries(
        bicep.literal_after(FUNCTION_MODULE, "resource storageQueueContributor")
    )
    assert grant["scope"] == "storage"
    properties = bicep.object_entries(
        bicep.literal_after(
            bicep.literal_after(FUNCTION_MODULE, "resource storageQueueContributor"),
            "properties:",
        )
    )
    assert "storageQueueDataContributor" in properties["roleDefinitionId"]
    assert properties["principalId"] == "app.identity.principalId"


def _failed_runs_query() -> str:
    match = re.search(r"var failedRunsQuery = '''(.*?)'''", MONITORING, re.DOTALL)
    assert match is not None, "the alert query moved"
    return match[1]


def _matches(query: str, dimensions: dict[str, object]) -> bool:
    """The query's filter on one trace's custom dimensions (its two comparisons)."""
    equals = re.findall(r'tostring\(customDimensions\.(\w+)\) == "(\w+)"', query)
    within = re.findall(r"tostring\(customDimensions\.(\w+)\) in \(([^)]*)\)", query)
    assert equals, "the alert query no longer filters on run lines"
    assert within, "the alert query no longer filters on target lines"
    hits = [str(dimensions.get(key)) == value for key, value in equals]
    hits += [str(dimensions.get(key)) in re.findall(r'"(\w+)"', values) for key, values in within]
    return any(hits)


def _trace_dimensions(report: Report, caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """Custom dimensions of the traces a report produces (the record's ``extra`` fields)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sync"):
        log_report(report)
    plain = set(vars(logging.makeLogRecord({})))
    return [{k: v for k, v in vars(r).items() if k not in plain} for r in caplog.records]


@pytest.mark.parametrize("bad", ["refused", "failed"])
def test_alert_query_catches_failed_and_refused_runs(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    query = _failed_runs_query()
    assert query.strip().startswith("traces")
    assert "by runId = tostring(customDimensions.run_id)" in query  # one row per bad run
    bad_run = Report(
        ok=False,
        dry_run=False,
        run_id="r-bad",
        targets=[
            TargetReport(kind="nsg", resource="/nsg/a", status="unchanged"),
            TargetReport(kind="sql", resource="/sql/b", status=bad, error="removes 40% > 30%"),
        ],
    )
    hits = [d for d in _trace_dimensions(bad_run, caplog) if _matches(query, d)]
    assert {d["run_id"] for d in hits} == {"r-bad"}
    # Both the run line and the bad target's own line count (a run line may be lost).
    assert {d.get("resource") for d in hits} == {None, "/sql/b"}
    good_run = Report(
        ok=True,
        dry_run=False,
        run_id="r-good",
        targets=[TargetReport(kind="nsg", resource="/nsg/a", status="applied")],
    )
    assert not [d for d in _trace_dimensions(good_run, caplog) if _matches(query, d)]


def test_alert_exists_only_with_an_action_group() -> None:
    assert bicep.params(MONITORING)["alertActionGroupId"] == "''"
    assert bicep.params(MAIN)["alertActionGroupId"] == "''"
    monitoring_module = bicep.literal_after(MAIN, "module monitoring 'modules/monitoring.bicep'")
    passed = bicep.object_entries(bicep.literal_after(monitoring_module, "params:"))
    assert passed["alertActionGroupId"] == "alertActionGroupId"
    assert re.search(
        r"^resource failedRunAlert 'Microsoft\.Insights/scheduledQueryRules@[\d-]+' = "
        r"if \(!empty\(alertActionGroupId\)\) \{$",
        MONITORING,
        re.MULTILINE,
    )
    rule = bicep.literal_after(MONITORING, "resource failedRunAlert")
    properties = bicep.object_entries(bicep.literal_after(rule, "properties:"))
    assert properties["enabled"] == "true"
    assert bicep.literal_after(rule, "scopes:").split() == ["[", "appInsights.id", "]"]
    assert bicep.literal_after(rule, "actionGroups:").split() == ["[", "alertActionGroupId", "]"]
    criterion = bicep.object_entries(
        bicep.literal_after(bicep.literal_after(rule, "allOf: [")[1:], "{")
    )
    assert (criterion["query"], criterion["operator"], criterion["threshold"]) == (
        "failedRunsQuery",
        "'GreaterThan'",
        "0",
    )


def test_docs_give_the_flex_consumption_timeouts() -> None:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for path in docs:
        text = path.read_text(encoding="utf-8")
        assert "Consumption maximum" not in text, path.name  # 10 min is not a Flex limit
    assert "30 min" in GUIDE


def test_guide_explains_the_verified_modules_decision() -> None:
    assert "Azure Verified Modules" in GUIDE
    assert "br/public:avm/" in GUIDE


def test_the_guide_lists_the_functions_function_app_declares() -> None:
    """The function table of the guide names every function of ``function_app.py``, with its
    route or queue, and no other."""
    import ast

    tree = ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8"))
    declared: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            call = node.decorator_list[0]
            assert isinstance(call, ast.Call)
            where = {
                k.arg: ast.literal_eval(k.value)
                for k in call.keywords
                if k.arg in ("route", "queue_name")
            }
            declared[node.name] = str(where.get("route") or where.get("queue_name") or "timer")
    table = GUIDE.split("| function | trigger | does |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, re.MULTILINE)
    assert {name for name, _ in rows} == set(declared)
    for name, trigger in rows:
        assert declared[name] in trigger, name


def test_azd_and_the_azure_cli_name_everything_alike() -> None:
    """Both read the environment name: the group is rg-<name>, the CLI's deployment <name>."""
    param_file = (ROOT / "infra" / "main.bicepparam").read_text(encoding="utf-8")
    assert "param resourceGroupName = 'rg-${readEnvironmentVariable('AZURE_ENV_NAME'" in (
        param_file
    )
    assert 'az deployment sub create --name "$AZURE_ENV_NAME"' in GUIDE
    assert "RG=rg-$AZURE_ENV_NAME" in GUIDE
    assert "az deployment sub what-if" in GUIDE
    assert "azd provision --preview" in GUIDE
    assert "-n ipsync " not in GUIDE  # a fixed deployment name azd never uses
