"""Calling the app's functions as the host would, with real ``azure.functions`` objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    function: Callable[[func.HttpRequest], func.HttpResponse],
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    body: bytes | dict[str, Any] = b"",
    route_params: dict[str, str] | None = None,
) -> Answer:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    request = func.HttpRequest(
        method=method,
        url=url,
        params=params or {},
        body=raw,
        route_params=route_params or {},
        headers={"Content-Type": "application/json"} if raw else {},
    )
    response = function(request)
    data = response.get_body()
    return Answer(
        response.status_code,
        json.loads(data) if data else None,
        dict(response.headers),
    )


def run_of(function: Callable[[func.HttpRequest], func.HttpResponse], run_id: str) -> Answer:
    return call(function, "GET", f"/api/runs/{run_id}", route_params={"run_id": run_id})
