"""Building blocks of the claims integration tests: members, their feed events, an event tap."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from jmo_shared.events import (
    AccountRegistered,
    BalanceChanged,
    CloudEvent,
    EmploymentEnded,
    FaceVerified,
    MemberRegistered,
    PersonRecorded,
    ProfileUpdated,
)
from jmo_shared.events.profile import BankAccount
from jmo_shared.testing import eventually, publish, start_groups_at_end
from jmo_shared.topics import TOPICS

# A real 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def digits(n: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


@dataclass
class Claimant:
    """One member with random identifiers, so tests never see each other's data on shared topics."""

    member_id: str = field(default_factory=lambda: f"m-{uuid.uuid4().hex[:12]}")
    nik: str = field(default_factory=lambda: "3174" + digits(12))
    kpj: str = field(default_factory=lambda: digits(11))
    full_name: str = "SITI AMINAH"
    verification_id: str = field(default_factory=lambda: f"v-{uuid.uuid4().hex[:12]}")

    def headers(self, issuer) -> dict[str, str]:
        return issuer.headers(self.member_id, self.nik)


def today() -> date:
    return datetime.now(UTC).date()


def registered(m: Claimant, years_ago: int = 5) -> MemberRegistered:
    return MemberRegistered(
        nik=m.nik,
        kpj=m.kpj,
        full_name=m.full_name,
        birth_date=date(1990, 4, 2),
        employer_id="E-1",
        employer_name="PT Maju Jaya",
        registered_on=today() - timedelta(days=365 * years_ago),
    )


def resigned(m: Claimant, letter_days_ago: int = 60, with_nik: bool = True) -> EmploymentEnded:
    return EmploymentEnded(
        kpj=m.kpj,
        ended_on=today() - timedelta(days=letter_days_ago - 15),
        cause="resignation",
        letter_date=today() - timedelta(days=letter_days_ago),
        nik=m.nik if with_nik else None,
    )


def person(m: Claimant) -> PersonRecorded:
    return PersonRecorded(
        nik=m.nik,
        kk_number=digits(16),
        full_name=m.full_name,
        birth_place="JAKARTA",
        birth_date=date(1990, 4, 2),
        sex="F",
    )


def account(m: Claimant) -> AccountRegistered:
    return AccountRegistered(
        member_id=m.member_id,
        nik=m.nik,
        kpj_numbers=[m.kpj],
        full_name=m.full_name,
        email=f"{m.member_id}@example.com",
        phone="+6281234567890",
        registered_at=datetime.now(UTC),
    )


def face(
    m: Claimant,
    purpose: str = "claim",
    verification_id: str | None = None,
    expires_in: timedelta = timedelta(minutes=10),
) -> FaceVerified:
    now = datetime.now(UTC)
    return FaceVerified(
        verification_id=verification_id or m.verification_id,
        member_id=m.member_id,
        nik=m.nik,
        purpose=purpose,
        score=0.71,
        threshold=0.5,
        model_version="test",
        verified_at=now,
        expires_at=now + expires_in,
    )


def profile(
    m: Claimant,
    *,
    completed: bool = True,
    npwp: str | None = None,
    inquiry_name: str | None = "SITI AMINAH",
    changed_days_ago: float = 30,
    face_verification_id: str | None = None,
    with_bank: bool = True,
    confirmed_at: datetime | None = None,
) -> ProfileUpdated:
    bank = (
        BankAccount(
            bank_code="014",
            account_number="1234567890",
            account_name=m.full_name,
            inquiry_name=inquiry_name,
            changed_at=datetime.now(UTC) - timedelta(days=changed_days_ago),
            face_verification_id=face_verification_id,
        )
        if with_bank
        else None
    )
    return ProfileUpdated(
        member_id=m.member_id,
        nik=m.nik,
        update_id=f"u-{uuid.uuid4().hex[:8]}",
        changed_fields=["bank_account"],
        data_update_completed=completed,
        full_name=m.full_name,
        npwp=npwp,
        bank_account=bank,
        confirmed_at=confirmed_at or datetime.now(UTC),
    )


def balance(m: Claimant, amount: int = 8_000_000, version: int = 1) -> BalanceChanged:
    return BalanceChanged(
        nik=m.nik,
        kpj=m.kpj,
        contributions_idr=amount,
        returns_idr=0,
        balance_idr=amount,
        reserved_idr=0,
        available_idr=amount,
        version=version,
        as_of=datetime.now(UTC),
    )


def ready_feed(m: Claimant, amount: int = 8_000_000, **profile_kw) -> list:
    """Everything a resigned member needs to claim, as the other systems would publish it."""
    return [registered(m), resigned(m), person(m), account(m), face(m), profile(m, **profile_kw), balance(m, amount)]


async def skip_history(bootstrap: str, settings) -> None:
    """Start the claims worker's consumer groups at the end of their topics.

    A shared development broker holds thousands of other tests' events; a new group
    reading all of them from the start takes minutes. Each test publishes its own
    events after this, with random identifiers, so nothing it needs is skipped.
    """
    from jmo_claims.bootstrap import CONSUMED_TOPICS

    prefix = f"{settings.consumer_group_prefix}.{settings.service_name}"
    await start_groups_at_end(bootstrap, {f"{prefix}.{name}": topics for name, topics in CONSUMED_TOPICS.items()})


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The conftest's run_app, usable from a module-scoped fixture (run_app is per test)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


class EventTap:
    """Everything published to a topic from now on, to check what the service emitted."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self.events: list[CloudEvent] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> EventTap:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, isolation_level="read_committed"
        )
        await consumer.start()
        self._consumer = consumer
        # Topics are created up front with the partition counts of jmo_shared.topics.
        count = next(t.partitions for t in TOPICS if t.name == self._topic)
        partitions = [TopicPartition(self._topic, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve "end" now, not at the first fetch
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                self.events.extend(CloudEvent.from_bytes(m.value) for m in messages)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    def matching(self, name: str, predicate: Callable[[dict], bool] = lambda d: True) -> list[CloudEvent]:
        """Events of one type by its name (`ClaimSubmitted` matches jht.claims.ClaimSubmitted.v1)."""
        return [e for e in self.events if e.type.split(".")[-2] == name and predicate(e.data)]

    async def wait_for(
        self, name: str, predicate: Callable[[dict], bool] = lambda d: True, timeout: float = 60.0
    ) -> CloudEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.matching(name, predicate)
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {name} matching within {timeout}s; saw {[e.type for e in self.events]}")


DOCS = ("kpj_card", "ktp", "resignation_letter")


class Env:
    def __init__(self, api, worker_app, api_app, bootstrap: str, issuer, tap: EventTap) -> None:
        self.api = api
        self.worker_app = worker_app
        self.api_app = api_app
        self.bootstrap = bootstrap
        self.issuer = issuer
        self.tap = tap

    async def publish(self, events: list) -> None:
        await publish(self.bootstrap, events)

    async def eligibility(self, m: Claimant, **params) -> dict:
        resp = await self.api.get("/v1/claims/eligibility", params=params, headers=m.headers(self.issuer))
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def projected(self, m: Claimant, check, timeout: float = 90.0) -> dict:
        async def attempt():
            body = await self.eligibility(m)
            return body if check(body) else None

        return await eventually(attempt, timeout=timeout, message=f"projection of {m.nik}")

    async def upload(self, m: Claimant, kind: str, content: bytes = PNG, filename: str = "doc.png"):
        return await self.api.post(
            "/v1/claims/documents",
            headers=m.headers(self.issuer),
            files={"file": (filename, content, "application/octet-stream")},
            data={"kind": kind},
        )

    async def documents(self, m: Claimant, kinds=DOCS) -> list[str]:
        ids = []
        for kind in kinds:
            resp = await self.upload(m, kind)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["document_id"])
        return ids

    async def submit(self, m: Claimant, body: dict, key: str | None = None):
        headers = m.headers(self.issuer) | {"Idempotency-Key": key or uuid.uuid4().hex}
        return await self.api.post("/v1/claims", json=body, headers=headers)

    async def settled(self, m: Claimant, timeout: float = 90.0) -> None:
        """Wait until the worker projected the member's card, profile and face match."""
        db = self.api_app.state.claims.runtime.db

        async def attempt() -> bool:
            card = await db["cards"].find_one({"_id": m.kpj}) or {}
            member = await db["members"].find_one({"_id": m.nik}) or {}
            face_doc = await db["face_verifications"].find_one({"_id": m.verification_id})
            return bool(
                card.get("registered_on")
                and card.get("employment")
                and card.get("balance")
                and member.get("profile")
                and face_doc
            )

        await eventually(attempt, timeout=timeout, message=f"projection of {m.nik}")

    async def claim(self, m: Claimant, claim_id: str) -> dict:
        resp = await self.api.get(f"/v1/claims/{claim_id}", headers=m.headers(self.issuer))
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def claim_reaches(self, m: Claimant, claim_id: str, status: str, timeout: float = 60.0) -> dict:
        async def attempt():
            body = await self.claim(m, claim_id)
            return body if body["status"] == status else None

        return await eventually(attempt, timeout=timeout, message=f"claim {claim_id} {status}")


async def claimable(env: Env, amount: int = 8_000_000, **profile_kw) -> tuple[Claimant, dict]:
    """A resigned member whose projections are complete, with the three documents uploaded."""
    m = Claimant()
    await env.publish(ready_feed(m, amount, **profile_kw))
    await env.settled(m)
    body = {
        "reason": "resignation",
        "kpj": m.kpj,
        "document_ids": await env.documents(m),
        "verification_id": m.verification_id,
    }
    return m, body


@asynccontextmanager
async def claims_env(infra, issuer, name: str, clock=None, **settings_kw) -> AsyncIterator[Env]:
    """The claims worker and API in-process on a database of their own, groups started at the topics' end."""
    from jmo_claims.entrypoints.api import create_api
    from jmo_claims.entrypoints.worker import create_worker
    from jmo_claims.settings import ClaimsSettings
    from jmo_shared.topics import CLAIMS_EVENTS

    db = f"t_claims_{name}_{uuid.uuid4().hex[:8]}"
    settings = ClaimsSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=issuer.jwks(),
        staff_jwks_json=issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
        **settings_kw,
    )
    tap = EventTap(infra.kafka_bootstrap, CLAIMS_EVENTS)
    worker_app, api_app = create_worker(settings, clock), create_api(settings, clock)
    await skip_history(infra.kafka_bootstrap, settings)
    try:
        await tap.start()
        async with running(worker_app) as worker, running(api_app) as api:
            env = Env(api, worker_app, api_app, infra.kafka_bootstrap, issuer, tap)
            env.worker = worker  # type: ignore[attr-defined]
            yield env
    finally:
        await tap.stop()


async def reserved(env: Env, m: Claimant, claim_id: str, amount: int) -> None:
    """Balance held the claim's amount (what balance publishes after ClaimSubmitted)."""
    from jmo_shared.events import BalanceReserved

    await env.publish(
        [
            BalanceReserved(
                claim_id=claim_id,
                member_id=m.member_id,
                nik=m.nik,
                kpj=m.kpj,
                amount_idr=amount,
                balance_idr=amount,
                reserved_at=datetime.now(UTC),
            )
        ]
    )


async def submitted(env: Env, amount: int = 20_000_000, **profile_kw) -> tuple[Claimant, str]:
    m, body = await claimable(env, amount, **profile_kw)
    resp = await env.submit(m, body)
    assert resp.status_code == 202, resp.text
    return m, resp.json()["claim_id"]


async def in_review(env: Env, amount: int = 20_000_000, **profile_kw) -> tuple[Claimant, str]:
    """A claim above the app channel's cap, held by balance: waiting for an officer."""
    m, claim_id = await submitted(env, amount, **profile_kw)
    await reserved(env, m, claim_id, amount)
    await env.claim_reaches(m, claim_id, "NEEDS_REVIEW")
    return m, claim_id
