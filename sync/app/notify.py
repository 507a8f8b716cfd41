"""Run notifications: a summary posted to a webhook after a run that did something.

A run that changed, refused or failed something (a target, a published list, or the run
itself) posts its summary to ``IPSYNC_NOTIFY_URL``: which targets changed and by how many
entries per service tag, what the release changed in the selected tags, the refusals and
failures with their reasons, what needs a look (entries someone else changed, targets near a
limit, feeds stale or unreachable: :mod:`sync.app.attention`), and a link to the stored
report. A dry run posts only refusals and failures (it changes nothing), and drift or a feed
gone stale. ``IPSYNC_NOTIFY_FORMAT`` (an app setting) picks the form:
the generic JSON body (``json``, with a ``text`` line), Slack Block Kit (``slack``) or an
Adaptive Card for a Microsoft Teams Workflows webhook (``teams``); see :mod:`sync.app.cards`.

The URL is a secret (webhook URLs carry their token): it is never logged or stored; logs name
its host only (:func:`sync.logmask.hide_url` masks it in every log record, however a library
writes it). It is checked when the settings are read by the parser that sends it (httpx's).
Sending retries connection errors, 408, 429 and 5xx answers with exponential backoff
(honouring ``Retry-After``), all within one deadline for the whole notification (a webhook
answering a byte at a time cannot hold the run), and never raises.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from sync.feedsettings import unresolved_reference
from sync.logmask import hide_url
from sync.report import Report, TargetReport

if TYPE_CHECKING:
    from sync.changes import ChangeEntry

log = logging.getLogger(__name__)

#: Answers worth another try; any other answer is final.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: The whole notification, every try and wait included.
BUDGET_S = 30.0
#: One try at most (connect, send, answer).
TRY_S = 10.0
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
#: Hosts of Teams' Office 365 connectors (incoming webhooks), which Microsoft is retiring.
CONNECTOR_HOSTS = ("webhook.office.com", "outlook.office.com", "outlook.office365.com")

NotifyFormat = Literal["json", "slack", "teams"]


def payload(fmt: NotifyFormat, body: dict[str, Any]) -> dict[str, Any]:
    """What to post for the summary ``body`` in the format ``fmt``."""
    from sync.app import cards

    if fmt == "slack":
        return cards.slack(body)
    if fmt == "teams":
        return cards.teams(body)
    return body


T = TypeVar("T")


def webhook(value: str | None) -> str | None:
    """The webhook URL to post to, or None (off): empty, or an unresolved Key Vault reference.

    Raises ValueError for a URL httpx cannot send to, or one that is neither ``https://`` nor
    plain HTTP on loopback; the message never holds the URL.
    """
    text = (value or "").strip()
    if not text:
        return None
    if unresolved_reference("IPSYNC_NOTIFY_URL", text, "notifications are off"):
        return None
    hide_url(text)
    try:
        parts = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"IPSYNC_NOTIFY_URL is not a URL ipsync can post to: {exc}") from None
    if not parts.host or parts.scheme not in ("https", "http"):
        raise ValueError("IPSYNC_NOTIFY_URL must be an https:// URL")
    if parts.port is not None and not 0 < parts.port < 65536:
        raise ValueError(f"IPSYNC_NOTIFY_URL: port {parts.port} is not a TCP port")
    if parts.scheme == "http" and parts.host not in _LOOPBACK:
        raise ValueError("IPSYNC_NOTIFY_URL must be an https:// URL (plain http only on loopback)")
    if any(parts.host == h or parts.host.endswith(f".{h}") for h in CONNECTOR_HOSTS):
        log.warning(
            "IPSYNC_NOTIFY_URL (%s) is a Teams Office 365 connector, which Microsoft is "
            "retiring: create a Workflows webhook ('When a Teams webhook request is received') "
            "and set IPSYNC_NOTIFY_FORMAT=teams",
            masked(text),
        )
    return text


def masked(url: str) -> str:
    """What a log may say of a webhook URL: its scheme and host, never its path or token."""
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL:
        return "the webhook"
    return f"{parts.scheme}://{parts.host}/***"


def summary(
    report: Report, report_url: str | None, change: ChangeEntry | None = None
) -> dict[str, Any] | None:
    """The body to post for a run, or None when there is nothing to tell.

    ``change`` is what the run's release changed in the selected tags, when it changed any.
    """
    from sync.app.attention import attention, needs_look

    noteworthy = ("refused", "failed") if report.dry_run else ("applied", "refused", "failed")
    targets = [t for t in report.targets if t.status in noteworthy]
    if not targets and report.error is None and not needs_look(report):
        return None
    changed = [_entry(t) for t in targets if t.status == "applied"]
    refused = [_entry(t) for t in targets if t.status == "refused"]
    failed = [_entry(t) for t in targets if t.status == "failed"]
    by_tags: dict[str, dict[str, int]] = {}
    for entry in changed:
        counts = by_tags.setdefault(
            "+".join(entry["service_tags"]) or "-", {"added": 0, "removed": 0}
        )
        counts["added"] += entry["added"]
        counts["removed"] += entry["removed"]
    # the release as ever (Azure's change number); a run of several feeds names every mark
    release = report.source.change_number if report.source is not None else None
    if len(report.sources) > 1:
        release = report.release
    told = _change(change)
    tally = (len(changed), len(refused), len(failed))
    line = str(told["summary"]) if told else None
    look = attention(report)
    return {
        "text": _text(report, tally, line, report_url, sum(len(r["notes"]) for r in look)),
        "run_id": report.run_id,
        "ok": report.ok,
        "dry_run": report.dry_run,
        "release": release,
        "error": report.error,
        "report_url": report_url,
        "changed": changed,
        "refused": refused,
        "failed": failed,
        "by_service_tags": by_tags,
        "change": told,
        "attention": look,
    }


def _change(change: ChangeEntry | None) -> dict[str, Any] | None:
    """The release change for a notification: marks, a line, and per tag the amounts."""
    if change is None:
        return None
    from sync.app.changefeed import summary as change_line
    from sync.app.changefeed import tag_text

    return {
        "previous": change.previous,
        "release": change.mark,
        "summary": change_line(change),
        "tags": {
            name: {**{f: list(n) for f, n in delta.addresses.items()}, "text": tag_text(delta)}
            for name, delta in change.tags.items()
        },
    }


def _entry(target: TargetReport) -> dict[str, Any]:
    return {
        "kind": target.kind,
        "resource": target.resource,
        "status": target.status,
        "service_tags": target.selectors,
        "added": sum(len(c.added) for c in target.changes),
        "removed": sum(len(c.removed) for c in target.changes),
        "error": target.error,
    }


def _text(
    report: Report, counts: tuple[int, int, int], change: str | None, url: str | None, notes: int
) -> str:
    changed, refused, failed = counts
    parts = [f"{changed} changed", f"{refused} refused", f"{failed} failed"]
    if notes:
        parts.append(f"{notes} to look at (drift, limits near, feeds)")
    head = f"ipsync run {report.run_id}{' (dry run)' if report.dry_run else ''}: "
    line = head + ", ".join(parts)
    if change:
        line += f"; {change}"
    if report.error:
        line += f"; error: {report.error}"
    return f"{line} - {url}" if url else line


def post(
    url: str,
    body: dict[str, Any],
    *,
    attempts: int = 4,
    first_delay_s: float = 1.0,
    budget_s: float = BUDGET_S,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> bool:
    """POST ``body`` as JSON; True once the webhook answered 2xx. Never raises.

    Tries up to ``attempts`` times, waiting ``first_delay_s`` and doubling (or what
    ``Retry-After`` asks), and stops at ``budget_s`` from now whatever it is doing: the
    deadline covers the whole notification, not each read.
    """
    hide_url(url)
    where = masked(url)
    try:
        delivered = _bounded(
            _deliver(url, body, attempts, first_delay_s, budget_s, transport, sleep), budget_s
        )
    except TimeoutError:
        log.error("notification to %s not delivered within %.0f s", where, budget_s)
        return False
    except Exception as exc:  # a notification must never fail the run
        log.error("notification to %s not delivered: %s", where, type(exc).__name__)
        return False
    if not delivered:
        log.error("notification to %s not delivered", where)
    return delivered


def _bounded(work: Coroutine[Any, Any, T], budget_s: float) -> T:
    """Run ``work`` to its end or cancel it at ``budget_s``, from this (synchronous) thread."""

    async def within() -> T:
        return await asyncio.wait_for(work, budget_s)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(within())
    # Called from inside an event loop: run in a thread of its own, never blocking past it.
    outcome: list[T] = []
    failure: list[BaseException] = []

    def alone() -> None:
        try:
            outcome.append(asyncio.run(within()))
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=alone, name="ipsync-notify", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return outcome[0]


async def _deliver(
    url: str,
    body: dict[str, Any],
    attempts: int,
    first_delay_s: float,
    budget_s: float,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Callable[[float], Awaitable[None]],
) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    delay = first_delay_s
    where = masked(url)
    async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
        for attempt in range(1, attempts + 1):
            left = deadline - loop.time()
            if left <= 0:
                break
            problem, retry_after = await _try(client, url, body, min(TRY_S, left))
            if problem is None:
                log.info("notification sent to %s (try %d)", where, attempt)
                return True
            log.warning("notification to %s: %s (try %d of %d)", where, problem, attempt, attempts)
            if retry_after is None or attempt == attempts:
                break
            wait = max(delay, retry_after)
            if loop.time() + wait >= deadline:
                break
            await sleep(wait)
            delay *= 2
    return False


async def _try(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], timeout_s: float
) -> tuple[str | None, float | None]:
    """(None, None) when delivered; else the problem and, if worth retrying, the least wait."""
    try:
        response = await client.post(url, json=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        # The exception text may hold the URL: only its type is told.
        return f"{type(exc).__name__}", 0.0
    if response.is_success:
        return None, None
    problem = f"HTTP {response.status_code}"
    if response.status_code not in RETRY_STATUS:
        return problem, None
    return problem, _retry_after(response.headers.get("Retry-After"))


def _retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` asks for (delta form); 0 when absent or a date."""
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0
