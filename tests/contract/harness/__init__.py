"""What each kind gives the kind contract suite: how to make its resource in the emulator with
an owner's own entries, read what it allows, and tamper with it as a person could.

Resources are made and read with plain REST calls shaped like Microsoft's REST API spec
examples (:class:`Arm`), never through ipsync's own code. A kind's module here defines
``HARNESS``; the suite (``tests/contract/test_contract.py``) is the same for every kind.
"""

from __future__ import annotations

import json
import lzma
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import netaddr

SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-contract"


def group_id(sub: str = SUB, rg: str = RG) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


#: A bundled real release, for the cases that need a real tag's size.
RELEASE = Path(__file__).resolve().parents[2] / "data" / "ServiceTags_Public_20251017.json.xz"


def bundled_ipv4(tag: str) -> netaddr.IPSet:
    """The IPv4 addresses ``tag`` publishes in :data:`RELEASE`, read here, not by ipsync."""
    document = json.loads(lzma.decompress(RELEASE.read_bytes()))
    (found,) = [v for v in document["values"] if v["name"] == tag]
    return netaddr.IPSet(p for p in found["properties"]["addressPrefixes"] if ":" not in p)


def cidrs(values: Iterable[str]) -> netaddr.IPSet:
    """Addresses of entries written as addresses, CIDRs or ``a-b`` ranges."""
    found = netaddr.IPSet()
    for value in values:
        text = value.strip()
        if "-" in text:
            first, last = text.split("-", 1)
            found.add(netaddr.IPRange(first, last))
        elif text and text not in ("*", "Any"):
            found.add(netaddr.IPNetwork(text))
    return found


class Arm:
    """Plain HTTPS calls to the emulator (its CA, any bearer token), following long-running
    operations as a client does."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.client = httpx.Client(
            base_url=emulator.endpoint,
            verify=ssl.create_default_context(cafile=str(emulator.ca_bundle)),
            headers={"Authorization": "Bearer contract"},
            timeout=30,
        )

    def call(self, method: str, path: str, api: str, body: Any = None) -> Any:
        """The resource after a request: a long-running write is awaited first."""
        answer = self.client.request(method, path, params={"api-version": api}, json=body)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text}")
        self._settle(answer)
        if method == "DELETE":
            return None
        if method in ("PUT", "PATCH", "POST") and answer.status_code in (202, 204):
            return self.call("GET", path, api)
        body = answer.json() if answer.content else None
        for _ in range(100):  # a state that later reads advance (Key Vault's RegisteringDns)
            state = ((body or {}).get("properties") or {}).get("provisioningState")
            if state in (None, "Succeeded") or method == "GET":
                return body
            body = self.client.get(path, params={"api-version": api}).json()
        raise AssertionError(f"{path} stayed {state}")

    def _settle(self, answer: httpx.Response) -> None:
        status = answer.headers.get("Azure-AsyncOperation")
        location = answer.headers.get("Location")
        for _ in range(100):
            if status:
                polled = self.client.get(status)
                if polled.json().get("status") not in ("InProgress", "Accepted"):
                    return
            elif location:  # 202, or Front Door's 200/201 with the policy
                polled = self.client.get(location)
                if polled.status_code != 202:
                    return
            else:
                return
            time.sleep(0.01)
        raise AssertionError("a long-running operation did not end")

    def get(self, path: str, api: str) -> Any:
        return self.call("GET", path, api)

    def put(self, path: str, api: str, body: Any) -> Any:
        return self.call("PUT", path, api, body)

    def patch(self, path: str, api: str, body: Any) -> Any:
        return self.call("PATCH", path, api, body)

    def history(self, resource_id: str) -> list[Any]:
        found = {k.lower(): v for k, v in self.emulator.history().items()}
        return [*found.get(resource_id.lower(), [])]


@dataclass
class Harness:
    """One kind, as the contract suite drives it. Defaults suit a resource whose allow-list
    is one list of entries (Storage, Key Vault, ACR, ...); a kind overrides what differs."""

    kind: ClassVar[str]
    #: Entries the kind holds at most (the fit cases stay within it).
    capacity: ClassVar[int]
    #: A broad entry the service accepts, for the hand edit that widens one of ipsync's.
    wide: ClassVar[str] = "20.0.0.0/8"
    #: Why a case does not apply to the kind (case name -> reason); the suite skips it saying so.
    not_applicable: ClassVar[dict[str, str]] = {}
    #: The method and path fragment of its writes (faults are injected there).
    write_method: ClassVar[str] = "PATCH"
    #: Whether its writes are long-running (a failed operation can be injected).
    long_running: ClassVar[bool] = False
    #: Whether its writes are ARM requests, counted in the report's ``writes``.
    counts_writes: ClassVar[bool] = True
    #: The api-version its calls use.
    api: ClassVar[str] = ""
    #: Extra target fields the suite's targets need.
    fields: dict[str, Any] = field(default_factory=dict)

    def create(self, arm: Arm, name: str, foreign: Sequence[str]) -> str:
        """Make the resource holding ``foreign`` (an owner's own entries); its id."""
        raise NotImplementedError

    def target(self, resource: str, selectors: Sequence[str], **fields: Any) -> dict[str, Any]:
        return {"kind": self.kind, "resource": resource, "service_tags": [*selectors],
                "families": ["v4"], **self.fields, **fields}  # fmt: skip

    def entries(self, arm: Arm, resource: str) -> list[str]:
        """Every entry of the allow-list as the service answers it."""
        raise NotImplementedError

    def allowed(self, arm: Arm, resource: str) -> netaddr.IPSet:
        return cidrs(self.entries(arm, resource))

    def foreign(self, arm: Arm, resource: str, mine: netaddr.IPSet) -> Any:
        """What of the resource is not ipsync's (compared before and after, as answered)."""
        return [e for e in self.entries(arm, resource) if cidrs([e]).isdisjoint(mine)]

    def add_entry(self, arm: Arm, resource: str, value: str) -> None:
        """The owner adds an entry by hand."""
        raise NotImplementedError

    def widen(self, arm: Arm, resource: str, to: str) -> None:
        """Someone widens one of ipsync's entries by hand to ``to``."""
        raise NotImplementedError

    def states(self, arm: Arm, resource: str) -> list[netaddr.IPSet]:
        """What the allow-list allowed after each completed write (the emulator's history)."""
        return [cidrs(state) for state in arm.history(resource)]

    def write_path(self, resource: str) -> str:
        return resource

    def set_tags(self, arm: Arm, resource: str, tags: dict[str, str]) -> None:
        """The resource's Azure tags become ``tags`` (a Tag Contributor's doing)."""
        arm.patch(resource, self.api, {"tags": tags})

    def valid(self, entry: str) -> bool:
        """Whether the service takes ``entry`` as one of its entries."""
        try:
            netaddr.IPNetwork(entry)
        except (netaddr.AddrFormatError, ValueError):
            return False
        return True


@dataclass
class Folder:
    """Where a kind without an ARM resource keeps its list (the state folder)."""

    path: Path
