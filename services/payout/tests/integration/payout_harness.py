"""Helpers for the payout integration tests: real HTTP servers on free ports and a Kafka tap."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from jmo_shared.events import BankAccount, ClaimApproved
from jmo_shared.events.envelope import CloudEvent
from jmo_shared.topics import PARTNER_BANKS, TOPICS

# The tests' bank secrets, set explicitly (payout and the simulator have no default).
DEV_SECRETS = {code: f"dev-secret-{code}" for code in PARTNER_BANKS}


@dataclass
class Member:
    member_id: str
    nik: str

    @classmethod
    def new(cls) -> Member:
        return cls(str(uuid.uuid4()), "".join(random.choices("0123456789", k=16)))


def account_number() -> str:
    return "".join(random.choices("0123456789", k=10))


async def open_account(bank: httpx.AsyncClient, bank_code: str) -> str:
    """A new account at the bank simulator, held by the members these tests use; its number."""
    number = account_number()
    resp = await bank.post(
        "/sim/accounts", json={"bank_code": bank_code, "account_number": number, "holder_name": "BUDI SANTOSO"}
    )
    assert resp.status_code == 201, resp.text
    return number


def approved(member: Member, bank_code: str, account: str, gross: int, npwp: str | None = None) -> ClaimApproved:
    return ClaimApproved(
        claim_id=f"CLM-{uuid.uuid4().hex[:12]}",
        member_id=member.member_id,
        nik=member.nik,
        kpj="".join(random.choices("0123456789", k=11)),
        reason="resignation",
        gross_idr=gross,
        beneficiary_name="BUDI SANTOSO",
        bank_account=BankAccount(
            bank_code=bank_code, account_number=account, account_name="BUDI SANTOSO", inquiry_name="BUDI SANTOSO"
        ),
        npwp=npwp,
        entitlement_date=date.today(),
        approved_at=datetime.now(UTC),
    )


@asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan in this process and a client bound to it (as the root conftest's run_app)."""
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c


@dataclass
class Seen:
    topic: str
    event: CloudEvent


@dataclass
class EventTap:
    """Every event that reaches the given topics after the tap started (no consumer group)."""

    bootstrap: str
    topics: list[str]
    seen: list[Seen] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, isolation_level="read_committed"
        )
        await consumer.start()
        # Topics are created up front with these partition counts (jmo_shared.topics).
        counts = {spec.name: spec.partitions for spec in TOPICS}
        partitions = [TopicPartition(t, p) for t in self.topics for p in range(counts[t])]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        self._consumer = consumer
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for tp, messages in batch.items():
                for message in messages:
                    self.seen.append(Seen(tp.topic, CloudEvent.from_bytes(message.value)))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    def of(self, event_type: str, **match: object) -> list[Seen]:
        return [
            s
            for s in self.seen
            if s.event.type == event_type and all(s.event.data.get(k) == v for k, v in match.items())
        ]
