"""A run's notification in the forms chat tools show: Slack Block Kit, a Teams Adaptive Card.

Both are built from the generic JSON body (:func:`sync.app.notify.summary`), so every format
tells the same: the run's counts, the release change, the targets changed, refused (with the
reason) and failed, what needs a look (drift, limits near, feeds stale), and a link to the
stored report.

- Slack: an incoming webhook takes ``{"text", "blocks"}``; ``text`` is the notification's
  fallback. Within Slack's limits (50 blocks, 150 characters of header, 3,000 per section);
  ``&``, ``<`` and ``>`` are escaped as Slack's mrkdwn asks.
- Microsoft Teams through Workflows (Power Automate, "when a Teams webhook request is
  received"): ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": <Adaptive Card>}]}``, the card of
  schema version :data:`CARD_VERSION`. Office 365 connectors (Teams incoming webhooks) are
  being retired by Microsoft, and are not a target of this format.

Pure: a body in, a payload out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The Adaptive Card schema version the Teams card declares (Teams and Workflows render it).
CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
#: Slack's limits for a message's blocks (Block Kit reference).
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
#: Targets listed per group (changed, refused, failed) before "and N more".
LISTED = 20
_GROUPS = (("changed", "Changed"), ("refused", "Refused by a guard"), ("failed", "Failed"))


def headline(body: Mapping[str, Any]) -> str:
    """``ipsync: 1 changed, 1 refused, 0 failed`` (``(dry run)`` when it was one)."""
    counts = ", ".join(f"{len(body.get(key) or [])} {key}" for key, _ in _GROUPS)
    dry = " (dry run)" if body.get("dry_run") else ""
    return f"ipsync{dry}: {counts}"


def lines(body: Mapping[str, Any], key: str) -> list[str]:
    """One line per target of a group, at most :data:`LISTED` and a count of the rest."""
    entries: Sequence[Mapping[str, Any]] = body.get(key) or []
    result = []
    for entry in entries[:LISTED]:
        name = str(entry.get("resource", "")).rsplit("/", 1)[-1] or "?"
        tags = ", ".join(entry.get("service_tags") or []) or "-"
        line = f"{entry.get('kind') or 'target'} {name} [{tags}]"
        if key == "changed":
            line += f": +{entry.get('added', 0)} -{entry.get('removed', 0)} prefixes"
        if entry.get("error"):
            line += f": {entry['error']}"
        result.append(line)
    if len(entries) > LISTED:
        result.append(f"... and {len(entries) - LISTED} more")
    return result


def attention_lines(body: Mapping[str, Any]) -> list[str]:
    """One line per note that needs a look, naming its target (at most :data:`LISTED`)."""
    result = []
    for row in body.get("attention") or []:
        name = str(row.get("resource", "")).rsplit("/", 1)[-1]
        where = f"{row.get('kind') or 'target'} {name}: " if name else ""
        result += [f"{where}{note}" for note in row.get("notes") or []]
    if len(result) > LISTED:
        result[LISTED:] = [f"... and {len(result) - LISTED} more"]
    return result


def _facts(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = [("Run", str(body.get("run_id") or "-")), ("Release", str(body.get("release")))]
    change = body.get("change")
    if change:
        facts.append(("Release change", str(change.get("summary", ""))))
    if body.get("error"):
        facts.append(("Error", str(body["error"])))
    return facts


def slack(body: Mapping[str, Any]) -> dict[str, Any]:
    """Block Kit message of the notification ``body``."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(headline(body), SLACK_HEADER_CHARS)},
        },
        _section("\n".join(f"*{_mrkdwn(k)}:* {_mrkdwn(v)}" for k, v in _facts(body))),
    ]
    change = body.get("change") or {}
    tags = change.get("tags") or {}
    if tags:
        listed = [
            f"• {_mrkdwn(name)}: {_mrkdwn(str(delta.get('text', '')))}"
            for name, delta in list(tags.items())[:LISTED]
        ]
        if len(tags) > LISTED:
            listed.append(f"... and {len(tags) - LISTED} more")
        blocks.append(_section("*Service tags changed*\n" + "\n".join(listed)))
    for title, group in _groups(body):
        blocks.append(_section(f"*{title}*\n" + "\n".join(f"• {_mrkdwn(g)}" for g in group)))
    url = body.get("report_url")
    if url:
        link = f"<{url}|the report>" if str(url).startswith("https://") else _mrkdwn(str(url))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Read {link}"}]})
    return {"text": str(body.get("text", headline(body))), "blocks": blocks[:SLACK_MAX_BLOCKS]}


def _groups(body: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The titled lists a message shows: changed, refused, failed, what needs a look."""
    groups = [(title, lines(body, key)) for key, title in _GROUPS]
    groups.append(("Needs a look", attention_lines(body)))
    return [(title, group) for title, group in groups if group]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_SECTION_CHARS)}}


def _mrkdwn(text: str) -> str:
    """Text Slack shows as it is: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def teams(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Workflows webhook message: one Adaptive Card of the notification ``body``."""
    card_body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": headline(body),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(body)]},
    ]
    change = body.get("change") or {}
    tags = change.get("tags") or {}
    if tags:
        shown = [f"{name}: {delta.get('text', '')}" for name, delta in list(tags.items())[:LISTED]]
        if len(tags) > LISTED:
            shown.append(f"... and {len(tags) - LISTED} more")
        card_body.append(_block("Service tags changed", shown))
    for title, group in _groups(body):
        card_body.append(_block(title, group))
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": str(body.get("text", headline(body))),
        "body": card_body,
    }
    url = str(body.get("report_url") or "")
    if url.startswith("https://"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": url}]
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def _block(title: str, items: list[str]) -> dict[str, Any]:
    """A titled list: a bold line, then the items, one a line."""
    return {
        "type": "Container",
        "separator": True,
        "items": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": "\n\n".join(items), "wrap": True, "spacing": "Small"},
        ],
    }
