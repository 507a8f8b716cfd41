"""Signing in to Azure: once per run, in one short line, tokens kept until near expiry."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from sync.azure.client import SignInCredential, sign_in_problem
from sync.errors import SignInError

#: The shape of DefaultAzureCredential's message when no credential of the chain works.
CHAIN_FAILED = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
    "Attempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment "
    "variables are not fully configured.\n"
    "\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable, no "
    "response from the IMDS endpoint.\n"
    "\tAzureCliCredential: Azure CLI not found on path\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines here at "
    "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


class Chain:
    """Stands in for DefaultAzureCredential's chain: counts the sign-ins it is asked for."""

    def __init__(self, answer: AccessToken | Exception) -> None:
        self.answer = answer
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def credential(chain: Chain) -> SignInCredential:
    made = SignInCredential()
    made._chain = chain  # type: ignore[assignment]
    return made


def test_a_failed_chain_is_asked_once_and_said_in_one_short_line() -> None:
    chain = Chain(ClientAuthenticationError(message=CHAIN_FAILED))
    signing = credential(chain)
    for _ in range(3):
        with pytest.raises(SignInError) as caught:
            signing.get_token("https://management.azure.com/.default")
    assert chain.calls == 1
    line = str(caught.value)
    assert "\n" not in line
    assert len(line) < 200
    assert line.startswith("not signed in to Azure: run `az login`")


def test_a_refused_credential_says_which_and_why_in_one_line() -> None:
    problem = sign_in_problem("AADSTS7000215: Invalid client secret provided.\nTrace ID: x")
    assert problem == "Azure sign-in failed: AADSTS7000215: Invalid client secret provided."


def test_a_token_is_kept_until_shortly_before_it_expires() -> None:
    scope = "https://management.azure.com/.default"
    chain = Chain(AccessToken("t1", int(time.time()) + 3600))
    signing = credential(chain)
    assert signing.get_token(scope).token == signing.get_token(scope).token == "t1"
    assert chain.calls == 1
    chain.answer = AccessToken("t2", int(time.time()) + 60)  # expires within the margin
    signing.get_token(scope, claims='{"access_token": {}}')  # a claims challenge asks again
    assert chain.calls == 2
    signing.get_token(scope)
    assert chain.calls == 3  # t2 was too close to expiry to keep
