"""An IP Group's entries as ipsync compares them, read again in every run."""

from __future__ import annotations

import pytest

from sync.kinds.ipgroup.plan import normalise


@pytest.mark.parametrize(
    ("entry", "cidrs"),
    [
        ("20.40.1.7", ("20.40.1.7/32",)),
        (" 20.40.1.7/24 ", ("20.40.1.0/24",)),  # host bits dropped
        ("20.40.0.0-20.40.1.255", ("20.40.0.0/23",)),
        ("20.40.0.1-20.40.0.2", ("20.40.0.1/32", "20.40.0.2/32")),
        ("20.40.0.300", ("20.40.0.300",)),  # refused by the service: kept, so it is replaced
    ],
)
def test_an_entry_reads_the_same_in_every_run(entry: str, cidrs: tuple[str, ...]) -> None:
    assert [normalise(entry) for _ in range(2)] == [cidrs, cidrs]
