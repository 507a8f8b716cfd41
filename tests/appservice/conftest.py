"""Fixtures for the App Service kind: the engine's settings and plain REST to the emulator."""

from __future__ import annotations

import pytest
from engine.conftest import _no_ipsync_env, settings_for  # noqa: F401  (fixtures)

from armemu import Emulator
from tests.contract.harness import Arm


@pytest.fixture
def arm(emulator: Emulator) -> Arm:
    return Arm(emulator)
