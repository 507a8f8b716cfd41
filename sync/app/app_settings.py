"""Settings of the Functions app itself, and the manual run request it queues.

The run's own settings are :class:`sync.settings.Settings` (published lists among them); these
say how the app keeps its runs (lock, history, HTTP wait, force) and whom it notifies.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.app import notify
from sync.app.fanout import WorkItem
from sync.report import RUN_ID
from sync.settings import build_settings

log = logging.getLogger(__name__)


class AppSettings(BaseSettings):
    """Settings of the Functions app itself (the run's own are :class:`sync.settings.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="IPSYNC_", extra="ignore", frozen=True)

    #: How long an HTTP caller waits for the report before getting 202 (responses end at 230 s).
    http_wait_s: float = Field(default=200.0, gt=0, lt=230)
    #: Stored reports to keep; older ones are deleted after each run.
    history_keep: int = Field(default=200, ge=1)
    #: Must be true for ``POST /api/sync/force`` (admin key only) to run.
    allow_force: bool = False
    #: Container for the lock blob and the run history.
    container: str = Field(default="ipsync", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    #: Lease length; renewed every third of it, so a dead worker frees the lock this fast.
    lease_s: int = Field(default=60, ge=15, le=60)
    #: ``/api/health`` reports unhealthy when the last run is older than this.
    health_max_age_h: float = Field(default=48.0, gt=0)
    #: A feed whose release has not changed, or that no run could read, for longer than this
    #: is noted in the run's report, its notification and ``/api/health`` (Microsoft
    #: publishes the service tags weekly).
    feed_stale_after_hours: float = Field(default=240.0, gt=0)
    #: Webhook for run notifications (a secret: never logged); empty or an unresolved Key
    #: Vault reference turns them off.
    notify_url: SecretStr | None = None
    #: The form of the notification: `json` (the generic body), `slack` (Block Kit, for a
    #: Slack incoming webhook) or `teams` (an Adaptive Card, for a Teams Workflows webhook).
    notify_format: notify.NotifyFormat = "json"
    #: Fan a run out over the Functions platform in work items of at most this many resources
    #: (none spanning two subscriptions), each a queued invocation; 0 runs in one invocation.
    partition_size: int = Field(default=0, ge=0)
    #: Work items of one subscription that may run at once (each holds one of its slots).
    subscription_parallelism: int = Field(default=1, ge=1, le=16)

    @field_validator("notify_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        url = notify.webhook(value.get_secret_value() if value is not None else None)
        return None if url is None else SecretStr(url)


class RunRequest(BaseModel):
    """A manual run on the queue (JSON, base64-encoded as the Functions host expects)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    run_id: str = Field(pattern=RUN_ID.pattern)
    dry_run: bool = False
    force: bool = False
    requested_at: str
    #: The part of a fanned-out run this message carries (:mod:`sync.app.fanout`).
    item: WorkItem | None = None

    def details(self) -> dict[str, Any]:
        """What a progress record repeats of the request."""
        return self.model_dump(exclude={"run_id", "item"})


def load_app_settings() -> AppSettings:
    """Read :class:`AppSettings`; raises :class:`SettingsError` naming the setting."""
    _warn_unknown_variables()
    return build_settings(AppSettings, {})


@functools.cache
def _warn_unknown_variables() -> None:
    """Once per worker: an ``IPSYNC_*`` app setting that names nothing is likely a typo."""
    from sync.feedsettings import unknown_variables
    from sync.settings import Settings

    for warning in unknown_variables({*Settings.model_fields, *AppSettings.model_fields}):
        log.warning("%s", warning)
