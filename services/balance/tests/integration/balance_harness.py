"""Helpers of the balance integration tests: the service in-process, feeds, and a Kafka tap."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from jmo_balance.bootstrap import CONSUMED_TOPICS
from jmo_balance.entrypoints.api import create_api
from jmo_balance.entrypoints.worker import create_worker
from jmo_balance.settings import BalanceSettings
from jmo_shared.events.base import REGISTRY, EventData
from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.upstream import ContributionPosted, MemberRegistered
from jmo_shared.testing import eventually, start_groups_at_end, wait_groups_caught_up
from jmo_shared.topics import BALANCE_EVENTS, TOPICS


def random_nik() -> str:
    # Province 31, a plausible birth date and a random sequence: unique enough per test run.
    day, month, year = random.randint(1, 28), random.randint(1, 12), random.randint(60, 99)
    return f"317401{day:02d}{month:02d}{year:02d}{random.randint(1, 9999):04d}"


def random_kpj() -> str:
    return f"{random.randint(10**10, 10**11 - 1)}"


def registered(
    nik: str, kpj: str, employer: str = "PT Maju", on: date = date(2015, 1, 5), name: str = "Budi Santoso"
) -> MemberRegistered:
    return MemberRegistered(
        nik=nik,
        kpj=kpj,
        full_name=name,
        birth_date=date(1990, 1, 12),
        employer_id=f"E-{kpj}",
        employer_name=employer,
        registered_on=on,
    )


def contribution(
    kpj: str, period: str, employer_idr: int, worker_idr: int, nik: str | None = None
) -> ContributionPosted:
    return ContributionPosted(
        kpj=kpj,
        period=period,
        wage_idr=2_000_000,
        employer_idr=employer_idr,
        worker_idr=worker_idr,
        posted_at=datetime.now(UTC),
        nik=nik,
    )


async def publish_raw(
    bootstrap: str, events: list[CloudEvent | EventData], times: int = 1, source: str = "/upstream/test"
) -> list[CloudEvent]:
    """Publish events; `times` > 1 delivers the very same event (same id) again, as a redelivery does."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    sent = []
    try:
        for item in events:
            data = item if isinstance(item, EventData) else None
            event = item.to_event(source) if data else item
            topic = data.topic if data else None
            key = data.key() if data else None
            for _ in range(times):
                await producer.send_and_wait(
                    topic, value=event.to_bytes(), key=key.encode(), headers=event.kafka_headers()
                )
            sent.append(event)
    finally:
        await producer.stop()
    return sent


async def publish_as_one_batch(bootstrap: str, events: list[CloudEvent], key: str) -> None:
    """Publish events under one key as one Kafka record batch: appended to the partition at once, so the
    worker fetches them together and applies them as one run (the same event twice is a redelivery).
    The batch must hold them all (aiokafka's default max_batch_size is 16 KB: ~20 events)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=200, max_batch_size=1024 * 1024
    )
    await producer.start()
    try:
        for event in events:
            await producer.send(
                REGISTRY[event.type].topic, value=event.to_bytes(), key=key.encode(), headers=event.kafka_headers()
            )
        await producer.flush()
    finally:
        await producer.stop()


@dataclass
class EventTap:
    """Every balance event published after the tap started (no consumer group)."""

    bootstrap: str
    topics: list[str] = field(default_factory=lambda: [BALANCE_EVENTS])
    seen: list[CloudEvent] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task | None = None

    async def start(self) -> EventTap:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, isolation_level="read_committed"
        )
        await consumer.start()
        # The topics exist with their declared partition counts (created up front, never auto-created).
        counts = {spec.name: spec.partitions for spec in TOPICS}
        partitions = [TopicPartition(t, p) for t in self.topics for p in range(counts[t])]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        self._consumer = consumer
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                self.seen.extend(CloudEvent.from_bytes(m.value) for m in messages)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    def of(self, short_type: str, **match: object) -> list[CloudEvent]:
        name = f"jht.balance.{short_type}.v1"
        return [e for e in self.seen if e.type == name and all(e.data.get(k) == v for k, v in match.items())]

    def distinct(self, short_type: str, **match: object) -> list[CloudEvent]:
        """The events seen, one per event id: the outbox relay publishes at least once, so a message
        may come twice after a relay retry, always with the same id (consumers drop the repeat)."""
        return list({e.id: e for e in self.of(short_type, **match)}.values())

    async def wait_for(self, short_type: str, timeout: float = 40, **match: object) -> CloudEvent:
        async def found() -> list[CloudEvent]:
            return self.of(short_type, **match)

        return (await eventually(found, timeout, message=f"{short_type} {match}"))[-1]


@dataclass
class Balance:
    """The service under test: API client, its database and a tap on balance.events."""

    api: httpx.AsyncClient
    db_name: str
    mongo: AsyncMongoClient
    tap: EventTap
    issuer: object
    # The API's BalanceService (its read cache, settings), for tests that look inside.
    service: object = None
    bootstrap: str = ""
    group_prefix: str = ""  # the worker's consumer groups: balance_groups(group_prefix)

    def headers(self, nik: str, member_id: str | None = None) -> dict[str, str]:
        return self.issuer.headers(member_id or f"m-{nik}", nik)  # type: ignore[attr-defined]

    async def balance(self, nik: str, **params: str) -> dict:
        resp = await self.api.get("/v1/balance", headers=self.headers(nik), params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def card_of(self, nik: str, kpj: str) -> dict | None:
        body = await self.balance(nik)
        return next((c for c in body["cards"] if c["kpj"] == kpj), None)

    async def wait_card(self, nik: str, kpj: str, timeout: float = 40, **expected: object) -> dict:
        async def check() -> dict | None:
            card = await self.card_of(nik, kpj)
            if card and all(card.get(k) == v for k, v in expected.items()):
                return card
            return None

        return await eventually(check, timeout, message=f"card {kpj} with {expected}")

    async def processed(self, event_ids: list[str], timeout: float = 40) -> None:
        """Wait until the worker has applied (or dropped as duplicates) these events, published before the
        call: each of its consumer groups has committed past them (a contribution leaves no processed id)."""
        groups = balance_groups(self.group_prefix)
        await wait_groups_caught_up(self.bootstrap, groups, timeout, message=f"events {event_ids} processed")


def balance_groups(group_prefix: str) -> dict[str, list[str]]:
    """The balance worker's consumer groups under this prefix (full group id -> its topics)."""
    return {f"{group_prefix}.balance.{name}": topics for name, topics in CONSUMED_TOPICS.items()}


async def skip_history(bootstrap: str, group_prefix: str) -> None:
    """Start the test's consumer groups at the end of the shared topics (see start_groups_at_end)."""
    await start_groups_at_end(bootstrap, balance_groups(group_prefix))


@asynccontextmanager
async def running_balance(infra, issuer, db_name: str, **overrides: object) -> AsyncIterator[Balance]:
    """Worker and API of the balance service in this process, on a database of their own."""
    settings = rates_settings(db_name, **{"crediting_interval_seconds": 3600, **overrides})
    await skip_history(infra.kafka_bootstrap, settings.consumer_group_prefix)
    tap = await EventTap(infra.kafka_bootstrap).start()
    mongo = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    worker, api = create_worker(settings), create_api(settings)
    try:
        async with worker.router.lifespan_context(worker), api.router.lifespan_context(api):
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                yield Balance(
                    client,
                    db_name,
                    mongo,
                    tap,
                    issuer,
                    service=api.state.balance,
                    bootstrap=infra.kafka_bootstrap,
                    group_prefix=settings.consumer_group_prefix,
                )
    finally:
        await tap.stop()
        await mongo.close()


def rates_settings(db_name: str, **overrides: object) -> BalanceSettings:
    """The settings every balance test runs with: 2024 6%, 2025 5%, other years 0% (so the
    expected figures do not move with the calendar)."""
    return BalanceSettings(
        db_name=db_name, return_rates_bp={2024: 600, 2025: 500}, default_return_rate_bp=0, **overrides
    )


def expires_soon(minutes: int = 5) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)
