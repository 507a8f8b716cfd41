"""The change feed: kept changes as JSON (``GET /api/changes``) and as Atom 1.0 (RFC 4287).

One Atom entry per release that changed something a target or list selects, newest first:
a stable id per release change (:func:`sync.changes.entry_id`), ``updated`` when the run saw
it, a one-line summary, and an HTML content of the tags' address changes and the targets
touched. Every value is escaped: the HTML by :func:`html.escape`, the XML by ElementTree. Pure:
entries in, bytes out, the same bytes for the same entries (an ETag can hash them).
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from sync.changes import ChangeEntry, TagDelta
from sync.core.diff import amounts
from sync.core.prefixes import FAMILIES

ATOM = "http://www.w3.org/2005/Atom"
#: CIDRs an Atom entry shows per tag and direction; the JSON form carries them all.
CIDRS_SHOWN = 50
_FAMILY = {"v4": "IPv4", "v6": "IPv6"}


def changes_json(entries: Sequence[ChangeEntry]) -> bytes:
    """``{"changes": [entry, ...]}``, newest first."""
    ordered = sorted(entries, key=lambda e: e.seen_at, reverse=True)
    body = {"changes": [entry.model_dump(mode="json") for entry in ordered]}
    return json.dumps(body, indent=2).encode()


def feed_id(feed_url: str) -> str:
    """The feed's id, stable for its URL."""
    return uuid.uuid5(uuid.NAMESPACE_URL, feed_url).urn


def changes_atom(entries: Sequence[ChangeEntry], *, feed_url: str, when_empty: datetime) -> bytes:
    """An Atom feed of ``entries`` at ``feed_url``; ``when_empty`` is its ``updated`` when
    there is no entry yet (an Atom feed must say when it last changed)."""
    ET.register_namespace("", ATOM)
    ordered = sorted(entries, key=lambda e: e.seen_at, reverse=True)
    feed = ET.Element(_q("feed"))
    _text(feed, "id", feed_id(feed_url))
    _text(feed, "title", "ipsync: what the service-tag releases changed")
    _text(feed, "subtitle", "One entry per release that changed a service tag a target selects")
    _text(feed, "updated", _stamp(ordered[0].seen_at) if ordered else _date(when_empty))
    ET.SubElement(feed, _q("link"), rel="self", type="application/atom+xml", href=feed_url)
    author = ET.SubElement(feed, _q("author"))
    _text(author, "name", "ipsync")
    _text(feed, "generator", "ipsync")
    for entry in ordered:
        _entry(feed, entry)
    ET.indent(feed)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _entry(feed: ET.Element, change: ChangeEntry) -> None:
    element = ET.SubElement(feed, _q("entry"))
    _text(element, "id", change.id)
    _text(element, "title", title(change))
    _text(element, "updated", _stamp(change.seen_at))
    _text(element, "summary", summary(change))
    content = _text(element, "content", content_html(change))
    content.set("type", "html")


def title(change: ChangeEntry) -> str:
    tags, targets = len(change.tags), len(change.targets)
    return (
        f"{change.cloud} release {change.mark}: {tags} service tag{'s' * (tags != 1)} "
        f"changed, {targets} target{'s' * (targets != 1)} touched"
    )


def summary(change: ChangeEntry) -> str:
    """One line per the whole change: the address totals."""
    totals = change.totals()
    parts = [f"{_FAMILY[f]} {amounts(*totals[f], f)}" for f in FAMILIES if any(totals[f])]
    return f"release {change.previous} -> {change.mark}: " + "; ".join(parts)


def tag_text(delta: TagDelta) -> str:
    """``IPv4 +42 -0 addresses``, per family that changed."""
    return "; ".join(
        f"{_FAMILY[f]} {amounts(*delta.addresses[f], f)}"
        for f in FAMILIES
        if any(delta.addresses.get(f, (0, 0)))
    )


def content_html(change: ChangeEntry) -> str:
    """The change as an HTML fragment: per tag its amounts and CIDRs, then the targets."""
    e = html.escape
    parts = [f"<p>{e(summary(change))}</p>", "<ul>"]
    for name, delta in change.tags.items():
        counts = tag_text(delta)
        cidrs = _cidrs("+", delta.added) + _cidrs("-", delta.removed)
        listed = f"<br><code>{e(' '.join(cidrs))}</code>" if cidrs else ""
        parts.append(f"<li><b>{e(name)}</b>: {e(counts)}{listed}</li>")
    parts.append("</ul>")
    if change.cidrs_omitted:
        parts.append(
            "<p>The CIDRs are left out (too many for one entry): <code>python -m sync diff"
            "</code> of the two release files lists them.</p>"
        )
    if change.targets:
        parts.append("<p>Targets and lists touched:</p><ul>")
        for target in change.targets:
            line = (
                f"{target.kind} {target.resource}: {target.status}, "
                f"+{target.added} -{target.removed} prefixes ({', '.join(target.service_tags)})"
            )
            if target.error:
                line += f": {target.error}"
            parts.append(f"<li>{e(line)}</li>")
        parts.append("</ul>")
    if change.run_id:
        parts.append(f"<p>Run {e(change.run_id)}</p>")
    return "".join(parts)


def _cidrs(sign: str, cidrs: list[str]) -> list[str]:
    shown = [f"{sign}{c}" for c in cidrs[:CIDRS_SHOWN]]
    if len(cidrs) > CIDRS_SHOWN:
        shown.append(f"(and {len(cidrs) - CIDRS_SHOWN} more)")
    return shown


def _q(name: str) -> str:
    return f"{{{ATOM}}}{name}"


#: Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab, LF, CR).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    child = ET.SubElement(parent, _q(name))
    child.text = _NOT_XML.sub("", value)
    return child


def _stamp(iso: str) -> str:
    return _date(datetime.fromisoformat(iso))


def _date(when: datetime) -> str:
    """RFC 3339 in UTC, as Atom wants it."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
