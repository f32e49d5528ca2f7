"""`make bench`: what a JHT claim costs the whole running stack, and how fast claims go.

Three phases, against the stack `make run` started:

1. Onboarding (its cost apart, not in the claim figures): N new members, each with its own upstream feeds
   (cards, contributions, population record) published to Kafka, a bank
   account at the simulator; each registers, logs in, passes a face match,
   completes the pengkinian data wizard, waits for its balance and
   eligibility and uploads documents. Last, in submission order, each logs in
   again and passes a second face match (purpose `claim`): tokens and face
   matches expire after 10 minutes. Then the bench waits until the stack is
   quiet, and prints what one member's onboarding cost the stack (CPU, DB
   operations, Kafka messages, the largest senders of database commands).
2. Claims (measured), open loop: claim i is submitted at t0 + i/rate whatever
   the earlier ones are doing. Completion is observed on the `claims.events`
   topic (ClaimStatusChanged), never by polling the claims API, which would add
   database work to what is measured. Around the phase, `stackstats` snapshots
   the CPU of every process of the stack, SecantusDB's opcounters and the
   topics' end offsets; the phase ends when every claim is in a terminal state
   and the stack is quiet again (a claim's tail - debits, projections - is
   part of its cost).
3. Ceiling: SecantusDB's own rate for our transaction shape (`ceiling`), on a
   scratch database, after the claims so it disturbs nothing.

    python -m jmo_local.bench --members 300 --rate 20 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition

from jmo_shared import httpclient
from jmo_shared.events import ClaimStatusChanged
from jmo_shared.topics import CLAIMS_EVENTS

from . import stackstats
from .ceiling import measure_ceiling
from .demo import Card, DemoMember, build_members, feed_events
from .demo_loader import demo_photo_pairs, publish_events
from .journey import Journey, JourneyError, Urls
from .services import API_PORTS, BANKSIM_PORT, ROOT
from .topic_tail import TopicTail

TERMINAL = ("PAID", "REJECTED", "PAYOUT_FAILED", "NEEDS_REVIEW")
# Onboarding waits this many times Journey's usual time for an event to be projected: hundreds of
# members at once put the projections minutes behind, and onboarding is not what is measured.
ONBOARDING_PATIENCE = 5.0


# ---------------------------------------------------------------- onboarding


def bench_members(count: int, today: date) -> list[DemoMember]:
    """New members (random seed: new NIKs every run), each with one card whose employment ended by resignation."""
    seed = random.randrange(10**9)
    members = build_members(
        count,
        today,
        demo_photo_pairs(ROOT / ".cache")[:1],
        seed=seed,
        nik_seq_start=random.randrange(1000, 9000 - count),
    )
    rng = random.Random(seed)
    for member in members:
        ended = today - timedelta(days=rng.randint(60, 200))
        member.cards = [
            Card(
                kpj=str(rng.randrange(10**10, 10**11)),
                employer_id="EMP-BENCH",
                employer_name="PT Bench Nusantara",
                registered_on=ended - timedelta(days=700),
                ended_on=ended,
                letter_date=ended - timedelta(days=30),
                wage_idr=rng.randrange(4_000_000, 9_000_000, 100_000),
            )
        ]
    return members


def expected_contributions(member: DemoMember, today: date) -> int:
    return sum(
        e.employer_idr + e.worker_idr
        for e in feed_events(member, today)
        if e.event_type.endswith("ContributionPosted.v1")
    )


@dataclass
class Ready:
    """A member ready to submit: everything the claim request needs."""

    journey: Journey
    kpj: str
    documents: list[str]
    verification_id: str


async def with_retries(step, retried: list[str], attempts: int = 3):
    """Run a step again after a transient failure (a 5xx, a dropped connection), noting it in `retried`.

    Onboarding is not what is measured, but its retries are reported: a 5xx is
    the stack's failure, not the benchmark's.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await step()
        except (JourneyError, httpx.TransportError) as exc:
            transient = isinstance(exc, httpx.TransportError) or " -> 5" in str(exc)
            if not transient or attempt == attempts:
                raise
            retried.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            await asyncio.sleep(attempt)


async def patiently(journey: Journey, wait, retried: list[str], rounds: int = 10):
    """`wait()` (a Journey wait of about 5 minutes) again after a fresh login, up to `rounds` times.

    An access token lives 10 minutes; under a big onboarding a projection can
    be further behind than that, and a wait polling with an expired token
    would only ever see 401s.
    """
    for round_ in range(1, rounds + 1):
        try:
            return await wait()
        except JourneyError:
            if round_ == rounds:
                raise
            await with_retries(journey.login, retried)


async def prepare(journey: Journey, contributions: int, retried: list[str]) -> Ready:
    await with_retries(journey.open_bank_account, retried)
    await with_retries(journey.register, retried)
    await with_retries(journey.login, retried)
    face = await with_retries(lambda: journey.verify_face("profile_update"), retried)
    await journey.update_profile(face["verification_id"])
    kpj = journey.member.cards[0].kpj
    # 60 s x ONBOARDING_PATIENCE per round: well within a token's life.
    await patiently(journey, lambda: journey.wait_balance(kpj, contributions, timeout=60), retried)
    eligibility = await patiently(journey, lambda: journey.wait_claim_ready(kpj, "resignation", timeout=60), retried)
    documents = await with_retries(lambda: journey.upload_documents(eligibility["required_documents"]), retried)
    return Ready(journey, kpj, documents, "")


async def arm(ready: list[Ready], concurrency: int, retried: list[str]) -> tuple[list[Ready], list[BaseException]]:
    """A fresh login and the face match for the claim, in submission order, just before the claims phase.

    Both expire after 10 minutes (identity's access_token_ttl_seconds and
    face_verification_ttl_seconds), and onboarding hundreds of members takes
    longer than that.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(r: Ready) -> Ready:
        async with gate:
            await with_retries(r.journey.login, retried)
            face = await with_retries(lambda: r.journey.verify_face("claim"), retried)
            r.verification_id = face["verification_id"]
            return r

    results = await asyncio.gather(*(one(r) for r in ready), return_exceptions=True)
    return [r for r in results if isinstance(r, Ready)], [r for r in results if isinstance(r, BaseException)]


async def onboard(
    people: list[DemoMember], urls: Urls, kafka: str, concurrency: int, today: date, retried: list[str]
) -> tuple[list[Ready], list[BaseException], float]:
    """Feeds, bank accounts and the whole preparation of every member, `concurrency` at a time."""
    started = time.monotonic()
    journeys = [
        Journey(urls, m, client=httpclient.async_client(timeout=60), patience=ONBOARDING_PATIENCE) for m in people
    ]
    gate = asyncio.Semaphore(concurrency)
    feeds = [e for m in people for e in feed_events(m, today)]
    await publish_events(kafka, feeds, source="/bench/upstream", progress=False)
    print(f"  published {len(feeds)} feed events ({time.monotonic() - started:.1f}s)", flush=True)

    async def prepared(j: Journey) -> Ready:
        async with gate:
            return await prepare(j, expected_contributions(j.member, today), retried)

    results = await asyncio.gather(*(prepared(j) for j in journeys), return_exceptions=True)
    ready = [r for r in results if isinstance(r, Ready)]
    failures = [r for r in results if isinstance(r, BaseException)]
    for j, r in zip(journeys, results):
        if isinstance(r, BaseException):
            await j.close()
    return ready, failures, time.monotonic() - started


# ---------------------------------------------------------------- watching claims.events


def _timestamp(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(value).timestamp() if value else None
    except (TypeError, ValueError):
        return None


class ClaimWatcher(TopicTail):
    """Every claim's status changes as claims.events announces them, read from the end of the topic.

    For each claim and status: (the event's own `at`, the time we received it), wall clock.
    """

    def __init__(self, bootstrap: str) -> None:
        super().__init__(bootstrap, ClaimStatusChanged.event_type)
        self.seen: dict[str, dict[str, tuple[float | None, float]]] = {}
        self.terminal: dict[str, str] = {}
        self._changed = asyncio.Event()

    def on_data(self, data: dict[str, Any], received: float) -> None:
        claim_id, status = data.get("claim_id"), data.get("status")
        if not claim_id or not status:
            return
        self.seen.setdefault(claim_id, {}).setdefault(status, (_timestamp(data.get("at")), received))
        if status in TERMINAL and claim_id not in self.terminal:
            self.terminal[claim_id] = status
            self._changed.set()

    async def wait_terminal(self, claim_ids: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not claim_ids <= self.terminal.keys():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 5))
            except TimeoutError:
                pass
        return True


# ---------------------------------------------------------------- the open-loop claims phase


@dataclass
class Submission:
    index: int
    scheduled: float  # monotonic
    sent_wall: float = 0.0
    sent_mono: float = 0.0
    status: int | None = None
    claim_id: str | None = None
    error: str = ""
    response_ms: float = 0.0


async def submit_open_loop(ready: list[Ready], rate: float) -> list[Submission]:
    """Start claim i at t0 + i/rate, without waiting for earlier ones: the arrival rate is ours, not the stack's."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2
    subs = [Submission(i, t0 + i / rate) for i in range(len(ready))]

    async def submit(r: Ready, sub: Submission) -> None:
        r.journey.patience = 1.0  # a submission retries a lagging projection's 422 for 30 s, as the app would
        sub.sent_wall, sub.sent_mono = time.time(), loop.time()
        try:
            resp = await r.journey.submit_claim(
                r.kpj, "resignation", r.documents, r.verification_id, idempotency_key=uuid.uuid4().hex
            )
            sub.status = resp.status_code
            if resp.status_code == 202:
                sub.claim_id = resp.json()["claim_id"]
            else:
                sub.error = resp.text[:300]
        except Exception as exc:  # noqa: BLE001 - a failed submission is a figure, not a crash
            sub.error = f"{type(exc).__name__}: {exc}"
        sub.response_ms = (loop.time() - sub.sent_mono) * 1000

    tasks = []
    for r, sub in zip(ready, subs):
        delay = sub.scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(submit(r, sub)))
    await asyncio.gather(*tasks)
    return subs


def claim_figures(subs: list[Submission], watcher: ClaimWatcher) -> dict[str, Any]:
    """Counts, outcomes, sustained rate and submit-to-PAID latency of one claims phase."""
    accepted = [s for s in subs if s.claim_id]
    refused = Counter(str(s.status) if s.status else s.error.split(":")[0] for s in subs if not s.claim_id)
    outcomes = Counter(watcher.terminal.get(s.claim_id, "no terminal status") for s in accepted)
    latencies, delivery = [], []
    paid_at = []
    for s in accepted:
        paid = watcher.seen.get(s.claim_id, {}).get("PAID")
        if not paid:
            continue
        at, received = paid
        # The event's own time, unless it is not a plausible wall-clock time of this run.
        moment = at if at is not None and s.sent_wall - 1 <= at <= received + 1 else received
        latencies.append(moment - s.sent_wall)
        paid_at.append(moment)
        if at is not None:
            delivery.append(received - at)
    first_sent = min((s.sent_wall for s in subs), default=0.0)
    span = (max(paid_at) - first_sent) if paid_at else 0.0
    slips = [(s.sent_mono - s.scheduled) * 1000 for s in subs if s.sent_mono]
    responses = [s.response_ms for s in subs if s.sent_mono]
    figures: dict[str, Any] = {
        "submitted": len(subs),
        "accepted": len(accepted),
        "refused": dict(refused),
        "refused_examples": [s.error for s in subs if not s.claim_id][:3],
        "outcomes": dict(outcomes),
        "paid": len(latencies),
        "first_submit_to_last_paid_s": round(span, 3),
        "sustained_claims_per_s": round(len(latencies) / span, 3) if span > 0 else 0.0,
        "schedule_slip_ms_max": round(max(slips), 1) if slips else None,
        "submit_response_ms_p50": round(stackstats.percentile(responses, 50), 1) if responses else None,
        "submit_response_ms_p99": round(stackstats.percentile(responses, 99), 1) if responses else None,
    }
    if latencies:
        figures.update(
            {
                "submit_to_paid_ms_p50": round(stackstats.percentile(latencies, 50) * 1000),
                "submit_to_paid_ms_p99": round(stackstats.percentile(latencies, 99) * 1000),
                "submit_to_paid_ms_max": round(max(latencies) * 1000),
            }
        )
    if delivery:
        figures["paid_event_delivery_ms_p50"] = round(stackstats.percentile(delivery, 50) * 1000)
    return figures


def print_claims(f: dict[str, Any], rate: float) -> None:
    print(
        f"submitted {f['submitted']} at {rate:g}/s (open loop, schedule slip max {f['schedule_slip_ms_max']} ms), "
        f"accepted (202) {f['accepted']}, refused {f['refused'] or 0}"
    )
    for example in f["refused_examples"]:
        print(f"  refused: {example}")
    print(f"submit response time: p50 {f['submit_response_ms_p50']} ms, p99 {f['submit_response_ms_p99']} ms")
    print(f"outcomes: {f['outcomes']}")
    print(
        f"sustained: {f['paid']} PAID in {f['first_submit_to_last_paid_s']:.1f}s (first submit to last PAID) "
        f"-> {f['sustained_claims_per_s']:.2f} claims/s"
    )
    if "submit_to_paid_ms_p50" in f:
        print(
            f"submit-to-PAID latency: p50 {f['submit_to_paid_ms_p50']} ms, p99 {f['submit_to_paid_ms_p99']} ms, "
            f"max {f['submit_to_paid_ms_max']} ms (PAID event on Kafka "
            f"{f.get('paid_event_delivery_ms_p50', '?')} ms after its `at`, p50)"
        )


# ---------------------------------------------------------------- the whole run


@dataclass
class Options:
    members: int
    rate: float
    concurrency: int
    kafka: str
    host: str
    mongodb_uri: str
    json_path: Path
    ceiling_seconds: float
    ceiling: bool
    timeout: float
    quiet_timeout: float
    report: dict[str, Any] = field(default_factory=dict)


async def run(opts: Options) -> int:
    base = f"http://{opts.host}"
    urls = Urls(
        *(f"{base}:{API_PORTS[s]}" for s in ("identity", "profile", "balance", "claims", "payout")),
        banksim=f"{base}:{BANKSIM_PORT}",
    )
    today = date.today()
    stack = stackstats.find_stack()
    if not stack:
        raise SystemExit(stackstats.NO_STACK)
    print(
        f"bench: {opts.members} members, onboarding concurrency {opts.concurrency}, claims at {opts.rate:g}/s, "
        f"{os.cpu_count()} cores; stack: {len(stack)} processes ({', '.join(sorted(set(stack.values())))})",
        flush=True,
    )
    kafka = stackstats.KafkaProbe(opts.kafka)
    mongo = stackstats.MongoProbe(opts.mongodb_uri)
    await kafka.start()
    await mongo.start()
    report = opts.report
    report["options"] = {
        "members": opts.members,
        "rate": opts.rate,
        "concurrency": opts.concurrency,
        "cores": os.cpu_count(),
        "processes": sorted(set(stack.values())),
    }
    try:
        print("== onboarding (its cost measured apart from the claims)", flush=True)
        people = bench_members(opts.members, today)
        retried: list[str] = []
        onboarding_commands_before = await stackstats.command_counts()
        onboarding_before = await stackstats.snapshot(stack, mongo, kafka)
        ready, failures, seconds = await onboard(people, urls, opts.kafka, opts.concurrency, today, retried)
        armed_at = time.monotonic()
        ready, arm_failures = await arm(ready, opts.concurrency, retried)
        failures += arm_failures
        armed = time.monotonic() - armed_at
        seconds += armed
        print(
            f"  {len(ready)} members ready in {seconds:.1f}s "
            f"(feeds, bank account, register, login, 2 face matches, wizard, balance, eligibility, documents; "
            f"the last {armed:.1f}s: a fresh login and the claim's face match); {len(failures)} failed",
            flush=True,
        )
        if armed > 480:
            print("  (warning: the first tokens and face matches are near their 10 minute expiry)", flush=True)
        for failure in failures[:3]:
            print(f"  onboarding failed: {type(failure).__name__}: {str(failure)[:400]}", file=sys.stderr)
        if retried:
            print(f"  {len(retried)} steps retried after a transient failure; first: {retried[0]}", flush=True)
        report["onboarding"] = {
            "ready": len(ready),
            "failed": len(failures),
            "seconds": round(seconds, 1),
            "login_and_claim_face_seconds": round(armed, 1),
            "failures": [f"{type(f).__name__}: {str(f)[:400]}" for f in failures[:5]],
            "transient_retries": len(retried),
            "retried_examples": retried[:5],
        }
        waited = await stackstats.wait_quiet(kafka, opts.host, timeout=opts.quiet_timeout)
        onboarding_stats = stackstats.diff(onboarding_before, await stackstats.snapshot(stack, mongo, kafka))
        onboarding_commands = stackstats.command_breakdown(
            onboarding_commands_before, await stackstats.command_counts(), len(ready), top=12
        )
        report["onboarding"]["stack"] = onboarding_stats.to_json(len(ready), "member")
        report["onboarding"]["commands_per_member"] = [[*key, round(n, 3)] for key, n in onboarding_commands]
        print_onboarding_cost(onboarding_stats, len(ready), onboarding_commands)
        idle = await stackstats.measure_idle(stack, mongo)
        report["idle"] = idle.to_json()
        print(
            f"  stack quiet after {waited:.1f}s more; idle it keeps {idle.cpu_ms_per_s / 1000:.2f} cores "
            f"busy ({idle.busiest()}) and does {idle.db_ops_per_s:.0f} DB ops/s on its own",
            flush=True,
        )
        if not ready:
            return 1

        print(f"== claims: {len(ready)} at {opts.rate:g}/s, open loop (measured)", flush=True)
        watcher = ClaimWatcher(opts.kafka)
        await watcher.start([TopicPartition(t, p) for t, p in await kafka.end_offsets() if t == CLAIMS_EVENTS])
        sampler = stackstats.CpuSampler(stack)
        try:
            metrics_before = await stackstats.service_metrics()
            before = await stackstats.snapshot(stack, mongo, kafka)
            sampler.start()
            subs = await submit_open_loop(ready, opts.rate)
            accepted = {s.claim_id for s in subs if s.claim_id}
            print(
                f"  all submitted in {time.monotonic() - before.monotonic:.1f}s; waiting for terminal states",
                flush=True,
            )
            if not await watcher.wait_terminal(accepted, opts.timeout):
                print(
                    f"  {len(accepted - watcher.terminal.keys())} claims not terminal after {opts.timeout:.0f}s",
                    flush=True,
                )
            # What a claim sets off after PAID (debit, projections, helpdesk) is part of its cost.
            await stackstats.wait_quiet(kafka, opts.host, timeout=opts.quiet_timeout)
            after = await stackstats.snapshot(stack, mongo, kafka)
            metrics_after = await stackstats.service_metrics()
        finally:
            await sampler.stop()
            await watcher.stop()
            for r in ready:
                await r.journey.close()

        figures = claim_figures(subs, watcher)
        stats = stackstats.diff(before, after)
        report["claims"] = figures
        report["stack"] = stats.to_json(figures["paid"], "claim")
        peak = stackstats.busiest_window(sampler.samples)
        report["busiest_window"] = peak
        print_claims(figures, opts.rate)
        print(f"whole stack over the phase ({stats.seconds:.1f}s, per PAID claim):")
        for line in stackstats.report_lines(stats, figures["paid"], "claim", idle=idle):
            print(f"  {line}")
        if peak is not None:
            print(f"  {busiest_line(peak)}")
        latency = stackstats.command_latency(
            stackstats.command_latency_of(metrics_before), stackstats.command_latency_of(metrics_after), top=12
        )
        report["database_answers"] = latency
        for line in stackstats.latency_lines(latency[:6]):
            print(f"  {line}")
        # Every sender goes to the JSON; the largest are printed.
        commands_before = stackstats.command_counts_of(metrics_before)
        commands_after = stackstats.command_counts_of(metrics_after)
        commands = stackstats.command_breakdown(commands_before, commands_after, figures["paid"], top=None)
        report["commands_per_claim"] = [[*key, round(n, 3)] for key, n in commands]
        for line in stackstats.command_lines(
            stackstats.command_breakdown(commands_before, commands_after, figures["paid"]), "claim"
        ):
            print(f"  {line}")

        if opts.ceiling:
            await ceiling(opts, figures["sustained_claims_per_s"], report)
    finally:
        report["mongo_probe_reconnects"] = mongo.reconnects
        await kafka.close()
        await mongo.close()
        write_json(opts.json_path, report)
    onboarding_failed = report.get("onboarding", {}).get("failed", 1)
    return 0 if report.get("claims", {}).get("paid") and not onboarding_failed else 1


def busiest_line(peak: dict[str, Any]) -> str:
    """The phase's busiest few seconds in one line: is the machine, or one process, at its limit?"""
    processes = ", ".join(f"{k} {v:.2f}" for k, v in list(peak["cores_busy_by_process"].items())[:4])
    return (
        f"busiest {peak['seconds']:.0f}s (from {peak['starts_after_s']:.0f}s into the phase): the machine "
        f"{peak['machine_cores_busy']:.2f} of {os.cpu_count()} cores ({peak['machine_cores_stolen']:.2f} stolen), "
        f"the stack {peak['stack_cores_busy']:.2f} ({processes})"
    )


def print_onboarding_cost(
    stats: stackstats.StackDiff, members: int, commands: list[tuple[stackstats.CommandKey, float]]
) -> None:
    """What one member's onboarding costs the stack (until it is quiet again): the short form."""
    if members <= 0:
        return
    busiest = ", ".join(f"{name} {ms / members:,.0f}" for name, ms in stackstats.top(stats.cpu_ms_by_process, 5))
    ops = f"{stats.db_ops_total / members:,.1f}" if stats.db_ops_total is not None else "?"
    kafka = f"{stats.kafka_messages / members:,.1f}" if stats.kafka_messages is not None else "?"
    print(
        f"  per member onboarded: {stats.cpu_ms / members:,.0f} CPU ms over the whole stack ({busiest}), "
        f"{ops} DB operations, {kafka} Kafka messages",
        flush=True,
    )
    for line in stackstats.command_lines(commands, "member"):
        print(f"  {line}", flush=True)


async def ceiling(opts: Options, claims_per_s: float, report: dict[str, Any]) -> None:
    print(f"== ceiling: SecantusDB alone, our transaction shape, concurrency 8, {opts.ceiling_seconds:g}s", flush=True)
    result = await measure_ceiling(opts.mongodb_uri, opts.ceiling_seconds, 8)
    tx_s = result.per_second
    entry = result.to_json()
    print(
        f"  {result.transactions} transactions in {result.seconds:.1f}s -> {tx_s:.1f} tx/s "
        f"({result.errors} errors{': ' + result.first_error if result.first_error else ''})"
    )
    if tx_s and claims_per_s:
        entry["claims_per_s_over_ceiling_tx_per_s"] = round(claims_per_s / tx_s, 4)
        entry["transactions_per_claim_the_ceiling_allows"] = round(tx_s / claims_per_s, 1)
        print(
            f"  claims/s / ceiling tx/s = {claims_per_s:.2f} / {tx_s:.1f} = {claims_per_s / tx_s:.3f}: "
            f"at this claim rate the database alone would allow {tx_s / claims_per_s:.1f} transactions per claim"
        )
    report["ceiling"] = entry


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"figures written to {path}")


def default_json_path(prefix: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return stackstats.default_data_dir() / "bench" / f"{prefix}-{stamp}.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=300, help="members onboarded, one claim each")
    parser.add_argument("--rate", type=float, default=20.0, help="claims started per second (open loop)")
    parser.add_argument("--concurrency", type=int, default=8, help="members onboarded at the same time")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", stackstats.DEFAULT_MONGODB_URI))
    parser.add_argument("--json", type=Path, default=None, help="default: $DATA_DIR/bench/claims-<timestamp>.json")
    parser.add_argument("--ceiling-seconds", type=float, default=8.0)
    parser.add_argument("--no-ceiling", action="store_true", help="skip the database ceiling measurement")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds for every claim to reach a terminal state"
    )
    parser.add_argument("--quiet-timeout", type=float, default=300.0, help="seconds to wait for the stack to be quiet")
    args = parser.parse_args()
    if args.members < 1 or args.rate <= 0:
        parser.error("--members and --rate must be positive")
    opts = Options(
        args.members,
        args.rate,
        args.concurrency,
        args.kafka,
        args.host,
        args.mongodb_uri,
        args.json or default_json_path("claims"),
        args.ceiling_seconds,
        not args.no_ceiling,
        args.timeout,
        args.quiet_timeout,
    )
    try:
        sys.exit(asyncio.run(run(opts)))
    except KeyboardInterrupt:
        print(f"\ninterrupted; what was measured so far is in {opts.json_path}", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
