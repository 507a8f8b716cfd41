"""The one place that builds the storage client: connection strings and identities."""

from __future__ import annotations

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from sync.azure.storage import blob_service, queue_service
from sync.errors import SettingsError


def test_connection_string_reaches_azurite(azurite: str) -> None:
    client = blob_service({"AzureWebJobsStorage": azurite})
    assert client.account_name == "devstoreaccount1"
    assert client.get_service_properties() is not None  # a real round trip


def test_connection_string_reaches_azurite_queues(azurite: str) -> None:
    client = queue_service({"AzureWebJobsStorage": azurite})
    assert client.get_service_properties() is not None  # a real round trip


def test_development_storage_shorthand_means_local_azurite() -> None:
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert blob_service(env).url.startswith("http://127.0.0.1:10000/devstoreaccount1")
    assert queue_service(env).url.startswith("http://127.0.0.1:10001/devstoreaccount1")


def test_account_name_uses_a_managed_identity_without_keys() -> None:
    client = blob_service({"AzureWebJobsStorage__accountName": "ipsyncdata"})
    assert client.url.startswith("https://ipsyncdata.blob.core.windows.net")
    assert isinstance(client.credential, DefaultAzureCredential)
    queues = queue_service({"AzureWebJobsStorage__accountName": "ipsyncdata"})
    assert queues.url.startswith("https://ipsyncdata.queue.core.windows.net")


def test_queue_service_uri_is_its_own_setting() -> None:
    env = {"AzureWebJobsStorage__queueServiceUri": "https://acct.queue.core.usgovcloudapi.net"}
    assert queue_service(env).url.startswith("https://acct.queue.core.usgovcloudapi.net")
    with pytest.raises(SettingsError, match="blobServiceUri"):
        blob_service(env)


def test_service_uri_with_user_assigned_identity() -> None:
    client = blob_service(
        {
            "AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.usgovcloudapi.net",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "11111111-2222-3333-4444-555555555555",
        }
    )
    assert client.url.startswith("https://acct.blob.core.usgovcloudapi.net")
    assert isinstance(client.credential, ManagedIdentityCredential)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "setting AzureWebJobsStorage: missing"),
        ({"AzureWebJobsStorage": "garbage"}, "setting AzureWebJobsStorage: not a valid"),
    ],
)
def test_bad_storage_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        blob_service(env)
