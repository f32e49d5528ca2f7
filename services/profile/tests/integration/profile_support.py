"""Helpers of the profile integration tests: a real HTTP bank inquiry, sample members, onboarding."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from stdnum.id import nik as nik_check

from jmo_profile.settings import ProfileSettings
from jmo_shared.events import AccountRegistered, Address, FaceVerified, MemberRegistered, PersonRecorded
from jmo_shared.testing import TokenIssuer, eventually, publish


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The root conftest's `run_app`, usable from module-scoped fixtures (it is function-scoped)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


class InquiryBody(BaseModel):
    bank_code: str
    account_number: str


@dataclass
class FakeBank:
    """A partner bank's account inquiry, served over real HTTP on a free port."""

    url: str = ""
    accounts: dict[tuple[str, str], str] = field(default_factory=dict)
    inquiries: int = 0

    def open(self, bank_code: str, account_number: str, holder_name: str) -> None:
        self.accounts[(bank_code, account_number)] = holder_name

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/sim/account-inquiry")
        async def inquiry(body: InquiryBody) -> JSONResponse:
            self.inquiries += 1
            holder = self.accounts.get((body.bank_code, body.account_number))
            if holder is None:
                return JSONResponse(
                    {"code": "account_not_found", "status": 404, "detail": "no such account"},
                    status_code=404,
                    media_type="application/problem+json",
                )
            return JSONResponse({**body.model_dump(), "holder_name": holder})

        return app


def profile_settings(infra, token_issuer: TokenIssuer, db_name: str, bank_url: str) -> ProfileSettings:
    return ProfileSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=token_issuer.jwks(),
        staff_jwks_json=token_issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db_name}",
        db_name=db_name,
        bank_inquiry_url=bank_url,
        bank_inquiry_timeout_seconds=2,
    )


@dataclass
class Profile:
    api: httpx.AsyncClient
    settings: ProfileSettings
    bank: FakeBank
    issuer: TokenIssuer

    def auth(self, member: SampleMember) -> dict[str, str]:
        return self.issuer.headers(member.member_id, member.nik)


FIRST = ["Budi", "Siti", "Agus", "Dewi", "Rudi", "Putri", "Joko", "Rina", "Hendra", "Ayu", "Fajar", "Yusuf"]
LAST = ["Santoso", "Wijaya", "Saputra", "Lestari", "Pratama", "Hidayat", "Kusuma", "Siregar", "Nasution"]


@dataclass
class SampleMember:
    """A member with random identifiers: topics are shared with every other test."""

    nik: str
    member_id: str
    full_name: str
    birth_date: date
    kpj: str
    kk_number: str
    phone: str
    email: str

    @classmethod
    def random(cls) -> SampleMember:
        rng = random.Random()
        birth = date(rng.randint(1965, 2000), rng.randint(1, 12), rng.randint(1, 28))
        day = birth.day + (40 if rng.random() < 0.5 else 0)
        nik = nik_check.validate(f"317101{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}")
        name = f"Muhammad {rng.choice(FIRST)} {rng.choice(LAST)}"
        return cls(
            nik=nik,
            member_id=str(uuid.uuid4()),
            full_name=name,
            birth_date=birth,
            kpj=str(rng.randint(10**10, 10**11 - 1)),
            kk_number=f"3171{rng.randint(10**11, 10**12 - 1)}",
            phone=f"+6281{rng.randint(10**8, 10**9 - 1)}",
            email=f"m{uuid.uuid4().hex[:10]}@example.id",
        )

    def registered(
        self,
        kpj: str | None = None,
        name: str | None = None,
        employer: str = "PT Maju Bersama",
        registered_on: date = date(2015, 1, 5),
    ) -> MemberRegistered:
        return MemberRegistered(
            nik=self.nik,
            kpj=kpj or self.kpj,
            full_name=name or self.full_name,
            birth_date=self.birth_date,
            employer_id="EMP-0001",
            employer_name=employer,
            registered_on=registered_on,
        )

    def person(self, birth_place: str = "JAKARTA") -> PersonRecorded:
        return PersonRecorded(
            nik=self.nik,
            kk_number=self.kk_number,
            full_name=self.full_name.upper(),
            birth_place=birth_place,
            birth_date=self.birth_date,
            sex="M",
            address=Address(
                street="Jl. Merdeka No. 1",
                rt="001",
                rw="002",
                village="Menteng",
                district="Menteng",
                regency="Jakarta Pusat",
                province="DKI Jakarta",
                province_code="31",
                regency_code="3171",
                postal_code="10310",
            ),
        )

    def account(self) -> AccountRegistered:
        return AccountRegistered(
            member_id=self.member_id,
            nik=self.nik,
            kpj_numbers=[self.kpj],
            full_name=self.full_name,
            email=self.email,
            phone=self.phone,
            registered_at=datetime.now(UTC),
        )

    def face(self, purpose: str = "profile_update", minutes: float = 10, member_id: str | None = None) -> FaceVerified:
        now = datetime.now(UTC)
        return FaceVerified(
            verification_id=str(uuid.uuid4()),
            member_id=member_id or self.member_id,
            nik=self.nik,
            purpose=purpose,
            score=0.72,
            threshold=0.45,
            model_version="sface-2021dec",
            verified_at=now - timedelta(seconds=5),
            expires_at=now + timedelta(minutes=minutes),
        )


async def onboard(profile: Profile, member: SampleMember, *extra) -> None:
    """Publish the member's feeds, account and `extra` events, and wait until the profile has applied them all."""
    ids = await publish(
        profile.settings.kafka_bootstrap_servers, [member.registered(), member.person(), member.account(), *extra]
    )
    # The projection's own record of applied events: the API shows no face verification to wait on.
    settings = profile.settings
    group = f"{settings.consumer_group_prefix}.{settings.service_name}.projection"
    client = AsyncMongoClient(settings.mongodb_uri)
    try:

        async def applied():
            found = await client[settings.db_name]["processed_events"].count_documents(
                {"_id": {"$in": [f"{group}:{i}" for i in ids]}}
            )
            return found == len(ids)

        await eventually(applied, timeout=60, message="the member's events applied")
    finally:
        await client.close()

    async def ready():
        resp = await profile.api.get("/v1/profile", headers=profile.auth(member))
        body = resp.json() if resp.status_code == 200 else {}
        return body if body.get("cards") and body.get("population") and body["contact"].get("email") else None

    await eventually(ready, timeout=60, message="the member's profile projected")
