"""Helpers for the emulator tests: raw responses seen by the SDK, and the ARM recordings."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RECORDINGS = Path(__file__).parent.parent / "data" / "arm_recordings"
#: the subscription of the shared fixtures (tests/conftest.py)
SUB = "00000000-0000-0000-0000-000000000000"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
WEAK_ETAG = re.compile(rf'^W/"{GUID}"$')


@dataclass
class Seen:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: Any


class Recorder:
    """An SDK ``raw_response_hook`` that keeps every response of one call, polls included."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []

    def __call__(self, response: Any) -> None:
        http = response.http_response
        http.read()
        text = http.text()
        self.seen.append(
            Seen(
                http.request.method,
                http.request.url,
                http.status_code,
                {k.lower(): v for k, v in http.headers.items()},
                json.loads(text) if text else None,
            )
        )


def recording(name: str) -> list[dict[str, Any]]:
    """The interactions of a vcrpy recording: method, uri, status, headers, parsed body."""
    path = next(RECORDINGS.glob(f"{name}*.yaml"))
    out = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
        text = item["response"]["body"]["string"]
        out.append(
            {
                "method": item["request"]["method"],
                "uri": item["request"]["uri"],
                "status": item["response"]["status"]["code"],
                "headers": {k.lower(): v for k, v in item["response"]["headers"].items()},
                "body": json.loads(text) if text else None,
            }
        )
    return out


def shape(value: Any) -> Any:
    """Field names and value types, the way to compare two ARM bodies structurally."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def raw(
    emulator: Any,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTPS request to the emulator, verified against its CA, without the SDK."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        emulator.endpoint + path, data=data, method=method, headers=headers or {}
    )
    if data is not None:
        request.add_header("Content-Type", "application/json")
    context = ssl.create_default_context(cafile=str(emulator.ca_bundle))
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            status, head, text = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, head, text = exc.code, dict(exc.headers), exc.read()
    return status, {k.lower(): v for k, v in head.items()}, json.loads(text) if text else None


def sdk_client(client_class: Any, emulator: Any, *, subscription: bool = True) -> Any:
    """A real management SDK client against the emulator: its CA, a static token, no waits."""
    from sync.azure.client import StaticTokenCredential

    args: list[Any] = [StaticTokenCredential()]
    if subscription:
        args.append(SUB)
    return client_class(
        *args,
        base_url=emulator.endpoint,
        credential_scopes=[emulator.endpoint + "/.default"],
        connection_verify=str(emulator.ca_bundle),
        polling_interval=0,
        retry_total=0,
    )


def ranges(count: int) -> list[str]:
    """``count`` distinct public /24 networks, for limits."""
    return [f"20.{i // 256}.{i % 256}.0/24" for i in range(count)]
