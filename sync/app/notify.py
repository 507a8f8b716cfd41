"""Run notifications: a JSON summary posted to a webhook after a run that did something.

A run that changed, refused or failed something (a target, a published list, or the run
itself) posts its summary to ``IPSYNC_NOTIFY_URL``: which targets changed and by how many
entries per service tag, the refusals and failures with their reasons, and a link to the
stored report. A dry run posts only refusals and failures (it changes nothing). The body has a
``text`` line too, which Slack and Teams incoming webhooks show as the message.

The URL is a secret (webhook URLs carry their token): it is never logged or stored; logs name
its host only. Sending retries connection errors, 408, 429 and 5xx answers with exponential
backoff (honouring ``Retry-After``) within a bounded total time, and never fails the run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from sync.feedsettings import unresolved_reference
from sync.report import Report, TargetReport

log = logging.getLogger(__name__)

#: Answers worth another try; any other answer is final.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def webhook(value: str | None) -> str | None:
    """The webhook URL to post to, or None (off): empty, or an unresolved Key Vault reference.

    Raises ValueError for a URL that is neither ``https://`` nor plain HTTP on loopback.
    """
    text = (value or "").strip()
    if not text:
        return None
    if unresolved_reference("IPSYNC_NOTIFY_URL", text, "notifications are off"):
        return None
    parts = urlsplit(text)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError("IPSYNC_NOTIFY_URL must be an https:// URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValueError("IPSYNC_NOTIFY_URL must be an https:// URL (plain http only on loopback)")
    return text


class _Redact(logging.Filter):
    """Rewrites log records that hold a webhook URL (httpx logs each request's full URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret, shown in list(self.secrets.items()):
            if secret in message:
                message = message.replace(secret, shown)
                record.msg, record.args = message, ()
        return True

    @contextlib.contextmanager
    def hiding(self, url: str) -> Iterator[None]:
        with self._lock:
            self.secrets[url] = masked(url)
        try:
            yield
        finally:
            with self._lock:
                self.secrets.pop(url, None)


_REDACT = _Redact()
logging.getLogger("httpx").addFilter(_REDACT)


def masked(url: str) -> str:
    """What a log may say of a webhook URL: its scheme and host, never its path or token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/***"


def summary(report: Report, report_url: str | None) -> dict[str, Any] | None:
    """The body to post for a run, or None when there is nothing to tell."""
    noteworthy = ("refused", "failed") if report.dry_run else ("applied", "refused", "failed")
    targets = [t for t in report.targets if t.status in noteworthy]
    if not targets and report.error is None:
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
    release = report.source.change_number if report.source else None
    return {
        "text": _text(report, len(changed), len(refused), len(failed), report_url),
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
    }


def _entry(target: TargetReport) -> dict[str, Any]:
    return {
        "kind": target.kind,
        "resource": target.resource,
        "status": target.status,
        "service_tags": list(target.service_tags),
        "added": sum(len(c.added) for c in target.changes),
        "removed": sum(len(c.removed) for c in target.changes),
        "error": target.error,
    }


def _text(report: Report, changed: int, refused: int, failed: int, url: str | None) -> str:
    parts = [f"{changed} changed", f"{refused} refused", f"{failed} failed"]
    head = f"ipsync run {report.run_id}{' (dry run)' if report.dry_run else ''}: "
    line = head + ", ".join(parts)
    if report.error:
        line += f"; error: {report.error}"
    return f"{line} - {url}" if url else line


def post(
    url: str,
    body: dict[str, Any],
    *,
    attempts: int = 4,
    first_delay_s: float = 1.0,
    budget_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``body`` as JSON; True once the webhook answered 2xx.

    Tries up to ``attempts`` times, waiting ``first_delay_s`` and doubling (or what
    ``Retry-After`` asks), and gives up when the next try would end after ``budget_s``.
    """
    deadline = time.monotonic() + budget_s
    delay = first_delay_s
    where = masked(url)
    with (
        _REDACT.hiding(url),
        httpx.Client(transport=transport, follow_redirects=False) as client,
    ):
        for attempt in range(1, attempts + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            problem, retry_after = _try(client, url, body, min(10.0, left))
            if problem is None:
                log.info("notification sent to %s (try %d)", where, attempt)
                return True
            log.warning("notification to %s: %s (try %d of %d)", where, problem, attempt, attempts)
            if retry_after is None or attempt == attempts:
                break
            wait = max(delay, retry_after)
            if time.monotonic() + wait >= deadline:
                break
            sleep(wait)
            delay *= 2
    log.error("notification to %s not delivered", where)
    return False


def _try(
    client: httpx.Client, url: str, body: dict[str, Any], timeout_s: float
) -> tuple[str | None, float | None]:
    """(None, None) when delivered; else the problem and, if worth retrying, the least wait."""
    try:
        response = client.post(url, json=body, timeout=timeout_s)
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
