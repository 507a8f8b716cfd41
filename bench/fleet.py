"""A fleet of 10,000 targets of mixed kinds over 100 subscriptions, and what a fan-out of it costs.

The fleet is built in process with the emulator's own store (fast: no HTTP), every resource
opted in by its ``ipsync`` tag, then served by ``python -m armemu --load FILE --throttle`` in
a process of its own, with ARM's documented token buckets. Measured: Resource Graph discovery
of the whole fleet; then a sample of subscriptions, each run as the work item the fan-out
queues (one subscription, discovery scoped to it, held to the planned release by its plan
watch): a first sync of the older release, the weekly update to the newer, and no-op runs,
each with the requests the emulator served, the writes, the time with no poll wait and this
process's CPU; and the peak memory of an instance that works through one item and through
several. Modelled from those (:func:`model`): the weekly update at real ARM latency for 1, 4
and 16 instances of the fan-out. Run alone: ``python -m bench.fleet``; the tests make a smoke
run of a tiny fleet.
"""

from __future__ import annotations

import gc
import heapq
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from bench.common import (
    CURRENT,
    PREVIOUS,
    REAL_LRO_POLLS,
    REAL_RETRY_AFTER_S,
    ROOT,
    Figure,
    Section,
    ratio,
    secs,
)
from bench.emulated import Arm, emulator_process, settings_for, stats
from bench.latency import Calibration
from bench.scale import regions
from sync.feeds.azure.parse import parse_release
from sync.report import Report
from sync.settings import Settings

COMMAND = ".venv/bin/python -m bench.fleet"
SUBSCRIPTIONS, PER_SUBSCRIPTION = 100, 100
#: Each subscription's targets: kind, ARM type, share, and the tags it opts in with (by region).
MIX: tuple[tuple[str, str, int, str], ...] = (
    ("nsg", "Microsoft.Network/networkSecurityGroups", 40, "{storage},AzureMonitor"),
    ("storage", "Microsoft.Storage/storageAccounts", 20, "{storage}"),
    ("keyvault", "Microsoft.KeyVault/vaults", 20, "{cloud}"),
    ("acr", "Microsoft.ContainerRegistry/registries", 10, "{monitor}"),
    ("ipgroup", "Microsoft.Network/ipGroups", 10, "{cloud}"),
)
#: What this fleet's operator lets resource tags do: select the tags of the mix (AzureMonitor
#: is cloud-wide, AzureCloud.<region> millions of addresses) and hand over its IP Groups.
TRUST: dict[str, Any] = {
    "tag_select": ["Storage.*", "AzureMonitor", "AzureMonitor.*", "AzureCloud.*"],
    "tag_max_addresses_v4": 1 << 32,
    "tag_max_addresses_v6": 1 << 128,
    "tag_handover_resource_groups": ["rg-fleet"],
}
#: Subscriptions run through the engine (work items).
SAMPLED = 4
#: Timed rounds per sampled subscription of a no-op item followed by the bare ARM reads of the
#: same resources: the reads alone swing by a tenth of a second an item from run to run, so
#: ipsync's own CPU is the median of the rounds' differences, not one difference.
NOOP_ROUNDS = 4
#: Instances the fan-out is modelled on; items one instance takes at once (host.json's queue
#: batchSize); workers per item (the per-subscription concurrency the fan-out would set).
INSTANCES = (1, 4, 16)
WORKERS_PER_ITEM = 16
#: Each ARM read and each Resource Graph page at real latency (assumed: the emulator answers in
#: milliseconds; writes come from the calibration).
REAL_READ_S, REAL_QUERY_S = 0.3, 2.0
#: ARM's documented write bucket per subscription and principal: (size, refill per second).
WRITE_BUCKET = (200, 10)
GOAL_UPDATE_S, GOAL_NOOP_MS, GOAL_MEMORY_RATIO = 600.0, 5.0, 1.1
FUNCTION_TIMEOUT_S = 600.0
_TENANT = "f1ee0000-0000-4000-8000-0000000000aa"
RG = "rg-fleet"


class Spec(NamedTuple):
    kind: str
    arm_type: str
    subscription: str
    name: str
    region: str
    tags: str


def subscription(index: int) -> str:
    return f"{index:08x}-f1ee-4000-8000-000000000000"


def fleet(subscriptions: int, per: int) -> list[Spec]:
    """``per`` targets in each of ``subscriptions`` subscriptions, in :data:`MIX`'s shares,
    spread over the regions whose tags both weekly releases hold."""
    release = parse_release(CURRENT.read_bytes(), origin=CURRENT.name)
    by = {(t.name.split(".")[0], t.region): t.name for t in release.tags.values() if t.region}
    places = [r for r in regions(60) if ("AzureMonitor", r) in by and ("AzureCloud", r) in by]
    total = sum(share for _, _, share, _ in MIX)
    specs = []
    for s in range(subscriptions):
        kinds = [(k, t, tags) for k, t, share, tags in MIX for _ in range(share)]
        for i in range(per):
            kind, arm_type, tags = kinds[i * total // per]
            region = places[(s + i) % len(places)]
            names = {"storage": by["Storage", region], "cloud": by["AzureCloud", region],
                     "monitor": by["AzureMonitor", region]}  # fmt: skip
            name = f"{kind}{s:03d}x{i:03d}"
            specs.append(Spec(kind, arm_type, subscription(s), name, region, tags.format(**names)))
    return specs


def _body(spec: Spec) -> dict[str, Any]:
    tags = {"ipsync": spec.tags}
    if spec.kind == "ipgroup":  # an IP Group is handed over by name (see the ipgroup kind)
        tags["ipsync-managed"] = spec.name
    base: dict[str, Any] = {"location": spec.region, "tags": tags}
    acl: dict[str, Any] = {"defaultAction": "Deny", "ipRules": []}
    kinds: dict[str, dict[str, Any]] = {
        "nsg": {"properties": {"securityRules": []}},
        "storage": {"kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                    "properties": {"networkAcls": acl | {"bypass": "AzureServices"}}},
        "keyvault": {"properties": {"tenantId": _TENANT, "sku": {"family": "A", "name": "standard"},
                                    "networkAcls": acl}},
        "acr": {"sku": {"name": "Premium"}, "properties": {"networkRuleSet": acl}},
        "ipgroup": {"properties": {"ipAddresses": []}},
    }  # fmt: skip
    return base | kinds[spec.kind]


def build(path: Path, specs: list[Spec]) -> None:
    """Create the fleet in the emulator's store (no HTTP) and write it as a state file."""
    from armemu.catalog import KINDS
    from armemu.state import ResourceStore, Write

    store, write = ResourceStore(lro_polls=0), Write(api_version="bench")
    for spec in specs:
        if spec.kind == "nsg":
            store.put_nsg(spec.subscription, RG, spec.name, _body(spec), write)
        else:
            kind = KINDS[spec.arm_type.lower()]
            store.put(kind, spec.subscription, RG, spec.name, _body(spec), write)
    store.settle_all()
    store.state_file = path
    store.save()


@dataclass
class Item:
    """One work item (a subscription) run through the engine."""

    wall_s: float
    cpu_s: float
    targets: int
    writes: list[int]  # per resource
    requests: int
    failed: list[str]


def work_item(settings: Settings) -> Callable[[], Report]:
    """The run of one subscription's work item as the Functions app makes it
    (``sync.app.runs.perform_item``): settings narrowed to the item, only its resources,
    each written only at the release the fan-out planned with (its plan watch). The release
    is read here, before the item is timed, as the planning run read it."""
    from sync.app.fanout import Pinned, WorkItem, item_settings
    from sync.engine import run
    from sync.feeds import load_release

    subscription = settings.subscription_id
    assert subscription, "a work item is one subscription's"
    item = WorkItem(subscription=subscription, part=0, parts=1, first="", last="")
    mark = load_release(settings).mark
    narrowed = item_settings(settings, item)
    return lambda: run(narrowed, only=item.holds, watch=Pinned(mark))


def run_item(arm: Arm, settings: Settings) -> Item:
    item = work_item(settings)
    before = stats(arm)["requests"]
    wall, cpu = time.perf_counter(), time.process_time()
    report = item()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    failed = [t.error or t.status for t in report.targets if t.status in ("failed", "refused")]
    if report.error:
        failed.append(report.error)
    return Item(wall, cpu, len(report.targets), [t.writes for t in report.targets],
                stats(arm)["requests"] - before, failed)  # fmt: skip


def arm_reads(settings: Settings, specs: list[Spec], workers: int) -> float:
    """What any SDK-based no-op pays: one Resource Graph query, then every resource read
    through its own management SDK, on as many workers as the engine, every field ipsync
    compares read (the SDK's models decode a field when it is first read). Returns the
    process CPU it took: its clients are made inside it, as an item makes its own; the SDK's
    imports are done before it."""
    from concurrent.futures import ThreadPoolExecutor

    from azure.mgmt.containerregistry import ContainerRegistryManagementClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resourcegraph.models import QueryRequest
    from azure.mgmt.storage import StorageManagementClient

    from bench.scale import touch
    from sync.azure.client import Clients

    start = time.process_time()
    clients = Clients(settings)
    sub = specs[0].subscription
    clients.graph().resources(QueryRequest(query="resources | project id", subscriptions=[sub]))
    network = clients.get(NetworkManagementClient, sub)
    storage = clients.get(StorageManagementClient, sub)
    vaults = clients.get(KeyVaultManagementClient, sub)
    registries = clients.get(ContainerRegistryManagementClient, sub)

    def values(holder: Any, field: str) -> int:
        return sum(getattr(rule, field) is not None for rule in holder.ip_rules or [])

    reads: dict[str, Callable[[str], Any]] = {
        "nsg": lambda n: touch(network.network_security_groups.get(RG, n)),
        "ipgroup": lambda n: len(network.ip_groups.get(RG, n).ip_addresses or []),
        "storage": lambda n: values(storage.storage_accounts.get_properties(RG, n)
                                    .network_rule_set, "ip_address_or_range"),
        "keyvault": lambda n: values(vaults.vaults.get(RG, n).properties.network_acls, "value"),
        "acr": lambda n: values(registries.registries.get(RG, n).network_rule_set,
                                "ip_address_or_range"),
    }  # fmt: skip
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda spec: reads[spec.kind](spec.name), specs))
    return time.process_time() - start


def noop_round(arm: Arm, settings: Settings, specs: list[Spec], workers: int) -> tuple[Item, float]:
    """A no-op item of one subscription, then the bare reads of its resources (their CPU);
    garbage collected before each side so that neither pays for the other's."""
    gc.collect()
    item = run_item(arm, settings)
    gc.collect()
    return item, arm_reads(settings, specs, workers)


_INSTANCE = """
import json, re, sys
sys.path.insert(0, {root!r})
from bench.fleet import instance
instance(json.loads(sys.argv[1]))
peak = re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read())[1]
print(json.dumps({{"peak_mb": int(peak) / 1024}}))
"""


def instance(job: dict[str, Any]) -> None:
    """An instance of the fan-out working through its items one after another (a child of
    :func:`peak_mb`): no-op runs, one per subscription."""
    from sync.settings import load_settings

    for sub in job["subscriptions"]:
        report = work_item(load_settings(**(job["settings"] | {"subscription_id": sub})))()
        failed = [t.error for t in report.targets if t.status in ("failed", "refused")]
        if not report.ok or report.writes:
            raise SystemExit(f"{sub}: not a no-op: {report.error or failed[:1] or report.writes}")


def peak_mb(arm: Arm, cache: Path, subscriptions: list[str]) -> float:
    """Peak RSS of a fresh instance process that works through ``subscriptions``' items."""
    values = {"arm_endpoint": arm.endpoint, "ca_bundle": str(arm.ca_bundle),
              "credential": "emulator", "cache_dir": str(cache), "poll_interval_s": 0,
              "source": str(CURRENT), "parallelism": WORKERS_PER_ITEM, **TRUST}  # fmt: skip
    job = json.dumps({"settings": values, "subscriptions": subscriptions})
    done = subprocess.run([sys.executable, "-c", _INSTANCE.format(root=str(ROOT)), job],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"instance failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(json.loads(done.stdout.splitlines()[-1])["peak_mb"])


@dataclass
class Measured:
    subscriptions: int
    targets: int
    discovery_s: float
    discovered: int
    queries: int
    first: list[Item] = field(default_factory=list)
    weekly: list[Item] = field(default_factory=list)
    noop: list[Item] = field(default_factory=list)  # NOOP_ROUNDS a subscription, in turn
    reads_cpu_s: list[float] = field(default_factory=list)  # each after its no-op item
    peaks_mb: dict[int, float] = field(default_factory=dict)
    throttled: int = 0


def measure(
    subscriptions: int, per: int, sampled: int, workers: int, rounds: int = NOOP_ROUNDS
) -> Measured:
    """Build the fleet, serve it, discover it, and run ``sampled`` subscriptions' items."""
    specs = fleet(subscriptions, per)
    with tempfile.TemporaryDirectory() as scratch:
        state, cache = Path(scratch) / "fleet.json", Path(scratch) / "cache"
        build(state, specs)
        with emulator_process(REAL_LRO_POLLS, "--load", str(state), "--throttle") as arm:
            found = _discover(arm, cache, subscriptions)
            out = Measured(subscriptions, len(specs), *found)
            chosen = [subscription(s * subscriptions // sampled) for s in range(sampled)]
            for release, runs in ((PREVIOUS, out.first), (CURRENT, out.weekly)):
                for sub in chosen:
                    settings = _item(arm, cache, sub, release, workers)
                    runs.append(run_item(arm, settings))
            # Rounds go through the subscriptions in turn, so each one's read bucket refills
            # while the others run; one untimed round first takes both sides' first calls.
            noops = [(_item(arm, cache, sub, CURRENT, workers),
                      [s for s in specs if s.subscription == sub]) for sub in chosen]  # fmt: skip
            noop_round(arm, *noops[0], workers)
            for _ in range(rounds):
                for settings, mine in noops:
                    item, reads = noop_round(arm, settings, mine, workers)
                    out.noop.append(item)
                    out.reads_cpu_s.append(reads)
            for count in sorted({1, sampled}):
                out.peaks_mb[count] = peak_mb(arm, cache, chosen[:count])
            out.throttled = stats(arm)["throttled"]
    return out


def _item(arm: Arm, cache: Path, sub: str, release: Path, workers: int) -> Settings:
    return settings_for(arm, cache, subscription_id=sub, source=str(release),
                        parallelism=workers, **TRUST)  # fmt: skip


def _discover(arm: Arm, cache: Path, subscriptions: int) -> tuple[float, int, int]:
    """Resource Graph discovery of the whole fleet: seconds, resources found, queries."""
    from sync.azure.client import Clients
    from sync.azure.discovery import opted_in
    from sync.azure.writes import ArmWriter, Deadline
    from sync.kinds import KIND_NAMES, get_kind

    settings = settings_for(arm, cache)
    types = {get_kind(name).arm_type for name in KIND_NAMES} - {""}
    graph = "/providers/microsoft.resourcegraph/resources"
    before = stats(arm)["by_resource"].get(graph, {}).get("POST", 0)
    start = time.perf_counter()
    named = [subscription(s) for s in range(subscriptions)]
    reader = ArmWriter("discovery", Deadline(600), 0)
    found = list(opted_in(Clients(settings).graph(), reader, types, "ipsync", subscriptions=named))
    took = time.perf_counter() - start
    return took, len(found), stats(arm)["by_resource"][graph]["POST"] - before


class Model(NamedTuple):
    """The weekly update at real ARM latency for one number of instances."""

    instances: int
    wall_s: float
    longest_item_s: float


def item_s(item: Item, write_s: float, workers: int) -> float:
    """One item at real latency: its local time, its reads, and its writes scheduled on
    ``workers`` (serial per resource), no faster than the subscription's write bucket."""
    size, refill = WRITE_BUCKET
    writes = sum(item.writes)
    bucket = max(0.0, (writes - size) / refill)
    reads = item.requests - writes * (1 + REAL_LRO_POLLS)  # GETs and the discovery query
    return (
        item.wall_s
        + max(0, reads) * REAL_READ_S / workers
        + max(schedule_s(sorted(item.writes, reverse=True), write_s, workers), bucket)
    )


def schedule_s(durations: list[int], unit_s: float, workers: int) -> float:
    """Makespan of jobs (``durations`` units each) handed in order to ``workers`` workers."""
    free = [0.0] * workers
    for units in durations:
        heapq.heapreplace(free, free[0] + units * unit_s)
    return max(free)


def model(measured: Measured, write_s: float, subscriptions: int, batch: int) -> list[Model]:
    """Every subscription an item like the sampled ones (taken in turn); planning first
    (discovery at real latency), then items spread over the instances' slots."""
    planning = measured.discovery_s + measured.queries * REAL_QUERY_S
    times = [item_s(measured.weekly[s % len(measured.weekly)], write_s, WORKERS_PER_ITEM)
             for s in range(subscriptions)]  # fmt: skip
    ordered = sorted(times, reverse=True)
    return [Model(n, planning + _makespan(ordered, n * batch), max(times)) for n in INSTANCES]


def _makespan(durations: list[float], slots: int) -> float:
    free = [0.0] * slots
    for seconds in durations:
        heapq.heapreplace(free, free[0] + seconds)
    return max(free)


def unfanned_s(measured: Measured, write_s: float, subscriptions: int, parallelism: int) -> float:
    """Today's single run over the whole fleet: every item's local time, then every
    resource's writes on the run's ``parallelism`` workers."""
    items = [measured.weekly[s % len(measured.weekly)] for s in range(subscriptions)]
    writes = sorted((w for item in items for w in item.writes), reverse=True)
    return sum(i.wall_s for i in items) + schedule_s(writes, write_s, parallelism)


def host_batch() -> int:
    """Queue messages one instance takes at once (host.json ``batchSize``, default 16)."""
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    return int(host.get("extensions", {}).get("queues", {}).get("batchSize", 16))


def section(
    calibration: Calibration,
    *,
    subscriptions: int = SUBSCRIPTIONS,
    per: int = PER_SUBSCRIPTION,
    sampled: int = SAMPLED,
) -> Section:
    from bench.scale import default_parallelism

    parallelism, batch = default_parallelism(), host_batch()
    write_s = calibration.put.at(REAL_RETRY_AFTER_S)
    out = Section(
        f"8. A fleet: {subscriptions * per:,} targets over {subscriptions} subscriptions",
        _method(subscriptions, per, sampled, write_s, batch),
    )
    m = measure(subscriptions, per, sampled, WORKERS_PER_ITEM)
    _check(out, m, sampled, per)
    models = model(m, write_s, subscriptions, batch)
    baseline = unfanned_s(m, write_s, subscriptions, parallelism)
    for result in models:
        goal = result.instances == max(INSTANCES)
        out.figures.append(
            Figure(f"weekly update at real ARM latency, {result.instances} instance"
                   f"{'s' if result.instances > 1 else ''}", secs(result.wall_s),
                   f"{secs(baseline)} (one run, parallelism {parallelism}, no fan-out)",
                   ratio(baseline, result.wall_s),
                   f"< {GOAL_UPDATE_S / 60:.0f} min" if goal else "none (context)",
                   result.wall_s < GOAL_UPDATE_S if goal else None, COMMAND)
        )  # fmt: skip
    longest = max(r.longest_item_s for r in models)
    out.figures.append(
        Figure("longest work item at real ARM latency", secs(longest), "-", "",
               f"< {FUNCTION_TIMEOUT_S / 60:.0f} min (function timeout)",
               longest < FUNCTION_TIMEOUT_S, COMMAND)
    )  # fmt: skip
    out.figures += _per_target(m) + _memory(m, per)
    out.details += _details(m, models, write_s, baseline)
    return out


def _method(subscriptions: int, per: int, sampled: int, write_s: float, batch: int) -> str:
    mix = ", ".join(f"{share}% {kind} (`ipsync={tags}`)" for kind, _, share, tags in MIX)
    return (
        f"{subscriptions} subscriptions of {per} resources each: {mix}, over the regions whose "
        "tags both weekly releases hold; built with the emulator's own store and served by "
        "`python -m armemu --load FILE --throttle` (ARM's documented token buckets) in a "
        "process of its own. Discovery: Resource Graph over every subscription. Work items: "
        f"{sampled} subscriptions, each run as the fan-out would queue it (one subscription, "
        f"discovery scoped to it, its plan watch, {WORKERS_PER_ITEM} workers): a first sync "
        f"of {PREVIOUS.name}, the weekly update to {CURRENT.name}, then {NOOP_ROUNDS} rounds "
        "of a no-op run followed by the bare SDK reads of the same resources (after one "
        "untimed round, garbage collected before each side); measured with no poll wait (all "
        "the work but sleeping), requests counted by the emulator, CPU by this process. "
        "ipsync's own no-op CPU is the median of the rounds' differences (their range "
        "in brackets). "
        "Modelled weekly update at real ARM latency: each subscription an item like the "
        "sampled ones; an item takes its measured time, plus its reads at "
        f"{REAL_READ_S:g} s each and its writes at {write_s:.1f} s each (the calibration of "
        f"section 2) on {WORKERS_PER_ITEM} workers, serial per resource, and no less than "
        f"ARM's write bucket ({WRITE_BUCKET[0]} at {WRITE_BUCKET[1]}/s per subscription) "
        f"allows; planning first (discovery's measured time plus {REAL_QUERY_S:g} s a "
        f"Resource Graph page); items spread over the instances, {batch} at once on each "
        "(host.json's queue batchSize). Baseline: one run over the whole fleet with the "
        "default parallelism and no fan-out (what ipsync does today)."
    )


def _check(out: Section, m: Measured, sampled: int, per: int) -> None:
    if m.discovered != m.targets:
        out.problems.append(f"discovery found {m.discovered} of {m.targets} resources")
    for label, items in (("first sync", m.first), ("weekly update", m.weekly),
                         ("no-op", m.noop)):  # fmt: skip
        for item in items:
            if item.failed or item.targets != per:
                out.problems.append(f"{label}: {item.targets} targets, {item.failed[:1]}")
    if any(sum(item.writes) for item in m.noop):
        out.problems.append("a no-op run wrote")
    if m.throttled:
        out.problems.append(f"ARM's buckets answered 429 {m.throttled} times")


def own_cpu_s(m: Measured) -> list[float]:
    """Each round's no-op item CPU minus the CPU of the bare reads that followed it."""
    return [item.cpu_s - reads for item, reads in zip(m.noop, m.reads_cpu_s, strict=True)]


def _per_target(m: Measured) -> list[Figure]:
    per = 1000 / m.noop[0].targets  # ms a target for each second of an item
    total_ms = per * statistics.median(item.cpu_s for item in m.noop)
    reads_ms = per * statistics.median(m.reads_cpu_s)
    own = own_cpu_s(m)
    own_ms = per * statistics.median(own)

    def per_target(items: list[Item]) -> float:
        return sum(i.requests for i in items) / sum(i.targets for i in items)

    return [
        Figure("no-op run: process CPU per target", f"{total_ms:.1f} ms",
               f"{reads_ms:.1f} ms (ARM reads alone)", ratio(reads_ms, total_ms),
               "none (context)", None, COMMAND),
        Figure("no-op run: ipsync's CPU per target beyond the ARM reads",
               f"{own_ms:.1f} ms ({len(own)} rounds: {per * min(own):.1f}..{per * max(own):.1f})",
               "-", "", f"< {GOAL_NOOP_MS:g} ms", own_ms < GOAL_NOOP_MS, COMMAND),
        Figure("requests per target: first sync / weekly update / no-op",
               f"{per_target(m.first):.1f} / {per_target(m.weekly):.1f} / "
               f"{per_target(m.noop):.1f}", "-", "", "none (context)", None, COMMAND),
        Figure("discovery of the fleet: Resource Graph queries", f"{m.queries}",
               f"{m.subscriptions * len(MIX)} (ARM lists, one per subscription and type)",
               ratio(m.subscriptions * len(MIX), m.queries), "none (context)", None, COMMAND),
        Figure("429s answered by ARM's buckets", str(m.throttled), "-", "", "0",
               m.throttled == 0, COMMAND),
    ]  # fmt: skip


def _memory(m: Measured, per: int) -> list[Figure]:
    one, most = m.peaks_mb[1], m.peaks_mb[max(m.peaks_mb)]
    count = max(m.peaks_mb)
    return [
        Figure(f"peak RSS of an instance after {count} items ({count * per} targets)",
               f"{most:.0f} MB", f"{one:.0f} MB (after 1 item, {per} targets)",
               ratio(one, most), f"<= {GOAL_MEMORY_RATIO:g}x the one-item peak",
               most <= one * GOAL_MEMORY_RATIO, COMMAND)
    ]  # fmt: skip


def _details(m: Measured, models: list[Model], write_s: float, baseline: float) -> list[str]:
    own = own_cpu_s(m)

    def line(label: str, items: list[Item]) -> str:
        writes = sum(sum(i.writes) for i in items)
        return (f"- {label}: {len(items)} items of {items[0].targets} targets; "
                f"{writes} writes; measured with no wait "
                f"{', '.join(f'{i.wall_s:.1f}' for i in items)} s; process CPU "
                f"{', '.join(f'{i.cpu_s:.2f}' for i in items)} s.")  # fmt: skip

    return [
        f"- discovery: {m.discovered:,} resources in {m.queries} Resource Graph queries, "
        f"{m.discovery_s:.1f} s measured ({1000 * m.discovery_s / max(m.discovered, 1):.2f} ms "
        "a resource).",
        line("first sync", m.first),
        line("weekly update", m.weekly),
        line("no-op rounds", m.noop),
        f"- ARM reads alone, per item: {', '.join(f'{x:.2f}' for x in m.reads_cpu_s)} s of "
        "process CPU (one query, then every resource through its own SDK).",
        f"- no-op item minus the ARM reads after it, per round: "
        f"{', '.join(f'{x:.2f}' for x in own)} s of process CPU (median "
        f"{statistics.median(own):.2f} s, {min(own):.2f}..{max(own):.2f} s).",
        "- modelled weekly update: " + "; ".join(
            f"{r.instances} instance(s) {secs(r.wall_s)} (longest item {secs(r.longest_item_s)})"
            for r in models) + f"; without the fan-out {secs(baseline)}"
        + (f", past the {FUNCTION_TIMEOUT_S / 60:.0f} min a function may run"
           if baseline > FUNCTION_TIMEOUT_S else "") + f" (writes at {write_s:.1f} s).",
        "- peak RSS of an instance process by items worked through: "
        + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in sorted(m.peaks_mb.items())) + ".",
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.latency import calibrate
    from bench.markdown import render_section

    quick = "--quick" in sys.argv[1:]
    size = {"subscriptions": 10, "per": 100, "sampled": 2} if quick else {}
    print(render_section(section(calibrate(3), **size)))
