"""ARM's request throttling: token buckets per subscription (or tenant) and operation type.

Microsoft's "Request limits and throttling" page (the token-bucket throttling ARM moved to in
2024): per subscription and per principal, reads have a bucket of 250 refilled at 25 a second,
writes and deletes 200 refilled at 10 a second; a global bucket per subscription, shared by all
principals, is 15 times each. Tenant-level requests (no subscription in the path) have the same
per-principal buckets. Every answer carries what is left of the bucket the request drew from
(``x-ms-ratelimit-remaining-subscription-reads``, ``-writes`` or ``-deletes`` and their
``-global-`` twins, as real answers show them: 249 and 3749 after one read); an empty bucket
answers 429 ``SubscriptionRequestsThrottled`` with ``Retry-After``, the whole seconds until a
token is back. Limits are per region in ARM; the emulator is one region. The resource
providers' own limits (``x-ms-ratelimit-remaining-resource``) are not emulated.

Resource Graph counts queries apart, per user, in windows ("Guidance for throttled requests":
15 queries every 5 seconds): every answer carries ``x-ms-user-quota-remaining`` and
``x-ms-user-quota-resets-after`` (``hh:mm:ss``); beyond the quota it answers 429 ``RateLimiting``
("Client application has been throttled ...", as real answers word it) with both headers and a
``Retry-After`` (whether ARG sends one is unconfirmed).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from dataclasses import dataclass, field

from armemu.errors import ArmErrorReply

#: how many principals' worth of requests the subscription-wide bucket holds
GLOBAL_FACTOR = 15
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
OPERATIONS = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}


@dataclass(frozen=True)
class Limits:
    """(bucket size, refill per second) of each operation type; the defaults are ARM's."""

    reads: tuple[float, float] = (250, 25)
    writes: tuple[float, float] = (200, 10)
    deletes: tuple[float, float] = (200, 10)
    #: Resource Graph: (queries, window in seconds) per user
    graph: tuple[float, float] = (15, 5)

    def of(self, operation: str) -> tuple[float, float]:
        limits: tuple[float, float] = getattr(self, operation)
        return limits


@dataclass
class Bucket:
    size: float
    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> bool:
        """Refill for the time passed, then take one token if there is one."""
        if self.tokens < 0:
            self.tokens = self.size
        self.tokens = min(self.size, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def wait_s(self) -> int:
        """Whole seconds until one token is back (ARM's Retry-After)."""
        return max(1, math.ceil((1 - self.tokens) / self.rate)) if self.rate > 0 else 3600


@dataclass
class Window:
    """Resource Graph's quota of one user: ``used`` queries since ``start``."""

    start: float
    used: int = 0


class Throttle:
    """Every bucket of one emulator; ``take`` is one ARM request, ``query`` one Resource Graph
    query."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[tuple[str, ...], Bucket] = {}
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def query(self, authorization: str) -> dict[str, str]:
        """The quota headers of a Resource Graph answer, or ArmErrorReply 429 (with them)."""
        quota, length = self.limits.graph
        user = _actor(authorization)
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(user)
            if window is None or now >= window.start + length:
                window = self._windows[user] = Window(now)
            window.used += 1
            left = window.start + length - now
            headers = {
                "x-ms-user-quota-remaining": str(max(0, int(quota) - window.used)),
                "x-ms-user-quota-resets-after": _clock(left),
            }
            if window.used <= quota:
                return headers
            window.used -= 1  # a refused query costs nothing
        raise ArmErrorReply(
            429,
            "RateLimiting",
            "Please provide below info when asking for support: timestamp = now, "
            "correlationId = emulator.",
            details=[{"code": "RateLimiting", "message": "Client application has been throttled "
                      "and should not attempt to repeat the request until an amount of time has "
                      "elapsed. Please see https://aka.ms/resourcegraph-throttling for help."}],
            headers={**headers, "Retry-After": str(max(1, math.ceil(left)))},
        )  # fmt: skip

    def take(self, method: str, path: str, authorization: str) -> dict[str, str]:
        """The rate-limit headers of this request's answer, or ArmErrorReply 429 (with them)."""
        operation = OPERATIONS.get(method, "writes")
        found = _SUBSCRIPTION.match(path)
        scope = "subscription" if found else "tenant"
        owner = found.group(1).lower() if found else "tenant"
        actor = _actor(authorization)
        size, rate = self.limits.of(operation)
        wanted: list[tuple[str, tuple[str, ...], float, float]] = [
            (f"x-ms-ratelimit-remaining-{scope}-{operation}", (scope, owner, operation, actor),
             size, rate)]  # fmt: skip
        if found:
            wanted.append((f"x-ms-ratelimit-remaining-subscription-global-{operation}",
                           (scope, owner, operation), size * GLOBAL_FACTOR,
                           rate * GLOBAL_FACTOR))  # fmt: skip
        now = time.monotonic()
        headers, empty = {}, None
        with self._lock:
            for header, key, bucket_size, bucket_rate in wanted:
                bucket = self._buckets.setdefault(key, Bucket(bucket_size, bucket_rate))
                if not bucket.take(now) and empty is None:
                    empty = bucket
                headers[header] = str(max(0, math.floor(bucket.tokens)))
        if empty is not None:
            raise throttled(operation, scope, owner, actor, empty.wait_s(), headers)
        return headers


def _actor(authorization: str) -> str:
    """The principal behind a bearer token (the token itself stands for it)."""
    return hashlib.sha256(authorization.encode()).hexdigest()[:12]


def _clock(seconds: float) -> str:
    """``hh:mm:ss``, rounded up (as ``x-ms-user-quota-resets-after`` writes a duration)."""
    whole = max(0, math.ceil(seconds))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def throttled(operation: str, scope: str, owner: str, actor: str, wait_s: int,
              headers: dict[str, str]) -> ArmErrorReply:  # fmt: skip
    """ARM's 429 (the message as real answers word it; the tenant code is unconfirmed)."""
    kind = operation.removesuffix("s")
    where = f"subscription '{owner}'" if scope == "subscription" else "tenant"
    return ArmErrorReply(
        429,
        "SubscriptionRequestsThrottled" if scope == "subscription" else "TenantRequestsThrottled",
        f"Number of '{kind}' requests for {where} actor '{actor}' exceeded. Please try again "
        f"after '{wait_s}' seconds after additional tokens are available. Refer to "
        "https://aka.ms/arm-throttling",
        headers={**headers, "Retry-After": str(wait_s)},
    )
