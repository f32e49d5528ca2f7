"""notify's worker and API in this process, on the test broker, a fresh database and a real SMTP server."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from jmo_notify.bootstrap import CONSUMED_TOPICS
from jmo_notify.entrypoints.api import create_api
from jmo_notify.entrypoints.worker import create_worker
from jmo_notify.settings import NotifySettings
from jmo_shared.events import (
    AccountRegistered,
    BankAccount,
    ClaimApproved,
    ClaimSubmitted,
    CloudEvent,
    EventData,
    PayoutSettled,
    ProfileUpdated,
)
from jmo_shared.testing import start_groups_at_end


def _digits(n: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


@dataclass
class Member:
    member_id: str = field(default_factory=lambda: f"m-{uuid.uuid4().hex[:12]}")
    nik: str = field(default_factory=lambda: "3174" + _digits(12))
    email: str = field(default_factory=lambda: f"{uuid.uuid4().hex[:10]}@example.id")
    phone: str = field(default_factory=lambda: "+62812" + _digits(8))
    kpj: str = field(default_factory=lambda: _digits(11))
    account_number: str = field(default_factory=lambda: _digits(10))

    def headers(self, issuer) -> dict[str, str]:
        return issuer.headers(self.member_id, self.nik, roles=["member"])

    def registered(self, at: datetime) -> AccountRegistered:
        return AccountRegistered(
            member_id=self.member_id,
            nik=self.nik,
            kpj_numbers=[self.kpj],
            full_name="RINA",
            email=self.email,
            phone=self.phone,
            registered_at=at,
        )

    def data_updated(self, at: datetime) -> ProfileUpdated:
        return ProfileUpdated(
            member_id=self.member_id,
            nik=self.nik,
            update_id=uuid.uuid4().hex,
            changed_fields=["contact"],
            data_update_completed=True,
            full_name="RINA",
            email=self.email,
            phone=self.phone,
            confirmed_at=at,
        )

    def claim_submitted(self, claim_id: str, at: datetime) -> ClaimSubmitted:
        return ClaimSubmitted(
            claim_id=claim_id,
            member_id=self.member_id,
            nik=self.nik,
            kpj=self.kpj,
            reason="resignation",
            document_ids=["d1"],
            verification_id="v1",
            submitted_at=at,
            sla_due_at=at + timedelta(days=5),
        )

    def claim_approved(self, claim_id: str, gross: int, at: datetime) -> ClaimApproved:
        return ClaimApproved(
            claim_id=claim_id,
            member_id=self.member_id,
            nik=self.nik,
            kpj=self.kpj,
            reason="resignation",
            gross_idr=gross,
            beneficiary_name="RINA",
            bank_account=BankAccount(bank_code="014", account_number=self.account_number, account_name="RINA"),
            entitlement_date=at.date(),
            approved_at=at,
        )

    def payout_settled(self, claim_id: str, gross: int, tax: int, at: datetime) -> PayoutSettled:
        return PayoutSettled(
            payout_id=f"po-{claim_id}",
            claim_id=claim_id,
            member_id=self.member_id,
            gross_idr=gross,
            tax_idr=tax,
            net_idr=gross - tax,
            bank_code="014",
            bank_reference="REF1",
            settled_at=at,
        )


def ops_headers(issuer, operator_id: str = "ops-1") -> dict[str, str]:
    return issuer.headers(operator_id, None, roles=["ops"])


def settings_for(infra, issuer, db: str, smtp_port: int, **overrides: Any) -> NotifySettings:
    defaults: dict[str, Any] = dict(
        retry_base_seconds=0.2,
        retry_max_seconds=0.5,
        max_attempts=5,
        delivery_poll_seconds=0.1,
        smtp_timeout_seconds=2.0,
    )
    return NotifySettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=issuer.jwks(),
        staff_jwks_json=issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
        smtp_port=smtp_port,
        **{**defaults, **overrides},
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def notify(settings: NotifySettings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The worker (its consumer group starting at the topics' current end) and the API."""
    group = f"{settings.consumer_group_prefix}.{settings.service_name}.events"
    await start_groups_at_end(settings.kafka_bootstrap_servers, {group: CONSUMED_TOPICS})
    worker, api_app = create_worker(settings), create_api(settings)
    async with running(worker), running(api_app) as api:
        yield api, worker


class Publisher:
    """Publishes events as their services would; `again` sends one a second time, same id (a redelivery)."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, data: EventData) -> CloudEvent:
        event = data.to_event("/test/upstream")
        await self.again(data, event)
        return event

    async def send_together(self, *datas: EventData) -> list[CloudEvent]:
        """Sent without waiting in between: one record batch, which a consumer usually applies in one go."""
        events = [data.to_event("/test/upstream") for data in datas]
        sent = [
            await self._producer.send(
                data.topic, value=event.to_bytes(), key=data.key().encode(), headers=event.kafka_headers()
            )
            for data, event in zip(datas, events)
        ]
        for future in sent:
            await future
        return events

    async def again(self, data: EventData, event: CloudEvent) -> None:
        await self._producer.send_and_wait(
            data.topic, value=event.to_bytes(), key=data.key().encode(), headers=event.kafka_headers()
        )


def now() -> datetime:
    return datetime.now(UTC)
