"""A target an Azure tag selected opens at most what the operator lets tags open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from armemu import Emulator
from sync.engine import run

from .conftest import SettingsFor, make_nsg, nsg_id, rules_of, write_release

#: A regional tag of 8,192 IPv4 addresses.
TAGS = {"Wide.WestEurope": ["20.50.0.0/19"], "Narrow.WestEurope": ["20.60.0.0/24"]}


def test_a_tag_selected_target_beyond_the_bound_is_refused_even_forced(
    emulator: Emulator, network_client: Any, settings_for: SettingsFor, tmp_path: Path
) -> None:
    make_nsg(network_client, "wide", tags={"ipsync": "Wide.WestEurope", "ipsync-families": "v4"})
    make_nsg(network_client, "narrow", tags={"ipsync": "Narrow.WestEurope"})
    make_nsg(network_client, "named")
    named = {"nsg": nsg_id("named"), "service_tags": ["Wide.WestEurope"], "families": ["v4"]}
    feed = write_release(tmp_path / "r.json", TAGS)
    settings = settings_for(feed, [named], tag_max_addresses_v4=4096)
    for force in (False, True):
        report = run(settings, force=force)
        by_nsg = {t.resource.rsplit("/", 1)[-1]: t for t in report.targets}
        assert by_nsg["wide"].status == "refused"
        assert "IPSYNC_TAG_MAX_ADDRESSES_V4" in (by_nsg["wide"].error or "")
        assert not [n for n in rules_of(network_client, "wide") if n.startswith("ipsync")]
    assert by_nsg["narrow"].status in ("applied", "unchanged")
    assert by_nsg["named"].status in ("applied", "unchanged")  # the settings name it: no bound
