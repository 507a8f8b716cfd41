"""Notification formats: the generic JSON body, Slack Block Kit, a Teams Workflows Adaptive
Card (checked against the rules of the schema version it declares), and the change summary."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from azure.functions.timer import TimerRequest

import function_app
from sync.app import cards, notify
from sync.app.app_settings import load_app_settings
from sync.changes import change_entry
from sync.core.diff import diff_releases
from sync.errors import SettingsError
from sync.report import Change, Report, SourceInfo, TargetReport
from tests.feed.conftest import parsed

from ._app import FEED, App, target
from .adaptive_card import CARD_1_4, WORKFLOWS_MESSAGE
from .test_notify import TOKEN, Hook, hook  # noqa: F401  (the loopback webhook fixture)

URL = "https://ipsync-demo.azurewebsites.net/api/runs/20251017T043000123Z-1a2b3c4d"
NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/"
OLD = FEED.with_name("ServiceTags_Public_20251010.json.xz")


def report(refused: int = 1, changed: int = 1) -> Report:
    targets = [
        TargetReport(
            kind="nsg",
            resource=f"{NSG}nsg-{i}",
            status="applied",
            service_tags=["AzureCloud.westeurope"],
            changes=[
                Change(rule="ipsync-azurecloud-v4", action="update", added=["57.157.14.42/31"])
            ],
        )
        for i in range(changed)
    ]
    targets += [
        TargetReport(
            kind="list",
            resource=f"lists/edl-{i}",
            status="refused",
            service_tags=["AzureCloud"],
            error="list edl: would remove 812 of 2700 owned prefixes (30% > 'max') <b>&</b>",
        )
        for i in range(refused)
    ]
    return Report(
        ok=False,
        dry_run=False,
        run_id="20251017T043000123Z-1a2b3c4d",
        source=SourceInfo(cloud="Public", change_number=373, origin="o", sha256="0"),
        targets=targets,
    )


def body(**kwargs: Any) -> dict[str, Any]:
    week = diff_releases(
        parsed("ServiceTags_Public_20251010.json.xz"), parsed("ServiceTags_Public_20251017.json.xz")
    )
    made = report(**kwargs)
    change = change_entry(
        week,
        cloud="Public",
        selected=["AzureCloud.westeurope", "Storage.WestEurope"],
        targets=made.targets,
        seen_at=datetime(2025, 10, 17, 4, 30, tzinfo=UTC),
    )
    summary = notify.summary(made, URL, change)
    assert summary is not None
    return summary


def test_the_json_body_carries_the_change_summary() -> None:
    made = body()
    assert made["change"] == {
        "previous": "372",
        "release": "373",
        "summary": "release 372 -> 373: IPv4 +42 -0 addresses",
        "tags": {
            "AzureCloud.westeurope": {"v4": [42, 0], "v6": [0, 0], "text": "IPv4 +42 -0 addresses"}
        },
    }
    assert "; release 372 -> 373: IPv4 +42 -0 addresses - https://" in made["text"]
    assert notify.payload("json", made) is made
    assert notify.summary(report(), URL)["change"] is None  # type: ignore[index]


def _card(payload: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(payload, WORKFLOWS_MESSAGE)
    (attachment,) = payload["attachments"]
    card: dict[str, Any] = attachment["content"]
    return card


@pytest.mark.parametrize(("refused", "changed"), [(1, 1), (0, 3), (30, 0), (2, 25)])
def test_the_teams_card_matches_the_schema_version_it_declares(refused: int, changed: int) -> None:
    card = _card(notify.payload("teams", body(refused=refused, changed=changed)))
    assert card["version"] == "1.4"
    jsonschema.Draft6Validator(
        CARD_1_4, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER
    ).validate(card)
    text = json.dumps(card)
    assert "would remove 812 of 2700" in text or refused == 0
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report", "url": URL}]


def test_the_schema_rules_refuse_what_1_4_does_not_allow() -> None:
    card = _card(cards.teams(body()))
    validator = jsonschema.Draft6Validator(CARD_1_4)
    assert validator.is_valid(card)
    for broken in (
        {**card, "rtl": True},  # a property of 1.5
        {k: v for k, v in card.items() if k != "version"},
        {**card, "body": [{"type": "TextBlock", "text": "x", "weight": "heavy"}]},
        {**card, "body": [{"type": "FactSet", "facts": [{"title": "only a title"}]}]},
        {**card, "body": [{"type": "Table", "columns": []}]},  # an element of 1.5
        {**card, "actions": [{"type": "Action.OpenUrl", "title": "no url"}]},
    ):
        assert not validator.is_valid(broken), broken


def test_the_teams_card_lists_targets_with_their_reasons() -> None:
    card = _card(cards.teams(body(refused=1, changed=1)))
    texts = [
        item["text"]
        for block in card["body"]
        for item in (block.get("items") or [block])
        if item["type"] == "TextBlock"
    ]
    assert texts[0] == "ipsync: 1 changed, 1 refused, 0 failed"
    assert "nsg nsg-0 [AzureCloud.westeurope]: +1 -0 prefixes" in texts
    assert any(t.startswith("list edl-0 [AzureCloud]: list edl: would remove 812") for t in texts)
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Release change"] == "release 372 -> 373: IPv4 +42 -0 addresses"


def test_slack_blocks_escape_text_and_keep_to_slack_limits() -> None:
    payload = cards.slack(body(refused=200, changed=200))
    assert payload["text"].startswith("ipsync run 20251017T043000123Z-1a2b3c4d: 200 changed")
    blocks = payload["blocks"]
    assert len(blocks) <= cards.SLACK_MAX_BLOCKS
    assert blocks[0]["type"] == "header"
    assert len(blocks[0]["text"]["text"]) <= cards.SLACK_HEADER_CHARS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= cards.SLACK_SECTION_CHARS for s in sections)
    refused = next(s for s in sections if s.startswith("*Refused by a guard*"))
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in refused
    assert "<b>" not in refused
    assert "... and 180 more" in refused
    assert any("AzureCloud.westeurope: IPv4 +42 -0 addresses" in s for s in sections)
    assert blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Read <{URL}|the report>"}],
    }


def test_a_report_path_is_not_made_a_link() -> None:
    made = {**body(), "report_url": "/api/runs/x"}
    assert "actions" not in _card(cards.teams(made))
    assert cards.slack(made)["blocks"][-1]["elements"][0]["text"] == "Read /api/runs/x"


def test_the_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_app_settings().notify_format == "json"
    monkeypatch.setenv("IPSYNC_NOTIFY_FORMAT", "teams")
    assert load_app_settings().notify_format == "teams"
    monkeypatch.setenv("IPSYNC_NOTIFY_FORMAT", "msteams")
    with pytest.raises(SettingsError, match="IPSYNC_NOTIFY_FORMAT"):
        load_app_settings()


def test_an_office_365_connector_url_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    url = f"https://contoso.webhook.office.com/webhookb2/{TOKEN}/IncomingWebhook/x/y"
    with caplog.at_level(logging.WARNING):
        assert notify.webhook(url) == url
    assert "Office 365 connector, which Microsoft is retiring" in caplog.text
    assert "IPSYNC_NOTIFY_FORMAT=teams" in caplog.text
    assert TOKEN not in caplog.text
    caplog.clear()
    notify.webhook(f"https://prod-12.westeurope.logic.azure.com/workflows/{TOKEN}")
    assert caplog.text == ""


def test_a_card_is_posted_as_json_and_the_token_stays_out_of_logs(
    hook: Hook,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        assert notify.post(hook.url, notify.payload("teams", body())) is True
    (received,) = hook.received
    assert received["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert TOKEN not in caplog.text


def test_the_app_posts_its_format_with_the_release_change(
    app: App,
    hook: Hook,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IPSYNC_NOTIFY_URL", hook.url)
    monkeypatch.setenv("IPSYNC_NOTIFY_FORMAT", "teams")
    monkeypatch.setenv("WEBSITE_HOSTNAME", "ipsync-example.azurewebsites.net")
    app.targets(target("nsg-a", service_tags=["Storage.WestEurope", "AzureMonitor"]))
    for source in (OLD, FEED):
        monkeypatch.setenv("IPSYNC_SOURCE", str(source))
        function_app.sync_timer(TimerRequest())
    first, second = (_card(posted) for posted in hook.received)
    jsonschema.Draft6Validator(CARD_1_4).validate(second)
    assert "release 372 -> 373" not in json.dumps(first)  # nothing kept before it
    assert "; release 372 -> 373: IPv4 +" in second["fallbackText"]
    assert '"AzureMonitor: IPv4 +' in json.dumps(second["body"])
    run_id = app.history().run_ids()[-1]
    assert second["actions"][0]["url"].endswith(f"/api/runs/{run_id}")


def test_the_documented_slack_message_of_the_week_is_what_is_posted() -> None:
    """docs/changes.md shows the demo's week as Slack shows it: the same lines, as Slack
    renders its mrkdwn (bold marks, a link's label, escaped characters)."""
    tags = ["Storage.WestEurope", "AzureMonitor"]
    week = diff_releases(
        parsed("ServiceTags_Public_20251010.json.xz"), parsed("ServiceTags_Public_20251017.json.xz")
    )
    added = [cidr for tag in week.tags if tag.name == "AzureMonitor" for cidr in tag.added]
    backup = TargetReport(
        kind="nsg",
        resource=f"{NSG}nsg-backup",
        status="applied",
        service_tags=tags,
        changes=[Change(rule="ipsync-azuremonitor-v4", action="update", added=added)],
    )
    made = report(refused=0, changed=0).model_copy(update={"ok": True, "targets": [backup]})
    change = change_entry(
        week,
        cloud="Public",
        selected=tags,
        targets=made.targets,
        seen_at=datetime(2025, 10, 17, 4, 30, tzinfo=UTC),
    )
    summary = notify.summary(made, URL, change)
    assert summary is not None
    shown = []
    for block in notify.payload("slack", summary)["blocks"]:
        text = block.get("text", {}).get("text") or " ".join(e["text"] for e in block["elements"])
        shown += html.unescape(re.sub(r"<[^|>]+\|([^>]+)>", r"\1", text).replace("*", "")).split(
            "\n"
        )
    page = (Path(__file__).resolve().parents[2] / "docs" / "changes.md").read_text()
    section = page.split("## Subscribe", 1)[1]
    documented = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert shown == documented
