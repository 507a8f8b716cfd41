"""Injected faults (admin API): errors, failed operations, delays and lost responses."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

METHODS = ("PUT", "DELETE", "GET", "PATCH", "POST", "*")
KINDS = ("status", "lro", "delay_s", "lose_response")


@dataclass
class Fault:
    method: str
    path_contains: str
    count: int
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    lro: str | None = None
    delay_s: float | None = None
    lose_response: bool = False

    def injected(self, default_code: str) -> tuple[int, str, str] | None:
        """Wait ``delay_s``; then the (status, code, message) to answer with, if any."""
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.status is None:
            return None
        return self.status, self.code or default_code, self.message or "An injected error occurred."

    def matches(self, method: str, path: str, long_running: bool) -> bool:
        if self.count <= 0 or self.method not in ("*", method):
            return False
        if self.lro is not None and not long_running:
            return False
        return self.path_contains.lower() in path.lower()


def parse_faults(raw: Any) -> list[Fault]:
    """Faults from the admin request body; a ValueError names what is wrong."""
    items = raw if isinstance(raw, list) else [raw]
    faults = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each fault must be a JSON object")
        kinds = [k for k in KINDS if k in item]
        if len(kinds) != 1:
            raise ValueError(f"a fault needs exactly one of {', '.join(KINDS)}: {item}")
        method = str(item.get("method", "*")).upper()
        if method not in METHODS:
            raise ValueError(f"fault method must be one of {', '.join(METHODS)}: {method}")
        if "lro" in item and item["lro"] != "Failed":
            raise ValueError('fault "lro" only takes "Failed"')
        faults.append(
            Fault(
                method=method,
                path_contains=str(item.get("path_contains", "")),
                count=int(item.get("count", 1)),
                status=int(item["status"]) if "status" in item else None,
                code=item.get("code"),
                message=item.get("message"),
                retry_after=float(item["retry_after"]) if "retry_after" in item else None,
                lro=item.get("lro"),
                delay_s=float(item["delay_s"]) if "delay_s" in item else None,
                lose_response=bool(item.get("lose_response", False)),
            )
        )
    return faults
