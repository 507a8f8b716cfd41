"""parse_discovery: the Service Tag Discovery API shape (recording 03, api 2021-03-01)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from sync.core.selection import select
from sync.errors import FeedError
from sync.feeds.azure.parse import parse_discovery

from .conftest import PUBLIC, parsed, raw_json

ORIGIN = "https://management.azure.com/subscriptions/0/providers/Microsoft.Network/locations/eastus/serviceTags"


def api_payload() -> dict[str, Any]:
    """A real release rewritten into the API's shape as recorded (string numbers, state...)."""
    raw = raw_json(PUBLIC)
    values = []
    for value in raw["values"]:
        props = value["properties"]
        values.append(
            {
                "name": value["name"],
                "id": value["id"],
                "serviceTagChangeNumber": "73",
                "properties": {
                    "changeNumber": str(props["changeNumber"]),
                    "region": props["region"],
                    "state": "GA",
                    "networkFeatures": props["networkFeatures"] or ["API", "NSG"],
                    "systemService": props["systemService"],
                    "addressPrefixes": props["addressPrefixes"],
                },
            }
        )
    return {
        "name": "Public",
        "id": "/subscriptions/0/providers/Microsoft.Network/serviceTags/Public",
        "type": "Microsoft.Network/serviceTags",
        "changeNumber": "73",
        "cloud": "Public",
        "values": values,
        "nextLink": "",
    }


def test_discovery_shape_parses() -> None:
    release = parse_discovery(api_payload(), origin=ORIGIN, cloud="Public")
    assert release.kind == "api"
    assert release.change_number == "73"
    tag = release.find("ActionGroup")
    assert tag.change_number == str(raw_json(PUBLIC)["values"][0]["properties"]["changeNumber"])
    assert tag.state == "GA"
    assert tag.region_id is None
    assert select(release, ["ActionGroup"]).change_numbers == {"ActionGroup": tag.change_number}


class ModelLike(Mapping[str, Any]):
    """An SDK "hybrid" model: a Mapping over the REST JSON, not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if isinstance(value, dict):
            return ModelLike(value)
        if isinstance(value, list):
            return [ModelLike(v) if isinstance(v, dict) else v for v in value]
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_mapping_models_are_accepted() -> None:
    payload = api_payload()
    payload["values"] = payload["values"][:600]
    release = parse_discovery(ModelLike(payload), origin=ORIGIN, cloud="Public")
    assert len(release.tags) == 600


def test_discovery_fingerprint_differs_from_the_files() -> None:
    """The API's change numbers are another series: a switch of source is never "unchanged"."""
    api = parse_discovery(api_payload(), origin=ORIGIN, cloud="Public")
    assert select(api, ["AzureCloud"]).prefixes == select(parsed(PUBLIC), ["AzureCloud"]).prefixes
    assert select(api, ["AzureCloud"]).sha256 != select(parsed(PUBLIC), ["AzureCloud"]).sha256


def test_discovery_wrong_cloud() -> None:
    with pytest.raises(FeedError, match="cloud 'Public' but IPSYNC_CLOUD is 'China'"):
        parse_discovery(api_payload(), origin=ORIGIN, cloud="China")


def test_discovery_too_few_tags() -> None:
    payload = api_payload()
    payload["values"] = payload["values"][:100]
    with pytest.raises(FeedError, match="only 100 tags, but a Public release has at least 500"):
        parse_discovery(payload, origin=ORIGIN, cloud="Public")


def test_discovery_missing_field_names_tag() -> None:
    payload = api_payload()
    del payload["values"][3]["properties"]["changeNumber"]
    name = payload["values"][3]["name"]
    with pytest.raises(
        FeedError, match=rf"tag '{name}' \(values\[3\]\): missing field 'properties.changeNumber'"
    ):
        parse_discovery(payload, origin=ORIGIN, cloud="Public")


def test_discovery_not_an_object() -> None:
    with pytest.raises(FeedError, match="not a service tags document"):
        parse_discovery([], origin=ORIGIN, cloud="Public")  # type: ignore[arg-type]
