"""``Microsoft.Storage/checkNameAvailability``: storage account names are global.

Reasons and messages as Storage answers them (StorageAccountCheckNameAvailability example and
real answers): ``AccountNameInvalid`` for anything but 3-24 lower-case letters and digits,
``AlreadyExists`` for a name any subscription holds.
"""

from __future__ import annotations

import re
from typing import Any

from armemu import errors
from armemu.state import Reply, ResourceStore

STORAGE_TYPE = "Microsoft.Storage/storageAccounts"
STORAGE_NAME = re.compile(r"^[a-z0-9]{3,24}$")


def check_storage(store: ResourceStore, body: Any) -> Reply:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise errors.missing_property("name")
    if str(body.get("type") or "").lower() != STORAGE_TYPE.lower():
        raise errors.bad_request_format(f"'type' must be '{STORAGE_TYPE}'.")
    name = body["name"]
    if not STORAGE_NAME.match(name):
        return _taken("AccountNameInvalid", f"{name} is not a valid storage account name. Storage "
                      "account name must be between 3 and 24 characters in length and use numbers "
                      "and lower-case letters only.")  # fmt: skip
    taken = any(
        item.type.lower() == STORAGE_TYPE.lower() and item.name.lower() == name
        for item in store.snapshot()
    )
    if taken:
        return _taken("AlreadyExists", f"The storage account named {name} is already taken.")
    return Reply(200, {"nameAvailable": True})


def _taken(reason: str, message: str) -> Reply:
    return Reply(200, {"nameAvailable": False, "reason": reason, "message": message})
