"""For random sequences of releases, every apply lands exactly on the desired state, touches no
foreign rule, writes once per changed rule and never drops an address it keeps."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armemu import Emulator
from sync.engine import run

from .conftest import (
    SettingsFor,
    addresses,
    assert_nothing_lost,
    content,
    foreign_rule,
    history_len,
    make_nsg,
    merged,
    rules_of,
    target,
    write_release,
)

#: a small pool, with neighbours that aggregate (/28s into /27s ..., /48s into /47s)
POOL = (
    [f"192.0.2.{16 * i}/28" for i in range(8)]
    + [f"198.51.100.{64 * i}/26" for i in range(4)]
    + [f"2001:db8:{i}::/48" for i in range(6)]
)
EXTRA = ["203.0.113.0/25", "203.0.113.128/25", "2001:db8:ff::/48"]
FOREIGN = [
    foreign_rule("corp", 200, ["192.0.2.0/28", "10.0.0.0/8"]),  # in our band, not ours
    foreign_rule("ipsync-outside", 400, ["198.51.100.0/26"]),  # our prefix, outside the band
]

prefix_sets = st.sets(st.sampled_from(POOL), max_size=6).map(sorted)
releases = st.fixed_dictionaries({"Alpha": prefix_sets, "Beta": prefix_sets, "Gamma": prefix_sets})
steps = st.lists(
    st.tuples(releases, st.sets(st.sampled_from(EXTRA)).map(sorted)), min_size=1, max_size=3
)
_files = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=steps)
def test_each_apply_lands_on_the_desired_state(
    emulator: Emulator,
    network_client: Any,
    settings_for: SettingsFor,
    tmp_path: Path,
    sequence: list[tuple[dict[str, list[str]], list[str]]],
) -> None:
    emulator.reset()
    nsg = make_nsg(network_client, "prop", FOREIGN)
    foreign = {n: content(r) for n, r in rules_of(network_client, "prop").items()}
    for change, (tags, extra) in enumerate(sequence, 1):
        feed = write_release(tmp_path / f"r{next(_files)}.json", tags, change)
        config = settings_for(feed, [target(nsg, ["Alpha", "Beta"], extra_prefixes=extra)])
        before = {n: content(r) for n, r in rules_of(network_client, "prop").items()}
        since, writes = history_len(emulator, nsg), emulator.stats()["writes"]

        report = run(config, force=True)

        assert report.ok, report
        after = {n: content(r) for n, r in rules_of(network_client, "prop").items()}
        want = merged([*tags["Alpha"], *tags["Beta"], *extra])
        mine = {n: r for n, r in rules_of(network_client, "prop").items() if n not in foreign}
        assert {n: addresses(r) for n, r in mine.items()} == {
            f"ipsync-alpha_beta-{f}": want[f] for f in ("v4", "v6") if want[f]
        }
        assert {n: after.get(n) for n in foreign} == foreign
        changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
        assert report.writes == len(changed) == emulator.stats()["writes"] - writes
        assert_nothing_lost(emulator, nsg, since)
