"""Risk stream benchmark (not a test): events/s through the faust app, and how long a verdict takes.

Publishes, for M members, a ProfileUpdated (members share bank accounts, `--per-account` each) and
a ClaimSubmitted, plus `--refusals` FaceMatchRefused per member, then times until the worker's
`detect` agent has counted every claim on its account (risk_signals_total{kind="account_claim"}).
It prints the source events/s through the service and the time from each claim's publish to its
ClaimScreened on risk.events: the latency a claim adds to submit-to-PAID when claims wait for the
verdict (CLAIMS_RISK_VERDICT_WAIT_SECONDS > 0; with the default 0 claims add nothing).

    .venv/bin/python services/risk/bench/stream_bench.py --members 1000            # a Kafka and SecantusDB of its own
    .venv/bin/python services/risk/bench/stream_bench.py --members 1000 --kafka 127.0.0.1:9092 \\
        --mongo 'mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from jmo_local.topics import create_topics
from jmo_risk.entrypoints.worker import create_worker
from jmo_risk.settings import RiskSettings
from jmo_shared.events import (
    BankAccount,
    ClaimSubmitted,
    CloudEvent,
    FaceMatchRefused,
    ProfileUpdated,
)
from jmo_shared.topics import RISK_EVENTS, TOPICS, risk_stream_topics


def events_for(members: int, per_account: int, refusals: int) -> tuple[list, list[ClaimSubmitted]]:
    now = datetime.now(UTC)
    setup, claims = [], []
    for i in range(members):
        member_id, nik = f"bm-{uuid.uuid4().hex[:10]}", "3174" + str(10**11 + i).rjust(12, "0")
        account = str(10**9 + i // per_account)
        setup.append(
            ProfileUpdated(
                member_id=member_id,
                nik=nik,
                update_id=uuid.uuid4().hex[:8],
                changed_fields=["bank_account"],
                data_update_completed=True,
                full_name="B",
                confirmed_at=now - timedelta(days=40),
                bank_account=BankAccount(
                    bank_code="014", account_number=account, account_name="B", changed_at=now - timedelta(days=40)
                ),
            )
        )
        setup += [
            FaceMatchRefused(
                member_id=member_id,
                nik=nik,
                purpose="claim",
                outcome="not_matched",
                client_address=f"10.0.{i % 250}.{i % 7}",
                refused_at=now,
            )
            for _ in range(refusals)
        ]
        claims.append(
            ClaimSubmitted(
                claim_id=f"bc-{uuid.uuid4().hex[:12]}",
                member_id=member_id,
                nik=nik,
                kpj=str(10**10 + i),
                reason="resignation",
                document_ids=[],
                verification_id="v",
                submitted_at=now,
                sla_due_at=now + timedelta(days=1),
            )
        )
    return setup, claims


def counted(kind: str) -> float:
    return REGISTRY.get_sample_value("risk_signals_total", {"kind": kind}) or 0.0


async def send(producer: AIOKafkaProducer, data, sent_at: dict[str, float] | None = None) -> None:
    event = data.to_event("/bench")
    if sent_at is not None:
        sent_at[data.claim_id] = time.monotonic()
    await producer.send(data.topic, event.to_bytes(), key=data.key().encode(), headers=event.kafka_headers())


async def verdicts(bootstrap: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(RISK_EVENTS, p) for p in range(6)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        while not stop.is_set():
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                for m in messages:
                    event = CloudEvent.from_bytes(m.value)
                    if event.type == "jht.risk.ClaimScreened.v1":
                        seen.setdefault(event.data["claim_id"], time.monotonic())
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace, kafka: str, mongo: str) -> None:
    app_id = f"risk-bench-{uuid.uuid4().hex[:6]}"
    await create_topics(kafka, [*TOPICS, *risk_stream_topics(app_id)])
    settings = RiskSettings(
        kafka_bootstrap_servers=kafka,
        mongodb_uri=mongo,
        db_name=f"bench_{app_id}".replace("-", "_"),
        app_id=app_id,
        environment="local",
        consumer_group_prefix=app_id,
        account_members_threshold=args.per_account,
    )
    setup, claims = events_for(args.members, args.per_account, args.refusals)
    worker = create_worker(settings)
    seen: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    stop = asyncio.Event()
    async with worker.router.lifespan_context(worker):
        tap = asyncio.create_task(verdicts(kafka, seen, stop))
        await asyncio.sleep(5)  # the faust app's partitions assigned
        producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
        await producer.start()
        base = counted("account_claim")
        started = time.monotonic()
        for data in setup:
            await send(producer, data)
        await producer.flush()
        for data in claims:
            await send(producer, data, sent_at)
            if args.rate:
                await asyncio.sleep(1 / args.rate)
        await producer.flush()
        published = time.monotonic()
        while counted("account_claim") - base < len(claims) and time.monotonic() - started < args.timeout:
            await asyncio.sleep(0.1)
        finished = time.monotonic()
        while len(seen) < len(claims) and time.monotonic() - finished < 30:
            await asyncio.sleep(0.2)
        stop.set()
        await producer.stop()
        with contextlib.suppress(Exception):
            await tap
    done = counted("account_claim") - base
    total = len(setup) + len(claims)
    latencies = sorted(seen[c] - sent_at[c] for c in seen if c in sent_at)
    flags = REGISTRY.get_sample_value("risk_flags_total", {"rule": "account_many_members"}) or 0
    print(
        f"source events: {total} ({len(setup)} profile/face, {len(claims)} claims); claims through both hops: "
        f"{done:.0f}"
    )
    print(
        f"publishing took {published - started:.1f} s; everything processed after {finished - started:.1f} s: "
        f"{total / (finished - started):.0f} source events/s through the risk service"
    )
    print(f"account_many_members flags: {flags:.0f} (expected {len(claims) // args.per_account} or more)")
    if latencies:
        pct = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        print(
            f"claim published -> ClaimScreened ({len(latencies)} claims): p50 {pct[49] * 1000:.0f} ms, "
            f"p99 {pct[98] * 1000:.0f} ms: what a claim waiting for its verdict adds to submit-to-PAID"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--per-account", type=int, default=3, help="members sharing one bank account")
    parser.add_argument("--refusals", type=int, default=1, help="FaceMatchRefused per member")
    parser.add_argument("--rate", type=float, default=0, help="claims/s (0: as fast as possible)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--kafka")
    parser.add_argument("--mongo")
    args = parser.parse_args()
    if args.kafka and args.mongo:
        asyncio.run(run(args, args.kafka, args.mongo))
        return
    from jmo_local.stack import LocalInfra

    with tempfile.TemporaryDirectory() as tmp, LocalInfra(Path(tmp)) as infra:
        asyncio.run(run(args, infra.kafka_bootstrap, infra.mongo_uri))


if __name__ == "__main__":
    main()
