"""The one way ipsync reads and writes ARM resources, whatever the kind.

ARM's moods are the same for every resource: 429 (throttled, or another operation on the
resource) and 409 "another operation" mean wait for ``Retry-After`` and try again (requests are
also paced so that ARM seldom throttles: :mod:`sync.azure.pacing`); 412 means the resource
changed under us, so the caller re-reads and re-plans; a lost response may hide a write that
happened, so the caller re-reads too. Long-running writes are polled here
(``Azure-AsyncOperation`` or ``Location``), never past the run's deadline, and the deadline
also stops a write from starting when the run is told to stop. Every PUT, PATCH and DELETE
sent is counted, retries included.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sync.azure.pacing import retry_seconds
from sync.errors import ArmError, SignInError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How often one request is tried when ARM says "busy" before the target fails.
MAX_BUSY_RETRIES = 8
#: Longest single wait for a ``Retry-After``, whatever ARM asks.
MAX_WAIT_S = 60.0
#: Wait when a busy answer or a running operation carries no usable ``Retry-After``.
DEFAULT_WAIT_S = 5.0
#: Error codes of a 409 that means another operation holds the resource; any 429 is busy
#: (throttled, or an NSG's ``RetryableError`` while another operation runs).
BUSY_CODES = frozenset({"AnotherOperationInProgress"})
#: Terminal states of a long-running operation that are not success.
_FAILED = frozenset({"failed", "canceled", "cancelled"})


class Stale(Exception):
    """The resource changed under us (412) or a response was lost: re-read and re-plan."""

    def __init__(self, message: str, *, maybe_written: bool = False) -> None:
        super().__init__(message)
        #: The write may have reached ARM although no answer came back.
        self.maybe_written = maybe_written


class OutOfTime(ArmError):
    """The run's deadline came (or the run was told to stop); what is left waits for next run."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        #: The write was accepted and runs on in Azure: the next run reads what it did.
        self.sent = sent


@dataclass
class Deadline:
    """The run's time budget, shared by every worker, and the run's stop signal."""

    seconds: float
    start: float = field(default_factory=time.monotonic)
    stop: threading.Event | None = None

    def remaining(self) -> float:
        return self.start + self.seconds - time.monotonic()

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up when the run is told to stop."""
        if self.stop is not None:
            self.stop.wait(seconds)
        else:
            time.sleep(seconds)


def reason(exc: BaseException) -> str:
    """``<status> <code> <first line of the message>`` of an SDK error."""
    status = getattr(exc, "status_code", None)
    code = _code(exc)
    message = str(getattr(getattr(exc, "error", None), "message", "") or exc)
    parts = [str(status) if status else "", code, message.splitlines()[0] if message else ""]
    return " ".join(p for p in parts if p) or exc.__class__.__name__


def _code(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", "") or "")


def _busy(exc: Any) -> bool:
    status = getattr(exc, "status_code", None)
    return status == 429 or (status == 409 and _code(exc) in BUSY_CODES)


class ArmWriter:
    """Sends one resource's requests: retries, long-running polls, deadline, write count."""

    def __init__(self, label: str, deadline: Deadline, poll_interval_s: float) -> None:
        self.label = label
        self.writes = 0
        self._deadline = deadline
        self._poll_interval = poll_interval_s
        self._slowest_write = 0.0

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` if the run has the time and is not told to stop; whether it did."""
        if self._deadline.stopped() or self._deadline.remaining() < seconds:
            return False
        self._deadline.sleep(seconds)
        return not self._deadline.stopped()

    def read(self, what: str, call: Callable[[], T]) -> T:
        """A GET; reads are throttled too, so "busy" waits and tries again."""
        from azure.core.exceptions import HttpResponseError

        for _ in range(MAX_BUSY_RETRIES):
            try:
                return call()
            except HttpResponseError as exc:
                if not _busy(exc):
                    raise ArmError(f"{self.label}: cannot {what}: {reason(exc)}") from None
                self._wait_busy(what, exc)
            except SignInError:
                raise  # said once for the run, not as this resource's failure
            except Exception as exc:
                raise ArmError(f"{self.label}: cannot {what}: {reason(exc)}") from None
        raise ArmError(f"{self.label}: {what}: ARM stayed busy after {MAX_BUSY_RETRIES} tries")

    def write(
        self, what: str, send: Callable[[dict[str, str]], Any], etag: str | None, client: Any
    ) -> Any:
        """Send one write with ``If-Match`` and wait for it to finish; returns the SDK's answer.

        ``send(headers)`` makes the request with the SDK and returns the pipeline response
        (begin_* operations are called with ``polling=False`` and a ``cls`` that returns it),
        so that a long-running operation is polled here, under the deadline, through
        ``client``'s pipeline (same credential, TLS and endpoint).
        """
        from azure.core.exceptions import (
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        headers = {"If-Match": etag} if etag else {}
        for _ in range(MAX_BUSY_RETRIES):
            self._check_time(what, max(2 * self._slowest_write, 1.0))
            self.writes += 1
            began = time.monotonic()
            try:
                response = send(headers)
                self._finish(what, response, client)
            except HttpResponseError as exc:
                if (exc.status_code or 0) == 412:
                    raise Stale(f"{what}: the resource changed under us (412)") from None
                if _busy(exc):
                    self._wait_busy(what, exc)
                    continue
                raise ArmError(f"{self.label}: {what} failed: {reason(exc)}") from None
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise Stale(
                    f"{what}: no answer ({exc.__class__.__name__})", maybe_written=True
                ) from None
            self._slowest_write = max(self._slowest_write, time.monotonic() - began)
            return response
        raise ArmError(f"{self.label}: {what}: ARM stayed busy after {MAX_BUSY_RETRIES} tries")

    def _finish(self, what: str, response: Any, client: Any) -> None:
        """Poll a long-running operation to its end, within the deadline."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        http = response.http_response
        url = http.headers.get("Azure-AsyncOperation") or http.headers.get("Location")
        if not url:
            return
        began = time.monotonic()
        headers: Any = http.headers
        while True:
            wait = min(retry_seconds(headers, self._poll_interval), MAX_WAIT_S)
            if self._deadline.remaining() < wait:
                raise OutOfTime(
                    f"{self.label}: {what} was sent but still running after "
                    f"{time.monotonic() - began:.0f} s when the time budget ran out; "
                    "the next run reads what it did",
                    sent=True,
                )
            if wait:
                log.info("%s: %s: waiting %.0f s on ARM", self.label, what, wait)
            self._deadline.sleep(wait)
            polled = _sender(client)(HttpRequest("GET", url))
            headers = polled.headers
            if polled.status_code == 202:
                continue
            if polled.status_code >= 400:
                raise HttpResponseError(response=polled)
            status = str((_json(polled) or {}).get("status", "Succeeded")).lower()
            if status in _FAILED:
                error = (_json(polled) or {}).get("error") or {}
                raise ArmError(
                    f"{self.label}: {what} failed: {error.get('code', status)} "
                    f"{error.get('message', '')}".rstrip()
                )
            if status == "succeeded" or "Azure-AsyncOperation" not in http.headers:
                return

    def _check_time(self, what: str, needed: float) -> None:
        if self._deadline.stopped():
            raise OutOfTime(f"{self.label}: the run was stopped before {what}")
        if self._deadline.remaining() < needed:
            raise OutOfTime(f"{self.label}: time budget nearly spent before {what}")

    def _wait_busy(self, what: str, exc: Any) -> None:
        """Honour ``Retry-After`` (or Resource Graph's quota reset), never past the deadline."""
        response = getattr(exc, "response", None)
        wait = retry_seconds(getattr(response, "headers", None), DEFAULT_WAIT_S)
        wait = min(wait, MAX_WAIT_S, max(self._deadline.remaining(), 0))
        log.info(
            "%s: %s: ARM busy (%s), retrying in %.1f s", self.label, what, exc.status_code, wait
        )
        self._deadline.sleep(wait)


def raw(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """``cls=`` for an SDK operation: hand back the pipeline response, which :meth:`ArmWriter.
    write` needs to poll a long-running operation itself."""
    return pipeline_response


def _sender(client: Any) -> Callable[[Any], Any]:
    """The client's own pipeline: ``send_request`` in newer SDKs, ``_send_request`` in older."""
    send = getattr(client, "send_request", None) or client._send_request
    return cast(Callable[[Any], Any], send)


def _json(response: Any) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
