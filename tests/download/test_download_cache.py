"""Conditional GET against the on-disk cache, on a real local HTTPS server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sync.feeds import fetch as download
from sync.feeds.cache import default_cache_dir
from sync.feeds.fetch import fetch_url

from .loopback import FileServer, Route, Tls

ROOT = Path(__file__).parents[2]
PATH = "/download/7/1/D/ServiceTags_Public_20251017.json"
ETAG = '"0x8DE0D6F5A1B2C3D"'
MODIFIED = "Mon, 20 Oct 2025 17:01:02 GMT"


@pytest.fixture
def release_route(https_server: FileServer, release_bytes: bytes) -> Route:
    route = Route(body=release_bytes, etag=ETAG, last_modified=MODIFIED)
    https_server.routes[PATH] = route
    return route


@pytest.mark.usefixtures("release_route")
def test_second_fetch_sends_validators_and_downloads_no_body(
    https_server: FileServer, client: httpx.Client, tmp_path: Path, release_bytes: bytes
) -> None:
    url = https_server.url(PATH)
    first = fetch_url(url, cache_dir=tmp_path, client=client)
    second = fetch_url(url, cache_dir=tmp_path, client=client)

    assert (first.data, first.from_cache, first.origin) == (release_bytes, False, url)
    assert (second.data, second.from_cache, second.origin) == (release_bytes, True, url)
    assert [(entry.status, entry.body_bytes) for entry in https_server.log] == [
        (200, len(release_bytes)),
        (304, 0),
    ]
    assert "if-none-match" not in https_server.log[0].headers
    assert https_server.log[1].headers["if-none-match"] == ETAG
    assert https_server.log[1].headers["if-modified-since"] == MODIFIED
    assert https_server.log[1].headers["user-agent"].startswith("ipsync/")


def test_last_modified_alone_is_enough_to_revalidate(
    https_server: FileServer, client: httpx.Client, tmp_path: Path
) -> None:
    https_server.routes[PATH] = Route(body=b"{}", last_modified=MODIFIED)
    fetch_url(https_server.url(PATH), cache_dir=tmp_path, client=client)
    second = fetch_url(https_server.url(PATH), cache_dir=tmp_path, client=client)

    assert (second.data, second.from_cache) == (b"{}", True)
    assert "if-none-match" not in https_server.log[1].headers


def test_changed_file_replaces_the_cached_copy(
    https_server: FileServer, client: httpx.Client, tmp_path: Path, release_route: Route
) -> None:
    url = https_server.url(PATH)
    fetch_url(url, cache_dir=tmp_path, client=client)
    release_route.body, release_route.etag = b'{"changeNumber": 2}', '"new"'
    changed = fetch_url(url, cache_dir=tmp_path, client=client)
    again = fetch_url(url, cache_dir=tmp_path, client=client)

    assert (changed.data, changed.from_cache) == (b'{"changeNumber": 2}', False)
    assert (again.data, again.from_cache) == (b'{"changeNumber": 2}', True)
    assert https_server.log[2].headers["if-none-match"] == '"new"'


@pytest.mark.usefixtures("release_route")
def test_cache_survives_a_new_process_using_the_default_client(
    https_server: FileServer, client: httpx.Client, tls: Tls, tmp_path: Path, release_bytes: bytes
) -> None:
    """The child trusts the test CA through SSL_CERT_FILE, as behind a TLS-inspecting proxy."""
    url = https_server.url(PATH)
    fetch_url(url, cache_dir=tmp_path, client=client)
    script = (
        "import hashlib, json, sys; from pathlib import Path;"
        "from sync.feeds.fetch import fetch_url;"
        "f = fetch_url(sys.argv[1], cache_dir=Path(sys.argv[2]));"
        "print(json.dumps([f.from_cache, hashlib.sha256(f.data).hexdigest()]))"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env |= {"SSL_CERT_FILE": str(tls.ca_pem), "PYTHONPATH": str(ROOT)}

    child = subprocess.run(
        [sys.executable, "-c", script, url, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    from_cache, digest = json.loads(child.stdout)
    assert from_cache is True
    assert digest == hashlib.sha256(release_bytes).hexdigest()
    assert [entry.status for entry in https_server.log] == [200, 304]


DAMAGES = {
    "interrupted body write": (".body", lambda data: data[: len(data) // 2]),
    "bit rot in the body": (".body", lambda data: data.replace(b"AzureCloud", b"AzureCl0ud", 1)),
    "truncated metadata": (".json", lambda data: data[:10]),
    "metadata of the wrong shape": (".json", lambda _: b"[]"),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_cache_is_ignored_and_repaired(
    https_server: FileServer,
    client: httpx.Client,
    tmp_path: Path,
    release_route: Route,
    damage: tuple[str, Callable[[bytes], bytes]],
) -> None:
    url = https_server.url(PATH)
    fetch_url(url, cache_dir=tmp_path, client=client)
    suffix, spoil = damage
    [damaged] = tmp_path.glob(f"*{suffix}")
    damaged.write_bytes(spoil(damaged.read_bytes()))
    refetched = fetch_url(url, cache_dir=tmp_path, client=client)
    repaired = fetch_url(url, cache_dir=tmp_path, client=client)

    assert (refetched.data, refetched.from_cache) == (release_route.body, False)
    assert "if-none-match" not in https_server.log[1].headers
    assert (repaired.data, repaired.from_cache) == (release_route.body, True)


@pytest.mark.usefixtures("release_route")
def test_cache_writes_leave_no_temporary_files(
    https_server: FileServer, client: httpx.Client, tmp_path: Path
) -> None:
    fetch_url(https_server.url(PATH), cache_dir=tmp_path, client=client)

    assert {path.suffix for path in tmp_path.iterdir()} == {".body", ".json"}


@pytest.mark.usefixtures("release_route")
def test_unusable_cache_dir_costs_only_the_revalidation(
    https_server: FileServer, client: httpx.Client, tmp_path: Path, release_bytes: bytes
) -> None:
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache directory should be")
    results = [
        fetch_url(https_server.url(PATH), cache_dir=not_a_dir, client=client) for _ in range(2)
    ]

    assert [(r.data, r.from_cache) for r in results] == [(release_bytes, False)] * 2
    assert [entry.status for entry in https_server.log] == [200, 200]


def test_responses_without_validators_are_not_cached(
    https_server: FileServer, client: httpx.Client, tmp_path: Path
) -> None:
    https_server.routes[PATH] = Route(body=b"{}")
    fetch_url(https_server.url(PATH), cache_dir=tmp_path, client=client)

    assert list(tmp_path.iterdir()) == []


class TestDefaultCacheDir:
    def test_xdg_cache_home_wins(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert default_cache_dir() == tmp_path / "xdg" / "ipsync"
        assert default_cache_dir().is_dir()

    def test_home_cache_without_xdg(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        assert default_cache_dir() == tmp_path / ".cache" / "ipsync"

    def test_unwritable_home_falls_back_to_temp_dir(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        read_only_home = tmp_path / "home"
        read_only_home.write_text("not a directory, like a read-only app mount")
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(read_only_home))
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))

        assert default_cache_dir() == tmp_path / "tmp" / "ipsync"


class TestPlantedEntries:
    """A body planted under the server's current ETag would be served on 304 if trusted."""

    @staticmethod
    def plant(cache: Path, url: str) -> None:
        """What another user able to write the folder could leave there: a well-formed entry."""
        download.Cache(cache).store(url, download.Entry(url, ETAG, None, b'{"planted": 1}'))

    def fetch(self, https_server: FileServer, client: httpx.Client, cache: Path) -> bytes:
        return fetch_url(https_server.url(PATH), cache_dir=cache, client=client).data

    @pytest.mark.usefixtures("release_route")
    def test_an_entry_of_ours_alone_is_used(
        self, https_server: FileServer, client: httpx.Client, tmp_path: Path
    ) -> None:
        self.plant(tmp_path, https_server.url(PATH))
        assert self.fetch(https_server, client, tmp_path) == b'{"planted": 1}'  # the control

    @pytest.mark.usefixtures("release_route")
    @pytest.mark.parametrize("what", ["folder", "body", "meta"])
    def test_an_entry_others_may_write_is_not_trusted(
        self,
        what: str,
        https_server: FileServer,
        client: httpx.Client,
        tmp_path: Path,
        release_bytes: bytes,
    ) -> None:
        url = https_server.url(PATH)
        self.plant(tmp_path, url)
        files = {path.suffix: path for path in tmp_path.iterdir()}
        {"folder": tmp_path, "body": files[".body"], "meta": files[".json"]}[what].chmod(0o777)

        assert self.fetch(https_server, client, tmp_path) == release_bytes
        assert "if-none-match" not in https_server.log[0].headers

    @pytest.mark.usefixtures("release_route")
    @pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
    def test_an_entry_of_another_user_is_not_trusted(
        self,
        https_server: FileServer,
        client: httpx.Client,
        tmp_path: Path,
        release_bytes: bytes,
    ) -> None:
        self.plant(tmp_path, https_server.url(PATH))
        for path in tmp_path.iterdir():
            os.chown(path, 12345, 12345)

        assert self.fetch(https_server, client, tmp_path) == release_bytes

    def test_a_shared_folder_gets_no_entries(
        self, https_server: FileServer, client: httpx.Client, tmp_path: Path
    ) -> None:
        https_server.routes[PATH] = Route(body=b"{}", etag=ETAG)
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o777)
        shared.chmod(0o1777)  # like /tmp
        self.fetch(https_server, client, shared)
        assert list(shared.iterdir()) == []

    def test_a_new_cache_folder_is_the_owners_alone(
        self, https_server: FileServer, client: httpx.Client, tmp_path: Path
    ) -> None:
        https_server.routes[PATH] = Route(body=b"{}", etag=ETAG)
        self.fetch(https_server, client, tmp_path / "new" / "ipsync")
        assert (tmp_path / "new" / "ipsync").stat().st_mode & 0o777 == 0o700
