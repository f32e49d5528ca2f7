"""`make bench-ingest`: how fast a bulk contribution posting becomes balances members can see.

The core system posts contributions for many cards at once (a month's
posting, a migration). This benchmark publishes, as fast as one producer can:

- a MemberRegistered for each of --cards new KPJ cards (new NIKs), and
- --events ContributionPosted in total for them, a distinct period per event
  of a card (so none is a duplicate), period by period across all cards,

on `core.membership.events` (keyed by NIK, as the core system does), and
measures until every card's balance is visible:

- for every card, through `balance.events`: the BalanceChanged announcing
  its final contributions total (read from the end of the topic, no API);
- for a sample of cards (--sample), through the API a member uses: the
  sample members are registered and logged in beforehand (not measured)
  and poll GET /v1/balance every --sample-poll seconds until the total shows.

Reported: publish time, events/s end to end (events / time from the first
publish to everything visible), the balance ledger consumer's drain rate,
when every consumer group of the stack caught up (broker offsets, and the
workers' consumer_lag gauges), and the `stackstats` figures per event.

With --with-member, one new member is onboarded (feeds + register) while the
backlog drains: how long until its balance and eligibility appear tells
whether a bulk backlog holds up members.

    python -m jmo_local.ingest_bench --cards 5000 --events 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer, TopicPartition

from jmo_shared import httpclient
from jmo_shared.events import BalanceChanged, MemberRegistered, PersonRecorded
from jmo_shared.events.base import EventData
from jmo_shared.topics import BALANCE_EVENTS, CORE_MEMBERSHIP

from . import stackstats
from .bench import bench_members, default_json_path, expected_contributions, write_json
from .demo import Card, DemoMember, build_members, contribution, feed_events
from .demo_loader import publish_events
from .journey import Journey, JourneyError, Urls
from .services import API_PORTS, BANKSIM_PORT
from .topic_tail import TopicTail

SOURCE = "/bench/ingest"
LEDGER_GROUP = "jmo.balance.ledger"
# New cards one run can make: the NIKs' sequence numbers are four digits.
MAX_CARDS = 9000


# ---------------------------------------------------------------- the cards and their events (pure)


def periods_back(today: date, count: int) -> list[str]:
    """`count` distinct months ("YYYY-MM"), oldest first, ending with the month before `today`'s."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append(f"{year:04d}-{month:02d}")
    return out[::-1]


def spread(total: int, buckets: int) -> list[int]:
    """`total` split over `buckets` as evenly as possible (the first ones get the remainder)."""
    base, extra = divmod(total, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


def ingest_members(cards: int, today: date, seed: int) -> list[DemoMember]:
    """New members (new NIKs), one new card each, registered before the oldest period posted."""
    members = build_members(cards, today, None, seed=seed, nik_seq_start=random.Random(seed).randrange(1, 9999 - cards))
    rng = random.Random(seed + 1)
    for member in members:
        member.cards = [
            Card(
                kpj=str(rng.randrange(10**10, 10**11)),
                employer_id="EMP-INGEST",
                employer_name="PT Ingest Nusantara",
                registered_on=today - timedelta(days=365 * 12),
                wage_idr=rng.randrange(4_000_000, 12_000_000, 100_000),
            )
        ]
    return members


def contribution_events(members: list[DemoMember], counts: list[int], today: date) -> list[EventData]:
    """Period by period across every card, as a monthly posting arrives: card i gets counts[i] periods."""
    periods = periods_back(today, max(counts))
    events: list[EventData] = []
    for p_index, period in enumerate(periods):
        y, m = map(int, period.split("-"))
        posted = datetime(y, m, 10, 3, 0, tzinfo=UTC) + timedelta(days=31)
        for member, count in zip(members, counts):
            # A card with fewer periods gets the most recent ones.
            if p_index >= len(periods) - count:
                events.append(contribution(member.cards[0], period, member.nik, posted))
    return events


def expected_totals(events: list[EventData]) -> dict[str, int]:
    """kpj -> contributions total once every ContributionPosted is applied."""
    totals: dict[str, int] = {}
    for e in events:
        totals[e.kpj] = totals.get(e.kpj, 0) + e.employer_idr + e.worker_idr
    return totals


def caught_up_at(timeline: list[tuple[float, int]]) -> float | None:
    """The first time a lag read 0 after its last non-zero reading (None if it never did, or still behind)."""
    last_behind = None
    for i, (_, lag) in enumerate(timeline):
        if lag:
            last_behind = i
    if last_behind is None:
        return timeline[0][0] if timeline else None
    return timeline[last_behind + 1][0] if last_behind + 1 < len(timeline) else None


# ---------------------------------------------------------------- publishing


def serialize(events: list[EventData]) -> list[tuple[str, bytes, bytes, list]]:
    """(topic, key, value, headers) of each event, built before the clock starts."""
    out = []
    for data in events:
        event = data.to_event(SOURCE)
        out.append((data.topic, data.key().encode(), event.to_bytes(), event.kafka_headers()))
    return out


async def publish(bootstrap: str, messages: list[tuple[str, bytes, bytes, list]]) -> tuple[float, float]:
    """One producer, acks=all, lingering to fill batches; returns (first send, all acknowledged), wall clock."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=50, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        first = time.time()
        pending = []
        for topic, key, value, headers in messages:
            pending.append(await producer.send(topic, value=value, key=key, headers=headers))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return first, time.time()
    finally:
        await producer.stop()


# ---------------------------------------------------------------- watching balance.events


class BalanceWatcher(TopicTail):
    """When each card's BalanceChanged first announced its expected contributions total (wall clock)."""

    def __init__(self, bootstrap: str, expected: dict[str, int]) -> None:
        # Big fetches: a bulk posting announces as many cards as it has events.
        super().__init__(
            bootstrap, BalanceChanged.event_type, max_records=5000, max_partition_fetch_bytes=4 * 1024 * 1024
        )
        self.expected = expected
        self.visible: dict[str, float] = {}
        self.changes = 0
        self.all_visible = asyncio.Event()

    def on_data(self, data: dict[str, Any], received: float) -> None:
        self.changes += 1
        kpj = data.get("kpj")
        if kpj in self.expected and kpj not in self.visible and data.get("contributions_idr") == self.expected[kpj]:
            self.visible[kpj] = received
            if len(self.visible) == len(self.expected):
                self.all_visible.set()


# ---------------------------------------------------------------- members through the API


async def register_and_login(journey: Journey, timeout: float, poll: float = 1.0) -> float:
    """Register as soon as identity's registry knows the member; returns the wall time it succeeded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await journey.register(timeout=0)  # one attempt: we poll more gently than Journey does
            break
        except JourneyError as exc:
            if time.monotonic() > deadline or not any(c in str(exc) for c in ("not_in_registry", "registry_mismatch")):
                raise
            await asyncio.sleep(poll)
    await journey.login()
    return time.time()


async def authed(journey: Journey, call):
    """`call()`, logging in again first if the access token expired (it lives 10 minutes; a backlog longer)."""
    try:
        return await call()
    except JourneyError as exc:
        if " -> 401" not in str(exc):
            raise
    await journey.login()
    return await call()


async def poll_sample(
    sample: list[tuple[Journey, str, int]], interval: float, seen: dict[str, float], stop: asyncio.Event
) -> None:
    """Each sample member asks for its balance every `interval` s until its expected total shows."""
    pending = list(sample)
    while pending and not stop.is_set():
        started = time.monotonic()
        still = []
        for journey, kpj, total in pending:
            try:
                data = await authed(journey, journey.balance)
                card = next((c for c in data["cards"] if c["kpj"] == kpj), None)
                if card and card["contributions_idr"] == total:
                    seen[kpj] = time.time()
                    continue
            except (JourneyError, httpx.HTTPError):
                pass
            still.append((journey, kpj, total))
            # Spread the sample's requests over the interval rather than in a burst.
            await asyncio.sleep(interval / max(len(pending), 1))
        pending = still
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


async def member_during_backlog(urls: Urls, kafka: str, today: date, timeout: float) -> dict[str, Any]:
    """One new member onboarded while the backlog drains: seconds from its feeds to each step being possible."""
    member = bench_members(1, today)[0]
    journey = Journey(urls, member, client=httpclient.async_client(timeout=60))
    kpj = member.cards[0].kpj
    total = expected_contributions(member, today)
    out: dict[str, Any] = {"kpj": kpj}
    try:
        await journey.open_bank_account()
        start = time.time()
        await publish_events(kafka, feed_events(member, today), source=SOURCE, progress=False)
        out["registered_s"] = round(await register_and_login(journey, timeout) - start, 1)
        deadline = time.monotonic() + timeout
        while "balance_s" not in out or "eligible_s" not in out:
            if time.monotonic() > deadline:
                out["error"] = "timed out"
                break
            if "balance_s" not in out:
                card = next((c for c in (await authed(journey, journey.balance))["cards"] if c["kpj"] == kpj), None)
                if card and card["contributions_idr"] == total:
                    out["balance_s"] = round(time.time() - start, 1)
            if "eligible_s" not in out:
                try:
                    reasons = (await authed(journey, lambda: journey.eligibility(kpj)))["reasons"]
                except JourneyError as exc:
                    if "card_not_found" not in str(exc):
                        raise
                    # Claims has not projected the card yet: the app shows it as not there yet, and asks again.
                    reasons = []
                entry = next((r for r in reasons if r["reason"] == "resignation"), {})
                if entry.get("eligible") and entry.get("estimated", {}).get("gross_idr", 0) > 0:
                    out["eligible_s"] = round(time.time() - start, 1)
            await asyncio.sleep(1.0)
    except Exception as exc:  # noqa: BLE001 - reported with the figures
        out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        await journey.close()
    return out


# ---------------------------------------------------------------- following the consumers


@dataclass
class Progress:
    """Lag of every consumer group (broker offsets) and of every worker (its gauges), over time."""

    groups: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    workers: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    ledger_committed: list[tuple[float, int]] = field(default_factory=list)


async def follow(
    kafka: stackstats.KafkaProbe, host: str, progress: Progress, stop: asyncio.Event, every: float = 2.0
) -> None:
    """Sample lags every `every` s: from the broker for each group, from /metrics for each worker."""
    workers = stackstats.worker_metrics_urls(host)
    async with httpclient.async_client() as client:
        while not stop.is_set():
            now = time.time()
            try:
                ends = await kafka.end_offsets()
                committed = await kafka.group_offsets()
                for group, lag in stackstats.group_lag(ends, committed).items():
                    progress.groups.setdefault(group, []).append((now, lag))
                ledger = committed.get(LEDGER_GROUP, {})
                progress.ledger_committed.append((now, sum(o for (t, _), o in ledger.items() if t == CORE_MEMBERSHIP)))
                for worker, samples in (await stackstats.scrape(client, workers)).items():
                    lag = sum(v for name, _, v in samples if name == "consumer_lag")
                    progress.workers.setdefault(worker, []).append((now, int(lag)))
            except Exception as exc:  # noqa: BLE001 - a missed sample is not worth the run
                print(f"  (progress sample failed: {exc})", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except TimeoutError:
                pass


def drain_rate(committed: list[tuple[float, int]], start: float, until: float | None) -> float | None:
    """Messages/s the ledger group committed between `start` and `until` (its catch-up)."""
    window = [(t, n) for t, n in committed if t <= (until or float("inf"))]
    if len(window) < 2 or not until or until <= start:
        return None
    return (window[-1][1] - window[0][1]) / (until - start)


# ---------------------------------------------------------------- the whole run


@dataclass
class Options:
    cards: int
    events: int
    sample: int
    sample_poll: float
    with_member: bool
    kafka: str
    host: str
    mongodb_uri: str
    json_path: Path
    timeout: float
    quiet_timeout: float


async def prelude(sample: list[DemoMember], urls: Urls, kafka: str, today: date, timeout: float) -> list[Journey]:
    """The sample members exist (cards + population record) and are logged in, before anything is measured."""
    events: list[EventData] = []
    for m in sample:
        events += [e for e in feed_events(m, today) if isinstance(e, (PersonRecorded, MemberRegistered))]
    await publish_events(kafka, events, source=SOURCE, progress=False)
    gate = asyncio.Semaphore(8)
    journeys = [Journey(urls, m, client=httpclient.async_client(timeout=60)) for m in sample]

    async def one(j: Journey) -> Journey | None:
        async with gate:
            try:
                await register_and_login(j, timeout, poll=0.5)
                return j
            except Exception as exc:  # noqa: BLE001 - that card is checked through balance.events only
                print(f"  sample member {j.member.nik} not registered: {str(exc)[:200]}", flush=True)
                await j.close()
                return None

    return [j for j in await asyncio.gather(*(one(j) for j in journeys)) if j is not None]


async def run(opts: Options) -> int:
    base = f"http://{opts.host}"
    urls = Urls(
        *(f"{base}:{API_PORTS[s]}" for s in ("identity", "profile", "balance", "claims", "payout")),
        banksim=f"{base}:{BANKSIM_PORT}",
    )
    today = date.today()
    seed = random.randrange(10**9)
    members = ingest_members(opts.cards, today, seed)
    counts = spread(opts.events, opts.cards)
    contributions = contribution_events(members, counts, today)
    expected = expected_totals(contributions)
    sample = members[: opts.sample]
    registrations = [
        e for m in members[opts.sample :] for e in feed_events(m, today) if isinstance(e, MemberRegistered)
    ]
    messages = serialize(registrations + contributions)  # the cards first, then the periods

    stack = stackstats.find_stack()
    if not stack:
        raise SystemExit(stackstats.NO_STACK)
    print(
        f"ingest bench: {opts.cards} new cards, {len(contributions)} ContributionPosted "
        f"({max(counts)} periods per card at most), {len(messages)} messages in all; "
        f"{os.cpu_count()} cores, {len(stack)} stack processes",
        flush=True,
    )
    kafka = stackstats.KafkaProbe(opts.kafka)
    mongo = stackstats.MongoProbe(opts.mongodb_uri)
    await kafka.start()
    await mongo.start()
    report: dict[str, Any] = {
        "options": {
            "cards": opts.cards,
            "events": len(contributions),
            "sample": opts.sample,
            "with_member": opts.with_member,
            "cores": os.cpu_count(),
        }
    }
    journeys: list[Journey] = []
    try:
        print(f"== prelude (not measured): {len(sample)} sample members registered and logged in", flush=True)
        started = time.monotonic()
        journeys = await prelude(sample, urls, opts.kafka, today, opts.quiet_timeout)
        waited = await stackstats.wait_quiet(kafka, opts.host, timeout=opts.quiet_timeout)
        idle = await stackstats.measure_idle(stack, mongo)
        report["idle"] = idle.to_json()
        print(
            f"  {len(journeys)} ready in {time.monotonic() - started:.1f}s; quiet after {waited:.1f}s; idle stack: "
            f"{idle.cpu_ms_per_s / 1000:.2f} cores ({idle.busiest()}), {idle.db_ops_per_s:.0f} DB ops/s",
            flush=True,
        )
        await measured(
            opts, urls, today, stack, kafka, mongo, messages, contributions, expected, journeys, idle, report
        )
    finally:
        for j in journeys:
            await j.close()
        report["mongo_probe_reconnects"] = mongo.reconnects
        await kafka.close()
        await mongo.close()
        write_json(opts.json_path, report)
    ok = report.get("visible", {}).get("cards_visible") == opts.cards
    return 0 if ok else 1


async def measured(
    opts: Options,
    urls: Urls,
    today: date,
    stack: dict[int, str],
    kafka: stackstats.KafkaProbe,
    mongo: stackstats.MongoProbe,
    messages: list,
    contributions: list,
    expected: dict[str, int],
    journeys: list[Journey],
    idle: stackstats.Idle,
    report: dict[str, Any],
) -> None:
    print("== ingestion (measured)", flush=True)
    partitions = [TopicPartition(t, p) for t, p in await kafka.end_offsets() if t == BALANCE_EVENTS]
    watcher = BalanceWatcher(opts.kafka, expected)
    await watcher.start(partitions)
    progress, stop = Progress(), asyncio.Event()
    sample_seen: dict[str, float] = {}
    sample = [(j, j.member.cards[0].kpj, expected[j.member.cards[0].kpj]) for j in journeys]
    before = await stackstats.snapshot(stack, mongo, kafka)
    follower = asyncio.create_task(follow(kafka, opts.host, progress, stop))
    poller = asyncio.create_task(poll_sample(sample, opts.sample_poll, sample_seen, stop))
    try:
        first, acked = await publish(opts.kafka, messages)
        print(
            f"  published {len(messages)} messages in {acked - first:.1f}s "
            f"({len(messages) / max(acked - first, 1e-9):,.0f} msg/s, acks=all)",
            flush=True,
        )
        member = (
            asyncio.create_task(member_during_backlog(urls, opts.kafka, today, opts.timeout))
            if opts.with_member
            else None
        )
        deadline = time.monotonic() + opts.timeout
        next_note = time.monotonic() + 30
        while not watcher.all_visible.is_set() or len(sample_seen) < len(sample):
            if time.monotonic() > deadline:
                print(f"  timed out after {opts.timeout:.0f}s", flush=True)
                break
            await asyncio.sleep(1)
            if time.monotonic() < next_note:
                continue
            next_note += 30
            print(
                f"  +{time.time() - first:5.0f}s: {len(watcher.visible)}/{len(expected)} cards announced, "
                f"{len(sample_seen)}/{len(sample)} sample balances seen",
                flush=True,
            )
        visible_at = max([*watcher.visible.values(), *sample_seen.values()], default=time.time())
        member_figures = await member if member else None
        await stackstats.wait_quiet(kafka, opts.host, timeout=opts.quiet_timeout)
        after = await stackstats.snapshot(stack, mongo, kafka)
    finally:
        stop.set()
        await asyncio.gather(follower, poller, return_exceptions=True)
        await watcher.stop()
    report_ingest(
        report,
        opts,
        first,
        acked,
        visible_at,
        watcher,
        sample_seen,
        len(sample),
        progress,
        member_figures,
        contributions,
        len(messages),
    )
    stats = stackstats.diff(before, after)
    report["stack"] = stats.to_json(len(contributions), "event")
    print(f"whole stack over the phase ({stats.seconds:.1f}s):")
    for line in stackstats.report_lines(stats, len(contributions), "event", cpu_scale=1000, idle=idle):
        print(f"  {line}")


def report_ingest(
    report: dict[str, Any],
    opts: Options,
    first: float,
    acked: float,
    visible_at: float,
    watcher: BalanceWatcher,
    sample_seen: dict[str, float],
    sample_size: int,
    progress: Progress,
    member_figures: dict[str, Any] | None,
    contributions: list,
    messages: int,
) -> None:
    events = len(contributions)
    elapsed = visible_at - first
    report["publish"] = {
        "messages": messages,
        "seconds": round(acked - first, 2),
        "messages_per_s": round(messages / max(acked - first, 1e-9), 1),
    }
    report["visible"] = {
        "cards_visible": len(watcher.visible),
        "cards": len(watcher.expected),
        "balance_changed_events": watcher.changes,
        "sample_visible": len(sample_seen),
        "sample": sample_size,
        "first_publish_to_all_visible_s": round(elapsed, 1),
        "events_per_s_end_to_end": round(events / elapsed, 1) if elapsed > 0 else None,
        "last_card_announced_s": round(max(watcher.visible.values(), default=first) - first, 1),
        "last_sample_balance_seen_s": round(max(sample_seen.values(), default=first) - first, 1),
    }
    groups = {g: caught_up_at(t) for g, t in progress.groups.items() if any(lag for _, lag in t)}
    workers = {w: caught_up_at(t) for w, t in progress.workers.items() if any(lag for _, lag in t)}
    ledger_done = groups.get(LEDGER_GROUP)
    rate = drain_rate(progress.ledger_committed, first, ledger_done)
    report["consumers"] = {
        "groups_caught_up_s": {g: (round(t - first, 1) if t else None) for g, t in sorted(groups.items())},
        "groups_max_lag": {g: max(lag for _, lag in t) for g, t in progress.groups.items() if any(lag for _, lag in t)},
        "workers_gauges_at_0_s": {w: (round(t - first, 1) if t else None) for w, t in sorted(workers.items())},
        "balance_ledger_drain_msgs_per_s": round(rate, 1) if rate else None,
    }
    if member_figures is not None:
        report["member_during_backlog"] = member_figures
    v, c = report["visible"], report["consumers"]
    print(
        f"publish: {messages} messages ({events} ContributionPosted + registrations) acknowledged in "
        f"{report['publish']['seconds']:.1f}s -> {report['publish']['messages_per_s']:,.0f} msg/s"
    )
    print(
        f"visible: {v['cards_visible']}/{v['cards']} cards announced on balance.events "
        f"(last at +{v['last_card_announced_s']}s, {v['balance_changed_events']} BalanceChanged), "
        f"{v['sample_visible']}/{v['sample']} sample balances through the API "
        f"(last at +{v['last_sample_balance_seen_s']}s)"
    )
    print(
        f"end to end: {events} events in {elapsed:.1f}s from first publish to everything visible "
        f"-> {v['events_per_s_end_to_end']} events/s"
    )
    print(
        f"balance ledger consumer drain rate: {c['balance_ledger_drain_msgs_per_s']} messages/s "
        f"(committed offsets on {CORE_MEMBERSHIP})"
    )
    print("consumer groups caught up (broker offsets; seconds after the first publish, max lag seen):")
    for group, at in c["groups_caught_up_s"].items():
        when = "still behind" if at is None else f"+{at}s"
        print(f"    {group:<28} {when:>12}  max lag {c['groups_max_lag'][group]}")
    print(
        "workers' consumer_lag gauges back at 0: "
        + ", ".join(f"{w} {'never' if t is None else f'+{t}s'}" for w, t in c["workers_gauges_at_0_s"].items())
    )
    if member_figures is not None:
        print(
            "a new member during the backlog, seconds after its feeds were published: registered "
            f"{_seconds(member_figures.get('registered_s'))}, balance shown {_seconds(member_figures.get('balance_s'))}, "
            f"eligible {_seconds(member_figures.get('eligible_s'))} {member_figures.get('error', '')}"
        )


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"after {value}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=5000, help="new KPJ cards (one new member each)")
    parser.add_argument("--events", type=int, default=100_000, help="ContributionPosted in total")
    parser.add_argument("--sample", type=int, default=50, help="cards also checked through GET /v1/balance")
    parser.add_argument("--sample-poll", type=float, default=10.0, help="seconds between a sample member's checks")
    parser.add_argument(
        "--with-member",
        action="store_true",
        help="onboard one new member while the backlog drains and time its balance and eligibility",
    )
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", stackstats.DEFAULT_MONGODB_URI))
    parser.add_argument("--json", type=Path, default=None, help="default: $DATA_DIR/bench/ingest-<timestamp>.json")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds for every card to become visible")
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for the stack to be quiet (before and after the measured phase)",
    )
    args = parser.parse_args()
    if not 1 <= args.cards <= MAX_CARDS:
        parser.error(f"--cards must be between 1 and {MAX_CARDS} (NIK sequence numbers are four digits)")
    if args.events < args.cards:
        parser.error("--events must be at least --cards (every card gets one period or more)")
    opts = Options(
        args.cards,
        args.events,
        min(args.sample, args.cards),
        args.sample_poll,
        args.with_member,
        args.kafka,
        args.host,
        args.mongodb_uri,
        args.json or default_json_path("ingest"),
        args.timeout,
        args.quiet_timeout,
    )
    sys.exit(asyncio.run(run(opts)))


if __name__ == "__main__":
    main()
