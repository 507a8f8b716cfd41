"""Reads a run's resources share (``Clients.shared``): made once, waited for, never a failure."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sync.azure.client import Clients
from sync.errors import ArmError


def test_a_shared_read_is_made_once_while_the_others_wait(emulator_settings: Any) -> None:
    clients = Clients(emulator_settings)
    started, release = threading.Event(), threading.Event()
    made: list[int] = []

    def read() -> tuple[str, ...]:
        started.set()
        release.wait(10)
        made.append(1)
        return ("fw", "gw")

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(clients.shared, ("ipgroups", "rg"), read)
        started.wait(10)
        others = [pool.submit(clients.shared, ("ipgroups", "rg"), read) for _ in range(3)]
        release.set()
        answers = [first.result(), *(o.result() for o in others)]
    assert made == [1]
    assert all(a is answers[0] for a in answers)
    assert clients.shared(("ipgroups", "other"), lambda: ("hw",)) == ("hw",)


def test_a_failed_shared_read_is_read_again_by_the_next(emulator_settings: Any) -> None:
    clients = Clients(emulator_settings)

    def fails() -> tuple[str, ...]:
        raise ArmError("403 on the listing")

    with pytest.raises(ArmError, match="403"):
        clients.shared("key", fails)
    assert clients.shared("key", lambda: ("fw",)) == ("fw",)
