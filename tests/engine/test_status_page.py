"""The status page, rendered from the reports of real runs (the engine against the emulator,
the bundled weekly releases, a target a guard refuses) and read back from headless Chromium:
every target with its state, the refused one with its reason, a rule someone else deleted
(drift), a feed gone stale, the lists, the change, the runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import netaddr
import pytest

from sync.app.status import PublishedList, render_status
from sync.changes import ChangeEntry, change_entry
from sync.core.diff import diff_releases
from sync.core.freshness import observe, problems
from sync.engine import run
from sync.feeds import load_release
from sync.report import Report
from tests.kinds_lists.conftest import FIREWALLS

from .conftest import SUB, SettingsFor, foreign_rule, make_nsg

DATA = Path(__file__).resolve().parents[1] / "data"
RELEASES = [
    DATA / "ServiceTags_Public_20251010.json.xz",
    DATA / "ServiceTags_Public_20251017.json.xz",
]
STORAGE = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/agents"
)
LIST_URL = "https://ipsync-demo.azurewebsites.net/api/lists/edl"


def chromium() -> str:
    """Debian's chromium (``.ci/run`` installs it); the test is skipped without it, but not
    under CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def browse(page: Path, *args: str) -> str:
    """What headless Chromium makes of the page (its stdout)."""
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


class Tables(HTMLParser):
    """The text of every table row, per section (the ``id`` of the ``h2`` before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._section = dict(attrs).get("id") or ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("div", "br", "li", "p") and self._cell is not None:
            self._cell.append("\n")  # a line of its own, as a person sees it

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def week(
    emulator_settings: Any, network_client: Any, settings_for: SettingsFor
) -> tuple[list[Report], PublishedList, ChangeEntry | None]:
    """The demo's week with three targets (one refused) and a published list."""
    from sync.azure.client import arm_client

    backup = make_nsg(network_client, "nsg-backup", [foreign_rule("corp", 200, ["10.0.0.0/8"])])
    agents = make_nsg(network_client, "nsg-agents")
    storage = FIREWALLS["storage"]
    storage.make(arm_client(emulator_settings, storage.client_type), "agents", [], "Standard")
    targets = [
        {"nsg": backup, "service_tags": ["Storage.WestEurope", "AzureMonitor"]},
        # A guard refuses this one: its prefixes do not fit in 50 entries exactly.
        {"nsg": agents, "service_tags": ["AzureCloud.westeurope"], "max_entries": 50},
        {
            "kind": "storage",
            "resource": STORAGE,
            "service_tags": ["AzureCloud.westeurope"],
            "fit": "cover",
        },
    ]
    lists = {"edl": {"service_tags": ["AzureCloud.westeurope"], "max_entries": 450}}
    reports = [run(settings_for(source, targets, lists=lists)) for source in RELEASES[:1] * 2]
    # Before the next week's run someone deletes a rule ipsync wrote: that run reports drift.
    (rule,) = [r.name for r in network_client.security_rules.list("rg", "nsg-backup")
               if r.name.startswith("ipsync-") and r.name.endswith("-v6")]  # fmt: skip
    network_client.security_rules.begin_delete("rg", "nsg-backup", rule).result()
    reports.append(run(settings_for(RELEASES[1], targets, lists=lists)))
    release = load_release(settings_for(RELEASES[1], targets))
    folder = Path(settings_for(RELEASES[1], targets).cache_dir or "")
    document = json.loads((folder / "state" / "lists" / "edl.json").read_text())
    published = PublishedList(
        "edl",
        LIST_URL,
        {"status": "applied", "problem": None, "release": "373", "run_id": reports[-1].run_id},
        published_at=reports[-1].started_at,
        entries=len(document["v4"]) + len(document["v6"]),
    )
    change = change_entry(
        diff_releases(load_release(settings_for(RELEASES[0], targets)), release),
        cloud="Public",
        selected=["Storage.WestEurope", "AzureMonitor", "AzureCloud.westeurope"],
        targets=reports[-1].targets,
        seen_at=datetime.fromisoformat(reports[-1].started_at or ""),
        run_id=reports[-1].run_id,
    )
    return reports, published, change


def test_the_page_shows_every_target_with_its_state_in_chromium(
    week: tuple[list[Report], PublishedList, ChangeEntry | None], tmp_path: Path
) -> None:
    reports, published, change = week
    latest = reports[-1]
    statuses = {t.resource.rsplit("/", 1)[-1]: t.status for t in latest.targets}
    assert statuses == {
        "nsg-backup": "applied",  # AzureMonitor changed that week
        "nsg-agents": "refused",
        "agents": "applied",
        "edl": "applied",
    }
    # The app adds a note when a feed has been stale for longer than its setting.
    since = datetime(2025, 10, 7, 4, 30, tzinfo=UTC)
    watch = observe({}, {"azure": "373"}, None, since)
    latest.notes = list(problems(watch, datetime(2025, 10, 17, 5, 0, tzinfo=UTC), 240).values())
    page = tmp_path / "status.html"
    page.write_text(
        render_status(
            reports,
            lists=[published],
            change=change,
            generated_at=datetime(2025, 10, 17, 5, 0, tzinfo=UTC),
        ),
        encoding="utf-8",
    )
    seen = Tables()
    seen.feed(browse(page, "--dump-dom"))

    rows = {row[1].split()[0]: row for row in seen.rows["targets"][1:]}
    assert set(rows) == {"rg/nsg-backup", "rg/nsg-agents", "rg/agents", "lists/edl"}
    for target in latest.targets:
        name = target.resource.rsplit("/", 1)[-1]
        row = rows["lists/edl" if target.kind == "list" else f"rg/{name}"]
        assert row[0] == target.kind
        assert row[2] == target.status
        if target.fit is not None:
            assert row[3] == f"{target.fit.entries:,} of {target.fit.capacity:,}"
            assert row[4] == f"{target.fit.extra_addresses:,}"
    refused = next(t for t in latest.targets if t.status == "refused")
    assert refused.error is not None
    assert re.search(r"needs \d+ entries but 50 fit \(max_entries 50\); refused", refused.error)
    assert rows["rg/nsg-agents"][6].startswith(f"refused: {' '.join(refused.error.split())}")
    # The Storage account holds 400 entries of its 400: the page says it is near capacity.
    assert rows["rg/agents"][3] == "400 of 400"
    assert "near capacity: 400 of 400 entries in use" in rows["rg/agents"][6]
    assert rows["rg/nsg-backup"][5] == _minute(latest.started_at)
    assert (
        "drift: the IPv6 entries ipsync wrote were removed by someone else since its last run "
        f"(+0 -{_v6_64s(reports[0], 'nsg-backup')} /64s); a sync writes them again"
    ) in rows["rg/nsg-backup"][6]
    assert not any("drift: " in row[6] for name, row in rows.items() if name != "rg/nsg-backup")

    (edl,) = seen.rows["lists"][1:]
    assert edl[:3] == ["edl", LIST_URL, "applied"]
    run_ids = [row[0] for row in seen.rows["runs"][1:]]
    assert run_ids == [r.run_id for r in reversed(reports)]
    text = " ".join(" ".join(seen.text).split())
    (stale,) = latest.notes
    assert stale.startswith("feed azure: release 373 unchanged for 240.5 h")
    assert " ".join(stale.split()) in text
    assert change is not None
    assert "Latest change Public release 372 -> 373: IPv4 +" in text
    assert re.search(r"AzureCloud\.westeurope ?: IPv4 \+42 -0 addresses", text)


def _v6_64s(report: Report, nsg: str) -> str:
    """The /64s of the IPv6 entries ``report``'s run left in ``nsg`` (netaddr's count)."""
    (target,) = [t for t in report.targets if t.resource.endswith(f"/{nsg}")]
    written = netaddr.IPSet(p for c in target.changes for p in c.added if ":" in p)
    rounded = round(written.size / 2**64)
    return f"{'' if rounded * 2**64 == written.size else '~'}{rounded:,}"


def _minute(iso: str | None) -> str:
    return datetime.fromisoformat(iso or "").strftime("%Y-%m-%d %H:%M UTC")


def test_the_page_renders_as_an_image(
    week: tuple[list[Report], PublishedList, ChangeEntry | None], tmp_path: Path
) -> None:
    reports, published, change = week
    page = tmp_path / "status.html"
    page.write_text(
        render_status(reports, lists=[published], change=change, generated_at=datetime.now(UTC)),
        encoding="utf-8",
    )
    shot = tmp_path / "status.png"
    browse(page, f"--screenshot={shot}", "--window-size=1280,1800", "--hide-scrollbars")
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == 1280
