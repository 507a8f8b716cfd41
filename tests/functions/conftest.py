"""Azurite (the real storage emulator) for the Functions app's tests, and per-test storage.

Uses an Azurite blob service already listening (``IPSYNC_TEST_AZURITE_BLOB_PORT``, or one
answering on 10000), or else installs Azurite from npm into ``.azurite/`` on first use and
starts it on a free loopback port for the session.
"""

from __future__ import annotations

import contextlib
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

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

ROOT = Path(__file__).resolve().parents[2]
AZURITE_DIR = ROOT / ".azurite"
AZURITE_BIN = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={DEV_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def _is_azurite(port: int) -> bool:
    """True if an Azurite blob service answers on the port (its Server header says so)."""
    url = f"http://127.0.0.1:{port}/devstoreaccount1?comp=list"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            server = response.headers.get("Server", "")
    except urllib.error.HTTPError as exc:  # 403 without a signature: still Azurite
        server = exc.headers.get("Server", "")
    except OSError:
        return False
    return "azurite" in server.lower()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("Azurite is needed: install Node.js 18+ (npm) or start Azurite yourself")
    subprocess.run(
        [npm, "install", "--no-save", "--prefix", str(AZURITE_DIR), "azurite@3"],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The connection string of a running Azurite blob service."""
    given = os.environ.get("IPSYNC_TEST_AZURITE_BLOB_PORT")
    if given:
        if not _is_azurite(int(given)):
            pytest.fail(f"IPSYNC_TEST_AZURITE_BLOB_PORT={given}: no Azurite answers there")
        yield connection_string(int(given))
        return
    if _is_azurite(10000):
        yield connection_string(10000)
        return
    if not AZURITE_BIN.exists():
        _install()
    port = _free_port()
    location = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
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
        while not _is_azurite(port):
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"Azurite did not start on port {port}: {err[-500:]}")
            time.sleep(0.2)
        yield connection_string(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: no IPSYNC_* or storage settings from outside."""
    for var in list(os.environ):
        if var.startswith(("IPSYNC_", "AzureWebJobsStorage", "APPLICATIONINSIGHTS_")) and (
            var != "IPSYNC_TEST_AZURITE_BLOB_PORT"
        ):
            monkeypatch.delenv(var)


@pytest.fixture
def storage(azurite: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContainerClient]:
    """A fresh container, set as the app's storage for this test; deleted afterwards."""
    name = f"t{uuid.uuid4().hex[:20]}"
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    monkeypatch.setenv("IPSYNC_CONTAINER", name)
    container = BlobServiceClient.from_connection_string(azurite).get_container_client(name)
    yield container
    with contextlib.suppress(ResourceNotFoundError):
        container.delete_container()
