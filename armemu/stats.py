"""What the admin API reports of the requests served: counts per method, per request path, per
written resource, the last writes with their bodies, and the requests ARM's emulated
throttling refused (``throttled``)."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from typing import Any

WRITES = {"PUT": "puts", "DELETE": "deletes", "PATCH": "patches"}
#: Writes ``GET /_emulator/writes`` keeps, newest last (older ones are dropped).
MAX_LOGGED_WRITES = 500


class Stats:
    """Counters of the requests an emulator served (the caller holds the store's lock)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.by_resource: dict[str, Counter[str]] = defaultdict(Counter)
        self.writes_by_resource: Counter[str] = Counter()
        #: the last writes: method, path, api-version, answer status, body as sent, and the
        #: resource as a GET at that api-version answered just before (null: none)
        self.written: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED_WRITES)

    def clear(self) -> None:
        self.counts.clear()
        self.by_resource.clear()
        self.writes_by_resource.clear()
        self.written.clear()

    def count(self, method: str, path: str) -> None:
        self.counts["requests"] += 1
        if method in WRITES:
            self.counts["writes"] += 1
            self.counts[WRITES[method]] += 1
            self.writes_by_resource[owning_resource(path)] += 1
        self.by_resource[path.lower()][method] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            **{
                name: self.counts[name]
                for name in ("requests", "writes", "puts", "deletes", "patches", "throttled")
            },
            "by_resource": {k: dict(v) for k, v in self.by_resource.items()},
            "writes_by_resource": dict(self.writes_by_resource),
        }


def owning_resource(path: str) -> str:
    """The top-level resource id a request path writes to (a rule's NSG, a rule's server)."""
    parts = path.rstrip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return path.lower()
    at = lowered.index("providers")
    return "/".join(parts[: at + 4]).lower()
