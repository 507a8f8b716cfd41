"""Azurite (the real storage emulator: blob and queue) for the Functions app's tests.

Uses the Azurite services listening on ``AZURITE_TEST_BLOB_PORT`` and
``AZURITE_TEST_QUEUE_PORT`` (default 10000 and 10001), or else starts them there (on free
loopback ports when unset) for the session, installing Azurite from npm into ``.azurite/`` on
first use. Without Node.js the tests that need Azurite are skipped, all for one stated reason
(under CI they fail instead).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueServiceClient

from armemu import Emulator

from ._app import App, make_app
from ._host import QueueHost

ROOT = Path(__file__).resolve().parents[2]
AZURITE_DIR = ROOT / ".azurite"
AZURITE_BIN = AZURITE_DIR / "node_modules" / ".bin"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#: service: (the variable naming its port, Azurite's default port)
SERVICES = {
    "blob": ("AZURITE_TEST_BLOB_PORT", 10000),
    "queue": ("AZURITE_TEST_QUEUE_PORT", 10001),
}
QUEUES = ("ipsync-runs", "ipsync-runs-poison")


def connection_string(blob_port: int, queue_port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={DEV_KEY};BlobEndpoint=http://127.0.0.1:{blob_port}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1;"
    )


def _is_azurite(service: str, port: int) -> bool:
    """True if Azurite's ``service`` answers on the port (its Server header says so)."""
    url = f"http://127.0.0.1:{port}/devstoreaccount1?comp=list"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            server = response.headers.get("Server", "")
    except urllib.error.HTTPError as exc:  # 403 without a signature: still Azurite
        server = exc.headers.get("Server", "")
    except OSError:
        return False
    return f"azurite-{service}" in server.lower()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cannot_start() -> str | None:
    """Why Azurite cannot be started here, or None."""
    advice = (
        "install Node.js 18+ with npm, or start Azurite (blob and queue) and set "
        "AZURITE_TEST_BLOB_PORT and AZURITE_TEST_QUEUE_PORT"
    )
    if shutil.which("node") is None:
        return f"Azurite is not running and cannot be started: no node on PATH; {advice}"
    if not (AZURITE_BIN / "azurite-queue").exists() and shutil.which("npm") is None:
        return f"Azurite is not running and cannot be installed: no npm on PATH; {advice}"
    return None


def _install() -> None:
    npm = shutil.which("npm")
    assert npm is not None  # checked by _cannot_start
    subprocess.run(
        [npm, "install", "--no-save", "--prefix", str(AZURITE_DIR), "azurite@3"],
        check=True,
        capture_output=True,
        timeout=300,
    )


@contextlib.contextmanager
def _started(service: str, port: int, location: Path) -> Iterator[None]:
    """Azurite's ``service`` on ``port`` until the block ends."""
    process = subprocess.Popen(
        [
            str(AZURITE_BIN / f"azurite-{service}"),
            f"--{service}Host",
            "127.0.0.1",
            f"--{service}Port",
            str(port),
            "--location",
            str(location),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _is_azurite(service, port):
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"Azurite {service} did not start on port {port}: {err[-500:]}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _configured(service: str) -> tuple[int, bool]:
    """The port of Azurite's ``service`` and whether a variable gave it."""
    variable, default = SERVICES[service]
    given = os.environ.get(variable)
    return (int(given), True) if given else (default, False)


@functools.cache
def _skip_reason() -> str | None:
    """Why the Azurite tests cannot run here; None when Azurite runs or can be started."""
    if all(_is_azurite(service, _configured(service)[0]) for service in SERVICES):
        return None
    return _cannot_start()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip the Azurite tests when it cannot run, from here so that the reason is one line.

    Under CI they fail instead (in the fixture): a CI run must not pass by skipping them.
    """
    if "azurite" in getattr(item, "fixturenames", ()) and not os.environ.get("CI"):
        reason = _skip_reason()
        if reason is not None:
            pytest.skip(reason)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The connection string of running Azurite blob and queue services."""
    ports: dict[str, int] = {}
    missing: dict[str, int] = {}
    for service in SERVICES:
        port, given = _configured(service)
        if _is_azurite(service, port):
            ports[service] = port
        else:
            missing[service] = port if given else _free_port()
    with contextlib.ExitStack() as stack:
        if missing:
            reason = _cannot_start()
            if reason is not None:
                pytest.fail(reason)
            if not (AZURITE_BIN / "azurite-queue").exists():
                _install()
            location = tmp_path_factory.mktemp("azurite")
            for service, port in missing.items():
                stack.enter_context(_started(service, port, location))
                ports[service] = port
        yield connection_string(ports["blob"], ports["queue"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses Azurite, so ``-m "not azurite"`` leaves them out."""
    for item in items:
        if "azurite" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.azurite)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: no IPSYNC_* or storage settings from outside."""
    for var in list(os.environ):
        if var.startswith(("IPSYNC_", "AzureWebJobsStorage", "APPLICATIONINSIGHTS_")):
            monkeypatch.delenv(var)


def _empty_queues(connection: str) -> None:
    service = QueueServiceClient.from_connection_string(connection)
    for name in QUEUES:
        with contextlib.suppress(ResourceNotFoundError):
            service.get_queue_client(name).clear_messages()


@pytest.fixture
def storage(azurite: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContainerClient]:
    """A fresh container and empty run queues, set as the app's storage for this test."""
    name = f"t{uuid.uuid4().hex[:20]}"
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    monkeypatch.setenv("IPSYNC_CONTAINER", name)
    _empty_queues(azurite)
    container = BlobServiceClient.from_connection_string(azurite).get_container_client(name)
    yield container
    _empty_queues(azurite)
    with contextlib.suppress(ResourceNotFoundError):
        container.delete_container()


@pytest.fixture
def host(azurite: str) -> QueueHost:
    """The Functions host's part for the queue triggers, stepped by the test."""
    return QueueHost(azurite)


@pytest.fixture
def app(
    storage: ContainerClient,
    emulator: Emulator,
    network_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> App:
    """The app's settings: two NSGs in the ARM emulator, storage in Azurite."""
    return make_app(storage, emulator, network_client, monkeypatch)
