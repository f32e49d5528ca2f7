"""The helpdesk worker and API running in this process on the test broker and a fresh database."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from jmo_helpdesk.entrypoints.api import create_api
from jmo_helpdesk.entrypoints.worker import create_worker
from jmo_helpdesk.settings import HelpdeskSettings
from jmo_shared.clock import Clock
from jmo_shared.events import CloudEvent
from jmo_shared.topics import HELPDESK_EVENTS, TOPICS


@dataclass
class Member:
    member_id: str = field(default_factory=lambda: f"m-{uuid.uuid4().hex[:12]}")
    nik: str = field(default_factory=lambda: "3174" + "".join(random.choice("0123456789") for _ in range(12)))

    def headers(self, issuer) -> dict[str, str]:
        return issuer.headers(self.member_id, self.nik, roles=["member"])


def officer_headers(issuer, officer_id: str = "officer-7") -> dict[str, str]:
    return issuer.headers(officer_id, None, roles=["officer"])


def settings_for(infra, issuer, db: str, **overrides) -> HelpdeskSettings:
    return HelpdeskSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=issuer.jwks(),
        staff_jwks_json=issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
        **overrides,
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def helpdesk(
    settings: HelpdeskSettings, api_clock: Clock | None = None, worker_clock: Clock | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """Worker first (it seeds the places), then the API; yields the API client and app."""
    worker, api_app = create_worker(settings, worker_clock), create_api(settings, api_clock)
    async with running(worker), running(api_app) as api:
        yield api, worker


class HelpdeskTap:
    """What the helpdesk publishes from now on (ComplaintFiled)."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.events: list[CloudEvent] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> HelpdeskTap:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, isolation_level="read_committed"
        )
        await consumer.start()
        self._consumer = consumer
        count = next(t.partitions for t in TOPICS if t.name == HELPDESK_EVENTS)
        partitions = [TopicPartition(HELPDESK_EVENTS, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                self.events.extend(CloudEvent.from_bytes(m.value) for m in messages)

    async def __aexit__(self, *exc) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    def of_member(self, member_id: str) -> list[CloudEvent]:
        return [e for e in self.events if (e.data or {}).get("member_id") == member_id]
