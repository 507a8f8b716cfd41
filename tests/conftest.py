"""Shared fixtures: a running ARM emulator and an SDK client configured against it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from armemu import Emulator

# With CI set, hypothesis replays the same examples on every run, so a result is reproducible;
# otherwise each run explores new ones. No example has a deadline: timing is not under test.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

#: the subscription the tests work in (any GUID works with the emulator)
SUB = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator(lro_polls=1, retry_after=0) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_session: Emulator) -> Emulator:
    """The session's emulator, emptied (NSGs, faults, history, stats) for this test."""
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def emulator_settings(emulator: Emulator) -> Any:
    from sync.settings import load_settings

    return load_settings(
        arm_endpoint=emulator.endpoint,
        graph_endpoint=emulator.endpoint,
        ca_bundle=emulator.ca_bundle,
        credential="emulator",
        subscription_id=SUB,
        poll_interval_s=0,
    )


@pytest.fixture
def network_client(emulator_settings: Any) -> Any:
    """``make_client(settings)`` against the emulator, polling as fast as Retry-After allows."""
    from sync.azure.client import make_client

    return make_client(emulator_settings)
