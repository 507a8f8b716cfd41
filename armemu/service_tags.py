"""The Discovery API answer (``.../locations/{loc}/serviceTags``) built from a release file.

The API differs from the downloadable file (recording 03 in tests/data): change numbers are
strings, each tag carries ``serviceTagChangeNumber`` and ``properties.state``, ``regionId`` is
absent, and only NSG-usable tags are listed.
"""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path
from typing import Any


def read_release(path: Path) -> dict[str, Any]:
    """A Service Tags release file, plain or ``.gz``/``.xz`` compressed."""
    raw = path.read_bytes()
    if raw[:6] == b"\xfd7zXZ\x00":
        raw = lzma.decompress(raw)
    elif raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data: dict[str, Any] = json.loads(raw.decode("utf-8-sig"))
    return data


def discovery_response(release: dict[str, Any], subscription: str) -> dict[str, Any]:
    cloud = str(release.get("cloud", "Public"))
    change = str(release["changeNumber"])
    values = []
    for tag in release["values"]:
        props = tag["properties"]
        features = props.get("networkFeatures")
        if features is not None and "NSG" not in features:
            continue
        values.append(
            {
                "name": tag["name"],
                "id": tag["id"],
                "serviceTagChangeNumber": change,
                "properties": {
                    "changeNumber": str(props["changeNumber"]),
                    "region": props.get("region", ""),
                    "state": "GA",
                    "networkFeatures": features,
                    "systemService": props.get("systemService", ""),
                    "addressPrefixes": list(props["addressPrefixes"]),
                },
            }
        )
    return {
        "name": cloud,
        "id": f"/subscriptions/{subscription}/providers/Microsoft.Network/serviceTags/{cloud}",
        "type": "Microsoft.Network/serviceTags",
        "changeNumber": change,
        "cloud": cloud,
        "values": values,
        "nextLink": "",
    }
