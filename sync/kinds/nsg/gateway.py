"""One NSG through azure-mgmt-network: read it, write rules one at a time, survive ARM's moods.

Retry rules (azure-facts §4): 429 and 409 "another operation" wait for ``Retry-After`` and
retry within the run's time budget; 412 means the NSG changed under us, so the caller re-reads
and re-plans; a lost response may hide a write that happened, so the caller re-reads too.
Every PUT and DELETE sent is counted, retries included (report contract).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.errors import ArmError
from sync.kinds.nsg.rules import Rule, rule_from_sdk, rule_to_sdk

if TYPE_CHECKING:
    from collections.abc import Callable

    from azure.mgmt.network import NetworkManagementClient

log = logging.getLogger(__name__)

#: How often one write is tried when ARM says "busy" before the target fails.
MAX_BUSY_RETRIES = 8
#: Longest single wait for a ``Retry-After``, whatever ARM asks.
MAX_WAIT_S = 60.0
#: Codes of "another operation is in progress on this NSG" (azure-facts §4).
BUSY_CODES = {"RetryableError", "AnotherOperationInProgress", "TooManyRequests"}


class StaleNsg(Exception):
    """The NSG changed under us (412) or a response was lost: re-read and re-plan."""


class OutOfTime(ArmError):
    """The run's time budget is nearly spent; writes not started are left for the next run."""


@dataclass
class Deadline:
    """The run's time budget, shared by every NSG worker."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.start + self.seconds - time.monotonic()


@dataclass
class Snapshot:
    etag: str | None
    rules: list[Rule]


class NsgGateway:
    """Reads and writes the rules of one NSG; counts what it sends."""

    def __init__(
        self,
        client: NetworkManagementClient,
        nsg_id: str,
        resource_group: str,
        name: str,
        deadline: Deadline,
    ) -> None:
        self._client = client
        self.nsg_id = nsg_id
        self._rg = resource_group
        self._name = name
        self._deadline = deadline
        self._slowest_write = 0.0
        self.writes = 0

    def read(self) -> Snapshot:
        """The NSG and its etag; reads are throttled too, so "busy" waits and tries again."""
        from azure.core.exceptions import HttpResponseError

        for _ in range(MAX_BUSY_RETRIES):
            try:
                nsg = self._client.network_security_groups.get(self._rg, self._name)
                break
            except HttpResponseError as exc:
                if not _busy(exc):
                    raise ArmError(f"NSG {self.nsg_id}: cannot read it: {_reason(exc)}") from None
                self._wait_busy("read", exc)
            except Exception as exc:
                raise ArmError(f"NSG {self.nsg_id}: cannot read it: {_reason(exc)}") from None
        else:
            raise ArmError(
                f"NSG {self.nsg_id}: read: ARM stayed busy after {MAX_BUSY_RETRIES} tries"
            )
        rules = [rule_from_sdk(r) for r in (nsg.security_rules or [])]
        return Snapshot(etag=nsg.etag, rules=rules)

    def put(self, rule: Rule, etag: str | None) -> str | None:
        """Create or replace one rule; returns the NSG's new etag (rules share it)."""

        def send(headers: dict[str, str]) -> Any:
            return self._client.security_rules.begin_create_or_update(
                self._rg, self._name, rule.name, rule_to_sdk(rule), headers=headers
            ).result()

        written = self._write(f"PUT rule {rule.name}", send, etag)
        return getattr(written, "etag", None)

    def delete(self, name: str, etag: str | None) -> None:
        def send(headers: dict[str, str]) -> Any:
            return self._client.security_rules.begin_delete(
                self._rg, self._name, name, headers=headers
            ).result()

        self._write(f"DELETE rule {name}", send, etag)

    def _write(self, what: str, send: Callable[[dict[str, str]], Any], etag: str | None) -> Any:
        from azure.core.exceptions import (
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        headers = {"If-Match": etag} if etag else {}
        for _ in range(MAX_BUSY_RETRIES):
            if self._deadline.remaining() < max(2 * self._slowest_write, 1.0):
                raise OutOfTime(f"NSG {self.nsg_id}: time budget nearly spent before {what}")
            self.writes += 1
            began = time.monotonic()
            try:
                result = send(headers)
            except HttpResponseError as exc:
                status = exc.status_code or 0
                if status == 412:
                    raise StaleNsg(f"{what}: the NSG changed under us (412)") from None
                if _busy(exc):
                    self._wait_busy(what, exc)
                    continue
                raise ArmError(f"NSG {self.nsg_id}: {what} failed: {_reason(exc)}") from None
            except (ServiceRequestError, ServiceResponseError) as exc:
                # A lost answer may hide a write that happened: only a fresh read can tell.
                raise StaleNsg(f"{what}: no answer ({exc.__class__.__name__})") from None
            self._slowest_write = max(self._slowest_write, time.monotonic() - began)
            return result
        raise ArmError(f"NSG {self.nsg_id}: {what}: ARM stayed busy after {MAX_BUSY_RETRIES} tries")

    def _wait_busy(self, what: str, exc: Any) -> None:
        """Honour ``Retry-After``, but never past the run's time budget."""
        wait = min(_retry_after(exc), MAX_WAIT_S, max(self._deadline.remaining(), 0))
        log.info("%s: ARM busy (%s), retrying in %.1f s", what, exc.status_code, wait)
        time.sleep(wait)


def _busy(exc: Any) -> bool:
    return exc.status_code in (409, 429) and _code(exc) in BUSY_CODES


def _code(exc: Any) -> str:
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", "") or "")


def _retry_after(exc: Any) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else 5.0
    except ValueError:
        return 5.0


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    code = _code(exc)
    message = str(getattr(getattr(exc, "error", None), "message", "") or exc).splitlines()[0]
    parts = [str(status) if status else "", code, message]
    return " ".join(p for p in parts if p)
