"""Balance benchmark (not a test): ledger ingestion events/s, then GET /v1/balance reads/s and p99.

Seeds N members (one KPJ card each, M monthly contributions) through Kafka as the
core system would, times how long the worker takes to apply them (until every
card's BalanceChanged with its full contributions is on balance.events), then
drives GET /v1/balance with C concurrent httpx clients for D seconds.

The API must trust the bench's tokens. Either let the bench start the balance
API and worker itself on a fresh database (--spawn), or start them with
JWKS_JSON set to the output of `balance_bench.py jwks --key KEY.pem` and pass --key:

    python services/balance/bench/balance_bench.py run --spawn \\
        --kafka 127.0.0.1:9092 --mongo 'mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true' \\
        --cards 500 --months 24 --concurrency 16 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import jwt
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.upstream import ContributionPosted, MemberRegistered
from jmo_shared.topics import (
    BALANCE_EVENTS,
    CLAIMS_EVENTS,
    CORE_MEMBERSHIP,
    IDENTITY_EVENTS,
    PAYOUT_EVENTS,
    TOPICS,
)

KID = "balance-bench"


def load_or_make_key(path: str | None) -> ec.EllipticCurvePrivateKey:
    if path and Path(path).exists():
        return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)  # type: ignore[return-value]
    key = ec.generate_private_key(ec.SECP256R1())
    if path:
        Path(path).write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return key


def jwks_of(key: ec.EllipticCurvePrivateKey) -> str:
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES256"}]})


def token(key: ec.EllipticCurvePrivateKey, nik: str) -> str:
    now = datetime.now(UTC)
    claims = {"iss": "jmo-identity", "aud": "jmo-mobile", "sub": f"bench-{nik}", "nik": nik, "iat": now,
              "exp": now + timedelta(hours=2), "typ": "access", "roles": ["member"]}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def skip_history(bootstrap: str, group_prefix: str) -> None:
    """Start the fresh worker's groups at the end of their topics: measure the bench's events, not a replay."""
    counts = {s.name: s.partitions for s in TOPICS}
    groups = {"ledger": [CORE_MEMBERSHIP], "reservations": [CLAIMS_EVENTS, PAYOUT_EVENTS],
              "verifications": [IDENTITY_EVENTS]}
    for name, topics in groups.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"{group_prefix}.balance.{name}",
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(t, p) for t in topics for p in range(counts[t])]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            await consumer.commit({tp: await consumer.position(tp) for tp in parts})
        finally:
            await consumer.stop()


def spawn(args: argparse.Namespace, key: ec.EllipticCurvePrivateKey, db: str) -> tuple[str, list[subprocess.Popen]]:
    api_port, worker_port = free_port(), free_port()
    env = {**os.environ, "MONGODB_URI": args.mongo, "KAFKA_BOOTSTRAP_SERVERS": args.kafka,
           "JWKS_JSON": jwks_of(key), "BALANCE_DB_NAME": db, "BALANCE_PORT": str(api_port),
           "BALANCE_WORKER_PORT": str(worker_port), "CONSUMER_GROUP_PREFIX": db, "LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", f"jmo_balance.entrypoints.{m}"], env=env)
             for m in ("api", "worker")]
    url = f"http://127.0.0.1:{api_port}"
    args.worker_url = f"http://127.0.0.1:{worker_port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return url, procs
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the balance API did not become ready")


def seed_events(cards: int, months: int) -> tuple[list[MemberRegistered | ContributionPosted], dict[str, int]]:
    events: list[MemberRegistered | ContributionPosted] = []
    expected: dict[str, int] = {}
    start = date(2024, 1, 1)
    for i in range(cards):
        nik = f"3174019{random.randint(0, 10**9 - 1):09d}"
        kpj = f"{random.randint(10**10, 10**11 - 1)}"
        events.append(MemberRegistered(nik=nik, kpj=kpj, full_name=f"Bench {i}", birth_date=date(1990, 1, 1),
                                       employer_id="E-1", employer_name="PT Bench", registered_on=date(2015, 1, 1)))
        for m in range(months):
            period = f"{start.year + (m // 12)}-{m % 12 + 1:02d}"
            events.append(ContributionPosted(kpj=kpj, period=period, wage_idr=5_000_000, employer_idr=185_000,
                                             worker_idr=100_000, posted_at=datetime.now(UTC), nik=nik))
        expected[nik] = months * 285_000
    return events, expected


async def ingest(args: argparse.Namespace, events: list, expected: dict[str, int]) -> float:
    counts = {s.name: s.partitions for s in TOPICS}
    tap = AIOKafkaConsumer(bootstrap_servers=args.kafka, enable_auto_commit=False)
    await tap.start()
    parts = [TopicPartition(BALANCE_EVENTS, p) for p in range(counts[BALANCE_EVENTS])]
    tap.assign(parts)
    await tap.seek_to_end(*parts)
    producer = AIOKafkaProducer(bootstrap_servers=args.kafka, acks="all", linger_ms=5)
    await producer.start()
    started = time.monotonic()
    for data in events:
        await producer.send(data.topic, value=data.to_event("/bench").to_bytes(), key=data.key().encode())
    await producer.flush()
    await producer.stop()
    published = time.monotonic() - started
    pending = dict(expected)
    first_seen: float | None = None
    while pending:
        batch = await tap.getmany(timeout_ms=1000)
        for messages in batch.values():
            for m in messages:
                e = CloudEvent.from_bytes(m.value)
                if not e.type.endswith("BalanceChanged.v1") or e.data["nik"] not in expected:
                    continue
                # From the first change on: a freshly started worker first joins its groups and replays history.
                first_seen = first_seen or time.monotonic()
                if pending.get(e.data["nik"]) == e.data["contributions_idr"]:
                    pending.pop(e.data["nik"])
        if time.monotonic() - started > args.ingest_timeout:
            print(f"ingestion timed out with {len(pending)} cards pending", file=sys.stderr)
            break
    await tap.stop()
    done = time.monotonic()
    applying = done - (first_seen or started)
    print(f"ingestion: {len(events)} events published in {published:.1f}s; all applied {done - started:.1f}s "
          f"after publishing began, {applying:.1f}s after the first was -> {len(events) / applying:.0f} events/s")
    return applying


def print_worker_metrics(worker_url: str) -> None:
    """Mean time the worker spent applying one event, per consumer group."""
    sums: dict[str, list[float]] = {}
    for line in httpx.get(f"{worker_url}/metrics", timeout=5).text.splitlines():
        if line.startswith("consumer_handle_seconds_") and ("_sum{" in line or "_count{" in line):
            name, value = line.rsplit(" ", 1)
            group = name.split('group="', 1)[1].split('"', 1)[0]
            sums.setdefault(group, [0.0, 0.0])[0 if "_sum{" in name else 1] += float(value)
    for group, (total, count) in sums.items():
        if count:
            print(f"worker {group}: {count:.0f} events, {total / count * 1000:.1f} ms each on average")


async def read_load(args: argparse.Namespace, url: str, tokens: list[str]) -> None:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + args.duration

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                resp = await http.get("/v1/balance", headers={"Authorization": f"Bearer {random.choice(tokens)}"})
                latencies.append(time.perf_counter() - t0)
                errors += resp.status_code != 200

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
    print(f"reads: {len(latencies)} GET /v1/balance in {elapsed:.1f}s with {args.concurrency} clients -> "
          f"{len(latencies) / elapsed:.0f}/s, p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, errors {errors}")


async def run(args: argparse.Namespace) -> None:
    key = load_or_make_key(args.key)
    procs: list[subprocess.Popen] = []
    url = args.api_url
    if args.spawn:
        db = f"bench_{uuid.uuid4().hex[:8]}"
        await skip_history(args.kafka, db)
        url, procs = await asyncio.to_thread(spawn, args, key, db)
    try:
        events, expected = seed_events(args.cards, args.months)
        await ingest(args, events, expected)
        if getattr(args, "worker_url", None):
            print_worker_metrics(args.worker_url)
        await read_load(args, url, [token(key, nik) for nik in expected])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("jwks", help="print the JWKS_JSON to start the balance API with")
    keys.add_argument("--key", required=True, help="PEM file of the bench's signing key (created if missing)")
    go = sub.add_parser("run")
    go.add_argument("--api-url", default="http://127.0.0.1:8003")
    go.add_argument("--spawn", action="store_true", help="start the balance API and worker on a fresh database")
    go.add_argument("--key", help="PEM file of a key the API trusts (see `jwks`); a new one with --spawn")
    go.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    go.add_argument("--mongo", default=os.environ.get(
        "MONGODB_URI", "mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true"))
    go.add_argument("--cards", type=int, default=200)
    go.add_argument("--months", type=int, default=12)
    go.add_argument("--concurrency", type=int, default=16)
    go.add_argument("--duration", type=float, default=15.0)
    go.add_argument("--ingest-timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.command == "jwks":
        print(jwks_of(load_or_make_key(args.key)))
        return
    if not args.spawn and not args.key:
        parser.error("without --spawn, --key must name a key the running API trusts (see `jwks`)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
