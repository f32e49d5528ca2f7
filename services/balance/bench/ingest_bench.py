"""Ledger ingestion benchmark (not a test): ContributionPosted events/s into the balance ledger.

Publishes MemberRegistered + ContributionPosted for K members to core.membership.events
(as the core system does), then times until the balance worker has applied all of
them, read from the worker's own counters (consumer_events_total), and says where
the time went: the worker's time per event, the CPU each process used, the worker's
database commands per event (its mongo_commands_total), and (with --commands) the
commands one contribution costs, from the server's profiler.

    # start a balance API + worker of its own on the dev infra (fresh database, fresh groups):
    python services/balance/bench/ingest_bench.py --spawn --members 500 --months 12 \\
        --kafka 127.0.0.1:9092 --mongo 'mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true'
    # the monthly bulk posting alone: members registered first (untimed), then their contributions month by month:
    python services/balance/bench/ingest_bench.py --spawn --members 1000 --months 12 --registered-first ...
    # or against a running worker (its /metrics):
    python services/balance/bench/ingest_bench.py --worker-url http://127.0.0.1:8103 --members 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from pymongo import AsyncMongoClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stack import (  # noqa: E402 - the bench's own helpers, next to this file
    DEFAULT_MONGO,
    CpuMeter,
    listening_pid,
    load_or_make_key,
    member_events,
    port_of,
    publish,
    scrape,
    spawn,
)


async def ledger_count(worker_url: str) -> tuple[float, float, float]:
    """(events finished, seconds spent applying, events timed) of the worker's ledger group."""
    text = await scrape(worker_url)
    done = 0.0
    seconds = timed = 0.0
    for line in text.splitlines():
        if ".balance.ledger" not in line:
            continue
        head, value = line.rsplit(" ", 1)
        if head.startswith("consumer_events_total{") and ('outcome="applied"' in head or 'outcome="duplicate"' in head):
            done += float(value)
        elif head.startswith("consumer_handle_seconds_sum{"):
            seconds += float(value)
        elif head.startswith("consumer_handle_seconds_count{"):
            timed += float(value)
    return done, seconds, timed


async def worker_commands(worker_url: str) -> Counter[str]:
    """The database commands the worker has sent so far (`mongo_commands_total`), by command and collection."""
    counts: Counter[str] = Counter()
    for line in (await scrape(worker_url)).splitlines():
        if line.startswith("mongo_commands_total{"):
            head, value = line.rsplit(" ", 1)
            labels = dict(part.split("=", 1) for part in head[head.index("{") + 1 : -1].split(","))
            what = f"{labels['command'].strip(chr(34))} {labels['collection'].strip(chr(34))}".strip()
            counts[what] += int(float(value))
    return counts


def commands_report(before: Counter[str], after: Counter[str], events: int) -> str:
    """Commands per event over the measurement (everything the worker sent: consumers, relay, crediting)."""
    sent = after - before
    lines = [f"worker database commands (mongo_commands_total): {sum(sent.values()) / events:.2f} per event"]
    lines += [f"  {n / events:6.3f} per event  {what}" for what, n in sent.most_common()]
    return "\n".join(lines)


async def wait_applied(worker_url: str, baseline: float, n: int, timeout: float) -> tuple[float, float]:
    """Poll the worker until n more events are done; returns (monotonic time of the first and the last)."""
    first = last = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = (await ledger_count(worker_url))[0] - baseline
        now = time.monotonic()
        if done > 0 and first is None:
            first = now
        if done >= n:
            last = now
            break
        await asyncio.sleep(0.25)
    if last is None:
        raise SystemExit(f"not all events applied within {timeout:.0f}s")
    return first or last, last


async def register_first(kafka: str, worker_url: str, events: list, timeout: float) -> list:
    """Apply the MemberRegistered events untimed; returns the contributions, month by month (as employers
    post them: each month for all their workers), to be timed on their own."""
    registrations = [e for e in events if type(e).__name__ == "MemberRegistered"]
    baseline, *_ = await ledger_count(worker_url)
    await publish(kafka, registrations)
    await wait_applied(worker_url, baseline, len(registrations), timeout)
    print(f"registered first (untimed): {len(registrations)} MemberRegistered")
    return sorted((e for e in events if type(e).__name__ == "ContributionPosted"), key=lambda e: e.period)


async def measure(
    kafka: str,
    worker_url: str,
    members: int,
    months: int,
    cards: int,
    timeout: float,
    meter: CpuMeter | None = None,
    registered_first: bool = False,
) -> None:
    events, _ = member_events(members, months, cards)
    if registered_first:
        events = await register_first(kafka, worker_url, events, timeout)
    contributions = sum(1 for e in events if type(e).__name__ == "ContributionPosted")
    baseline, seconds0, timed0 = await ledger_count(worker_url)
    commands0 = await worker_commands(worker_url)
    if meter:
        meter.start()
    started = time.monotonic()
    published = await publish(kafka, events)
    first, last = await wait_applied(worker_url, baseline, len(events), timeout)
    _, seconds1, timed1 = await ledger_count(worker_url)
    commands1 = await worker_commands(worker_url)
    total = last - started
    print(
        f"ingestion: {len(events)} events ({members} members x {cards} card(s): {contributions} ContributionPosted "
        f"+ {len(events) - contributions} MemberRegistered) published in {published:.1f} s; all applied "
        f"{total:.1f} s after the first was published -> {len(events) / total:.0f} events/s "
        f"(polling granularity 0.25 s)"
    )
    if timed1 > timed0:
        per_event = (seconds1 - seconds0) / (timed1 - timed0) * 1000
        print(
            f"worker: {per_event:.1f} ms of transaction time per event (batches share one transaction; "
            f"partitions apply concurrently)"
        )
    if meter:
        print(meter.stop())
    if commands1:
        print(commands_report(commands0, commands1, len(events)))


async def command_profile(mongo: str, db_name: str, kafka: str, worker_url: str) -> None:
    """The database commands a few contributions cost, from the server's profiler (system.profile)."""
    client = AsyncMongoClient(mongo, tz_aware=True)
    db = client[db_name]
    try:
        events, _ = member_events(20, 1)
        baseline, *_ = await ledger_count(worker_url)
        await publish(kafka, [e for e in events if type(e).__name__ == "MemberRegistered"])
        await wait_applied(worker_url, baseline, 20, 60)
        since = datetime.now(UTC)
        await db.command({"profile": 2})
        await publish(kafka, [e for e in events if type(e).__name__ == "ContributionPosted"])
        await wait_applied(worker_url, baseline + 20, 20, 60)
        await db.command({"profile": 0})
        rows = await db["system.profile"].find({"ts": {"$gte": since}}).to_list()
    finally:
        await client.close()
    counts: Counter[str] = Counter()
    for row in rows:
        coll = row["ns"].split(".", 1)[1] if "." in row["ns"] else "-"
        if coll in ("outbox_lease",) or (coll == "outbox" and row["op"] in ("query", "update")):
            continue  # the relay's polling, not the ledger's cost
        counts[f"{row['op']} {coll}"] += 1
    print("database commands for 20 ContributionPosted (profiler; relay polling left out):")
    for what, n in counts.most_common():
        print(f"  {n / 20:5.1f} per event  {what}")


async def main(args: argparse.Namespace) -> None:
    stack = None
    worker_url = args.worker_url
    pids: dict[str, int | None] = {"database": listening_pid(port_of(args.mongo))}
    if args.spawn:
        stack = await spawn(args.kafka, args.mongo, load_or_make_key(None))
        worker_url = stack.worker_url
        pids.update(stack.pids)
    try:
        await measure(
            args.kafka,
            worker_url,
            args.members,
            args.months,
            args.cards_per_member,
            args.timeout,
            CpuMeter(pids),
            args.registered_first,
        )
        if args.commands and stack:
            await command_profile(args.mongo, stack.db_name, args.kafka, worker_url)
    finally:
        if stack:
            stack.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spawn", action="store_true", help="start a balance API + worker on a fresh database")
    parser.add_argument("--worker-url", default="http://127.0.0.1:8103", help="a running worker (without --spawn)")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--mongo", default=os.environ.get("MONGODB_URI", DEFAULT_MONGO))
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--months", type=int, default=12, help="ContributionPosted per card")
    parser.add_argument("--cards-per-member", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--registered-first",
        action="store_true",
        help="register the members untimed, then time only their contributions, month by month",
    )
    parser.add_argument(
        "--commands",
        action="store_true",
        help="with --spawn: also list the database commands per contribution (profiler)",
    )
    args = parser.parse_args()
    # A plain SIGTERM (e.g. from `timeout`) still stops the balance processes the bench started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
