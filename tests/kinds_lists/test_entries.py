"""The entries one selected prefix becomes on a list kind, asked once per plan."""

from __future__ import annotations

import pytest

from sync.kinds import get_kind
from sync.kinds.iprules import IpRuleKind


def test_a_refused_length_becomes_its_halves_on_every_plan() -> None:
    storage = get_kind("storage")
    assert isinstance(storage, IpRuleKind)
    for _ in range(2):
        assert storage.entries("20.1.2.0/31") == ("20.1.2.0/32", "20.1.2.1/32")
        assert storage.entries("20.1.2.0/30") == ("20.1.2.0/30",)
        with pytest.raises(ValueError, match="not an IPv4 address"):
            storage.entries("20.1.2/30")
