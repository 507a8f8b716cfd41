"""Errors that carry a one-line message a user can act on.

The CLI prints ``str(error)`` and exits 1; the Functions app puts it in the report. Each
message names the setting, tag, file or prefix at fault.
"""


class IpsyncError(Exception):
    """Base class: a failure whose message is fit to show a user as it is."""


class SettingsError(IpsyncError):
    """A setting (environment, config file or argument) is missing or invalid."""


class FeedError(IpsyncError):
    """The service-tags release could not be read, or is implausible."""


class DownloadError(IpsyncError):
    """The release could not be fetched."""


class TargetError(IpsyncError):
    """One target is invalid; other targets still run."""

    def __init__(self, message: str, resource: str = "", kind: str = "") -> None:
        super().__init__(message)
        #: The ARM id of the target's resource and the target's kind, when known.
        self.resource = resource
        self.kind = kind


class ArmError(IpsyncError):
    """Azure Resource Manager refused or failed a request."""


class SignInError(ArmError):
    """No Azure credential worked: the run stops once, before any target, with one line."""
