"""Pacing requests by the budget ARM says is left, so that a busy run slows down before a 429.

ARM counts requests in token buckets per subscription (or tenant), principal and operation
(reads, writes, deletes) and says in every answer what is left of each:
``x-ms-ratelimit-remaining-subscription-reads`` (``-writes``, ``-deletes``, ``tenant-...``) and
the subscription-wide ``-global-`` twins; a resource provider adds its own
(``x-ms-ratelimit-remaining-resource: Microsoft.Compute/HighCostGet3Min;107,...``), and Resource
Graph its per-user quota (``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after``,
``hh:mm:ss``). Every management client ipsync makes sends through :data:`PACER`
(:func:`sync.azure.client.client_options` adds :func:`pacing_policy` to its pipeline), so every
request counts, whichever thread, kind or SDK sends it: reads, writes, polls and queries.

A budget is kept as an estimate: the last answer's figure, less the requests sent after the
one it answered, plus the refill since (ARM's documented pace at first, then what the answers
show). A request goes at once while the estimate stays above :data:`RESERVE`; below it, it
waits until a token is back, so requests are spaced at the refill rate and the budget holds
instead of running dry. A 429 closes its budget for its ``Retry-After`` and halves the refill
assumed for it (a bucket may refill slower than documented); the caller
(:class:`sync.azure.writes.ArmWriter`) still honours the 429 itself.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: Tokens a budget keeps in hand: other principals draw on the subscription-wide bucket, and
#: answers to requests sent at once by several workers come back in any order, so an estimate
#: is off by about as many requests as are in flight.
RESERVE = 10.0
#: How much the assumed refill moves when an answer shows more or less left than estimated.
PACE_STEP = 1.25
#: Refill per second ARM documents for its buckets (subscription and tenant alike), by
#: operation; and the pace assumed for a resource provider's budget, which no header names.
REFILL_PER_S = {"reads": 25.0, "writes": 10.0, "deletes": 10.0}
PROVIDER_REFILL_PER_S = 1.0
#: Slowest pace a budget is halved down to after 429s.
MIN_REFILL_PER_S = 0.5
#: Longest a request waits here (a longer ``Retry-After`` is the caller's to honour).
MAX_WAIT_S = 60.0
#: Resource Graph's quota window when an answer names none (its documented 5 seconds).
GRAPH_WINDOW_S = 5.0

_OPERATIONS = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_PROVIDER = re.compile(r"/providers/([^/]+)", re.IGNORECASE)
_ARM_HEADER = re.compile(
    r"^x-ms-ratelimit-remaining-(subscription|tenant)-(?:global-)?(reads|writes|deletes)$"
)
_RESOURCE_HEADER = "x-ms-ratelimit-remaining-resource"
_GRAPH_REMAINING = "x-ms-user-quota-remaining"
_GRAPH_RESETS = "x-ms-user-quota-resets-after"
_CONTEXT_KEY = "ipsync_pacing"

Key = tuple[str, ...]


@dataclass
class Budget:
    """One bucket as estimated from the answers: tokens left as of ``stamp``, refilled at
    ``refill`` a second (at first the documented pace, then what the answers show).

    Resource Graph's quota is a window rather than a bucket (``window``): it comes back whole
    at ``window_ends``.
    """

    refill: float
    window: bool = False
    tokens: float | None = None  # unknown until an answer says
    stamp: float = 0.0
    sent: int = 0  # requests sent under this budget
    seen: int = 0  # the latest request whose answer set ``tokens``
    closed_until: float = 0.0
    window_ends: float = 0.0

    def __post_init__(self) -> None:
        self.ceiling = self.refill

    def level(self, at: float) -> float:
        assert self.tokens is not None
        return self.tokens + (at - self.stamp) * self.refill

    def take(self, now: float) -> tuple[float, int]:
        """Reserve a token: (seconds to wait before sending, the request's number)."""
        start = max(now, self.closed_until)
        if self.window:
            if self.tokens is not None and self.tokens < 1 and start < self.window_ends:
                start = self.window_ends
            if start >= self.window_ends:
                self.tokens = None  # a new window: whole again
        elif self.tokens is not None:
            level = self.level(start)
            if level - 1 < RESERVE:
                start += (RESERVE + 1 - level) / self.refill
                level = RESERVE + 1
            self.tokens, self.stamp = level, start
        if self.tokens is not None:
            self.tokens -= 1
        self.sent += 1
        return start - now, self.sent

    def learn(self, now: float, number: int, remaining: float) -> None:
        """An answer to request ``number`` says ``remaining``; those sent after it count too.

        While the budget is low (so the bucket is not capped), more left than estimated means
        the bucket refills faster than assumed, less means slower: the pace follows, gently.
        """
        if number < self.seen:
            return  # a later answer already spoke
        self.seen = number
        actual = remaining - (self.sent - number)
        if self.tokens is not None and not self.window and actual < 2 * RESERVE:
            estimated = self.level(now)
            if actual > estimated + 1:
                self.refill = min(self.refill * PACE_STEP, self.ceiling)
            elif actual < estimated - 1:
                self.refill = max(self.refill / PACE_STEP, MIN_REFILL_PER_S)
        self.tokens, self.stamp = actual, now

    def throttled(self, now: float, wait: float) -> None:
        """ARM answered 429 for this budget: nobody sends before ``wait`` is over, and the
        bucket is taken to refill at half the pace assumed so far (once per closing: the
        other answers of the same burst say nothing new)."""
        if now >= self.closed_until and not self.window:
            self.refill = max(self.refill / 2, MIN_REFILL_PER_S)
        self.closed_until = max(self.closed_until, now + wait)


class Pacer:
    """Every budget of the process, by endpoint and scope; thread-safe."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._budgets: dict[Key, Budget] = {}
        self._lock = threading.Lock()
        #: requests that waited here, and budgets found exhausted by a 429 (for benchmarks)
        self.waits = 0
        self.exhausted = 0

    def before(self, method: str, url: str) -> list[tuple[Key, int]]:
        """Wait until every budget the request draws on allows it; the tokens it took."""
        now = self._clock()
        taken, wait = [], 0.0
        with self._lock:
            for key in _keys(method, url, self._known_provider_keys(method, url)):
                delay, number = self._budget(key).take(now)
                wait = max(wait, delay)
                taken.append((key, number))
            if wait > 0:
                self.waits += 1
        if wait > 0:
            self._sleep(min(wait, MAX_WAIT_S))
        return taken

    def after(
        self,
        method: str,
        url: str,
        status: int,
        headers: Any,
        taken: list[tuple[Key, int]],
    ) -> None:
        """Learn what the answer says is left; a 429 closes the budgets it names."""
        now = self._clock()
        numbers = dict(taken)
        with self._lock:
            for key, remaining in _remaining(method, url, headers):
                budget = self._budget(key)
                if key not in numbers:  # a provider budget first named by this answer
                    budget.sent += 1
                    numbers[key] = budget.sent
                budget.learn(now, numbers[key], remaining)
                if budget.window:
                    resets = reset_seconds(headers)
                    budget.window_ends = now + (GRAPH_WINDOW_S if resets is None else resets)
                # 429 also means "another operation holds the resource" (an NSG's
                # RetryableError): only an exhausted budget is throttling.
                if status == 429 and remaining < 1:
                    self.exhausted += 1
                    budget.throttled(now, retry_seconds(headers))

    def _budget(self, key: Key) -> Budget:
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = Budget(_refill(key), window=key[1] == "graph")
        return budget

    def _known_provider_keys(self, method: str, url: str) -> list[Key]:
        """Provider budgets earlier answers named for this subscription, provider and operation."""
        prefix = _provider_prefix(method, url)
        if prefix is None:
            return []
        return [k for k in self._budgets if k[: len(prefix)] == prefix]


@functools.cache
def pacing_policy() -> Any:
    """The azure-core pipeline policy that puts every request through :data:`PACER`; placed
    after the SDK's retry policy, it sees each request actually sent. Built on first use, so
    that importing this module does not import azure-core."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class PacingPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_request(self, request: Any) -> None:
            http = request.http_request
            request.context[_CONTEXT_KEY] = PACER.before(http.method, http.url)

        def on_response(self, request: Any, response: Any) -> None:
            http = response.http_response
            sent = request.http_request
            taken = request.context.get(_CONTEXT_KEY, [])
            PACER.after(sent.method, sent.url, http.status_code, http.headers, taken)

    return PacingPolicy()


def _scope(url: str) -> tuple[str, str, str]:
    """(endpoint, "subscription" or "tenant", the subscription id or "")."""
    parts = urlsplit(url)
    found = _SUBSCRIPTION.match(parts.path)
    if found:
        return parts.netloc.lower(), "subscription", found.group(1).lower()
    return parts.netloc.lower(), "tenant", ""


def _keys(method: str, url: str, providers: list[Key]) -> Iterator[Key]:
    host, scope, owner = _scope(url)
    operation = _OPERATIONS.get(method.upper(), "writes")
    yield host, scope, owner, operation
    if _is_graph(url):
        yield host, "graph"
    yield from providers


def _provider_prefix(method: str, url: str) -> Key | None:
    host, scope, owner = _scope(url)
    found = _PROVIDER.search(urlsplit(url).path)
    if scope != "subscription" or found is None:
        return None
    return host, "provider", owner, found.group(1).lower(), _OPERATIONS.get(method, "writes")


def _is_graph(url: str) -> bool:
    return "/providers/microsoft.resourcegraph/" in urlsplit(url).path.lower()


def _refill(key: Key) -> float:
    if key[1] == "provider":
        return PROVIDER_REFILL_PER_S
    if key[1] == "graph":
        return 0.0  # a window, not a bucket
    return REFILL_PER_S[key[3]]


def _remaining(method: str, url: str, headers: Any) -> Iterator[tuple[Key, float]]:
    """Each budget an answer names and the lowest figure it gives for it."""
    host, _, owner = _scope(url)
    lowest: dict[Key, float] = {}
    for name, value in headers.items():
        lowered = name.lower()
        figure = _number(value)
        match = _ARM_HEADER.match(lowered)
        if match and figure is not None:
            key: Key = (host, match.group(1), owner, match.group(2))
            lowest[key] = min(lowest.get(key, figure), figure)
        elif lowered == _RESOURCE_HEADER:
            prefix = _provider_prefix(method, url)
            for policy, count in _policies(str(value)):
                if prefix is not None:
                    key = (*prefix, policy)
                    lowest[key] = min(lowest.get(key, count), count)
        elif lowered == _GRAPH_REMAINING and figure is not None:
            lowest[host, "graph"] = figure
    yield from lowest.items()


def _policies(value: str) -> Iterator[tuple[str, float]]:
    """``Microsoft.Compute/HighCostGet3Min;107,Microsoft.Compute/...;1189`` as pairs."""
    for part in value.split(","):
        name, _, count = part.strip().rpartition(";")
        figure = _number(count)
        if name and figure is not None:
            yield name.lower(), figure


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def reset_seconds(headers: Any) -> float | None:
    """Resource Graph's ``x-ms-user-quota-resets-after`` (``hh:mm:ss``) in seconds, or None."""
    value = headers.get(_GRAPH_RESETS) if headers is not None else None
    found = re.fullmatch(r"\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)\s*", str(value or ""))
    if found is None:
        return None
    hours, minutes, seconds = found.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def retry_seconds(headers: Any, default: float = 5.0) -> float:
    """How long a busy answer asks to wait: ``Retry-After`` (whole seconds), else Resource
    Graph's quota reset, else ``default``."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        if value is not None:
            return max(float(value), 0.0)
    except ValueError:
        pass
    resets = reset_seconds(headers)
    return resets if resets is not None else default


#: The process's pacer: ARM's budgets belong to the principal and subscription, not to a run,
#: so every run and client of this process shares it.
PACER = Pacer()
