"""The ownership registry: the same contract on a folder and on Azure Blob (Azurite)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from sync.errors import SettingsError
from sync.settings import Settings, load_settings
from sync.state import State
from sync.state.ownership import (
    BlobRegistry,
    Claim,
    Conflict,
    FolderRegistry,
    Record,
    Registry,
    StateError,
    record_name,
)
from sync.state.place import open_place

ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.Storage/storageAccounts/sto1"
)


@pytest.fixture
def container_name() -> str:
    return f"o{uuid.uuid4().hex[:20]}"


@pytest.fixture(params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
def registry(
    request: pytest.FixtureRequest, tmp_path: Path, container_name: str
) -> Iterator[Registry]:
    if request.param == "folder":
        yield FolderRegistry(tmp_path / "state")
        return
    connection = request.getfixturevalue("azurite")
    container = BlobServiceClient.from_connection_string(connection).get_container_client(
        container_name
    )
    yield BlobRegistry(container, "ownership/")
    with contextlib.suppress(ResourceNotFoundError):
        container.delete_container()


def test_no_record_then_create_then_update_over_its_etag(registry: Registry) -> None:
    empty = registry.load(ID)
    assert not empty.exists
    assert empty.owned == frozenset()
    first = registry.save(ID, Record(frozenset({"20.1.0.0/24"}), None))
    loaded = registry.load(ID.upper())  # ARM ids match in any case
    assert (loaded.owned, loaded.etag) == (frozenset({"20.1.0.0/24"}), first)
    second = registry.save(ID, Record(frozenset({"20.2.0.0/24"}), first))
    assert second != first
    assert registry.load(ID).owned == frozenset({"20.2.0.0/24"})


def test_a_save_over_a_stale_etag_or_a_second_create_conflicts(registry: Registry) -> None:
    first = registry.save(ID, Record(frozenset({"20.1.0.0/24"}), None))
    registry.save(ID, Record(frozenset({"20.3.0.0/24"}), first))
    with pytest.raises(Conflict):
        registry.save(ID, Record(frozenset({"20.9.0.0/24"}), first))
    with pytest.raises(Conflict):
        registry.save(ID, Record(frozenset({"20.9.0.0/24"}), None))
    assert registry.load(ID).owned == frozenset({"20.3.0.0/24"})


def test_records_of_two_resources_are_apart(registry: Registry) -> None:
    other = ID.replace("sto1", "sto2")
    registry.save(ID, Record(frozenset({"20.1.0.0/24"}), None))
    assert not registry.load(other).exists
    registry.save(other, Record(frozenset(), None))
    assert registry.load(other).exists
    assert registry.load(ID).owned == frozenset({"20.1.0.0/24"})


def test_folder_records_are_readable_json_with_no_leftovers(tmp_path: Path) -> None:
    folder = FolderRegistry(tmp_path / "state")
    folder.save(ID, Record(frozenset({"20.1.0.0/24", "20.0.0.0/24"}), None))
    (path,) = (tmp_path / "state").iterdir()
    assert path.name == record_name(ID)
    assert path.name.startswith("sto1-")
    body = json.loads(path.read_text())
    assert (body["resource"], body["owned"]) == (ID, ["20.0.0.0/24", "20.1.0.0/24"])


def test_a_corrupt_folder_record_is_an_error_not_an_empty_one(tmp_path: Path) -> None:
    folder = FolderRegistry(tmp_path)
    (tmp_path / record_name(ID)).write_text("{not json")
    with pytest.raises(StateError, match="not readable"):
        folder.load(ID)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"owned": "20.0.0.0/24"}, "owned"),  # a string, once read as its characters
        ({"owned": ["20.0.0.0/24", 7]}, "owned"),
        ({"release": 373}, "release"),
        ({"release": ["373"]}, "release"),
        ({"peaks": {"v4": "256"}}, "peaks"),
        ({"peaks": {"v4": True}}, "peaks"),
        ({"peaks": {"v4": 2.5}}, "peaks"),
        ({"peaks": [256]}, "peaks"),
        ({"resource": ID.replace("sto1", "sto2")}, "resource"),  # another resource's record
        ({"resource": None}, "resource"),
        ({"written": "20.0.0.0/24"}, "written"),
        ({"marks": [373]}, "marks"),
        ({"fingerprint": 7}, "fingerprint"),
        ({"generation": "3"}, "generation"),
        ({"generation": True}, "generation"),
        ({"generation": -1}, "generation"),
        (
            {"pending": {"generation": 4, "owned": "20.0.0.0/24", "token": "t", "at": "x"}},
            "pending",
        ),
        ({"pending": {"generation": "4", "owned": [], "token": "t", "at": "x"}}, "pending"),
        ({"pending": {"generation": 4, "owned": []}}, "pending"),
    ],
)
def test_a_record_with_a_wrong_type_is_refused_naming_record_and_field(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    folder = FolderRegistry(tmp_path)
    folder.save(
        ID,
        Record(
            frozenset({"20.0.0.0/24"}),
            None,
            "373",
            {"v4": 256},
            frozenset({"20.0.0.0/24"}),
            ("373",),
            "f",
        ),
    )
    path = tmp_path / record_name(ID)
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, **change}))
    with pytest.raises(StateError) as caught:
        folder.load(ID)
    assert str(path) in str(caught.value)
    assert f"field '{field}'" in str(caught.value)


def test_a_generation_and_a_claim_are_kept_as_written(registry: Registry) -> None:
    claim = Claim(4, frozenset({"20.0.0.0/24"}), "run-1", "2026-01-01T00:00:00+00:00")
    registry.save(ID, Record(frozenset({"20.1.0.0/24"}), generation=3, pending=claim))
    loaded = registry.load(ID)
    assert (loaded.generation, loaded.pending) == (3, claim)


def test_a_record_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / record_name(ID)).write_text('["20.0.0.0/24"]')
    with pytest.raises(StateError, match="not a JSON object"):
        FolderRegistry(tmp_path).load(ID)


def open_registry(settings: Settings, env: dict[str, str]) -> Registry:
    """The registry a run opens for these settings and this environment."""
    return State(lambda: open_place(settings, env)).registry


def test_state_setting_picks_the_backend(tmp_path: Path) -> None:
    default = open_registry(load_settings(cache_dir=tmp_path), env={})
    assert isinstance(default, FolderRegistry)
    assert default.folder == tmp_path / "state"
    chosen = open_registry(load_settings(state=str(tmp_path / "mine")), env={})
    assert isinstance(chosen, FolderRegistry)
    assert chosen.folder == tmp_path / "mine"
    with pytest.raises(SettingsError, match="must be https://"):
        open_registry(load_settings(state="http://example.com/c"), env={})


@pytest.mark.azurite
def test_a_container_url_uses_the_apps_storage_connection(
    azurite: str, container_name: str
) -> None:
    endpoint = BlobServiceClient.from_connection_string(azurite).url.rstrip("/")
    url = f"{endpoint}/{container_name}/records"
    env = {"AzureWebJobsStorage": azurite}
    registry = open_registry(load_settings(state=url), env=env)
    assert isinstance(registry, BlobRegistry)
    registry.save(ID, Record(frozenset({"20.1.0.0/24"}), None))
    container = BlobServiceClient.from_connection_string(azurite).get_container_client(
        container_name
    )
    assert [b.name for b in container.list_blobs()] == [f"records/{record_name(ID)}"]
    # unset IPSYNC_STATE in the Functions app: its own container, under ownership/
    app = open_registry(load_settings(), env={**env, "IPSYNC_CONTAINER": container_name})
    assert isinstance(app, BlobRegistry)
    assert not app.load(ID).exists
    app.save(ID, Record(frozenset(), None))
    assert sorted(b.name for b in container.list_blobs()) == [
        f"ownership/{record_name(ID)}",
        f"records/{record_name(ID)}",
    ]
    container.delete_container()
