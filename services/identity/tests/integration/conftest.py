"""Identity on the real broker and database: its worker and API run in this process.

One worker and one API (one database, one consumer group) serve each test
module, so the consumer group catches up with the shared feed topics once.
Every test makes its own people (random NIK/KPJ) and publishes their feed events.
"""

from __future__ import annotations

import asyncio
import base64
import io
import random
import string
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from jmo_identity.entrypoints.api import create_api
from jmo_identity.entrypoints.worker import create_worker
from jmo_identity.face.sample_photos import face_photos
from jmo_identity.settings import IdentitySettings
from jmo_shared.events import Address, CloudEvent, MemberRegistered, PersonRecorded
from jmo_shared.testing import eventually, publish
from jmo_shared.topics import TOPICS

REGION = "317101"  # Jakarta Selatan, a region code python-stdnum knows
PASSWORD = "kopi-tubruk Senin pagi"


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
            yield client


def _syllables(n: int) -> str:
    return "".join(random.choice(["ba", "di", "su", "ka", "ti", "ra", "no", "wi", "ya", "ma"]) for _ in range(n))


@dataclass
class Person:
    nik: str
    kpjs: list[str]
    full_name: str
    birth_date: date
    sex: str
    email: str = field(default_factory=lambda: f"m{uuid.uuid4().hex[:12]}@example.co.id")
    phone: str = field(default_factory=lambda: "08" + "".join(random.choices(string.digits, k=10)))
    password: str = PASSWORD

    def registration(self, **overrides: object) -> dict:
        body = {
            "nik": self.nik,
            "kpj": self.kpjs[0],
            "full_name": self.full_name,
            "birth_date": self.birth_date.isoformat(),
            "email": self.email,
            "phone": self.phone,
            "password": self.password,
        }
        body.update(overrides)
        return body

    def card_events(self) -> list[MemberRegistered]:
        return [
            MemberRegistered(
                nik=self.nik,
                kpj=kpj,
                full_name=self.full_name.upper(),
                birth_date=self.birth_date,
                employer_id=f"EMP{i}",
                employer_name=f"PT Uji {i}",
                registered_on=date(2015 + i, 1, 1),
            )
            for i, kpj in enumerate(self.kpjs)
        ]

    def person_event(self, photo: bytes = b"") -> PersonRecorded:
        return PersonRecorded(
            nik=self.nik,
            kk_number="3171" + "".join(random.choices(string.digits, k=12)),
            full_name=self.full_name,
            birth_place="Jakarta",
            birth_date=self.birth_date,
            sex=self.sex,
            address=Address(street="Jl. Uji 1", province="DKI Jakarta"),
            photo_jpeg_b64=base64.b64encode(photo).decode(),
        )


def new_person(sex: str | None = None, cards: int = 2) -> Person:
    sex = sex or random.choice("MF")
    born = date(random.randint(1965, 2000), random.randint(1, 12), random.randint(1, 28))
    day = born.day + (40 if sex == "F" else 0)
    nik = f"{REGION}{day:02d}{born.month:02d}{born.year % 100:02d}{random.randint(1, 9999):04d}"
    kpjs = ["".join(random.choices(string.digits, k=11)) for _ in range(cards)]
    return Person(
        nik=nik, kpjs=kpjs, full_name=f"{_syllables(2).title()} {_syllables(3).title()}", birth_date=born, sex=sex
    )


@pytest.fixture(scope="module")
def settings_overrides() -> dict:
    """Test modules override this fixture to change identity's settings."""
    return {}


@pytest.fixture(scope="module")
def identity_settings(infra, settings_overrides: dict) -> IdentitySettings:
    db = f"t_identity_{uuid.uuid4().hex[:10]}"
    values = dict(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        db_name=db,
        consumer_group_prefix=f"test-{db}",
        jwks_json=None,
        signing_key_pem=None,
        login_failure_delay_step_seconds=0.05,
        # Every request here comes from 127.0.0.1, and register_when_known asks until the registry
        # projection arrived: each early ask is a refused registration (limits: their own module).
        client_registration_max_refusals=100_000,
        registration_nik_max_refusals=100_000,
    )
    values.update(settings_overrides)
    return IdentitySettings(**values)


@pytest.fixture(scope="module")
async def worker(identity_settings: IdentitySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_worker(identity_settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def api_app(identity_settings: IdentitySettings, worker: httpx.AsyncClient) -> AsyncIterator[FastAPI]:
    app = create_api(identity_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(api_app) as client:
        yield client


def client_of(app: FastAPI, peer: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.AsyncClient:
    """An HTTP client of the running app whose requests arrive from `peer` (the ASGI client address)."""
    transport = httpx.ASGITransport(app=app, client=peer)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


@pytest.fixture
def api_from(api_app: FastAPI) -> Callable[[tuple[str, int]], httpx.AsyncClient]:
    """`async with api_from(("203.0.113.9", 40000)) as client:` the API as seen from another peer."""
    return lambda peer: client_of(api_app, peer)


@pytest.fixture
def feed(infra) -> Callable:
    async def send(*events) -> None:
        await publish(infra.kafka_bootstrap, list(events))

    return send


@pytest.fixture
def register_when_known(api: httpx.AsyncClient) -> Callable:
    """POST /v1/accounts once the worker has projected the person (any answer but not_in_registry)."""

    async def register(
        body: dict, timeout: float = 90, wait_for: tuple[str, ...] = ("not_in_registry",)
    ) -> httpx.Response:
        async def attempt() -> httpx.Response | None:
            resp = await api.post("/v1/accounts", json=body)
            return None if resp.status_code == 422 and resp.json()["code"] in wait_for else resp

        return await eventually(attempt, timeout=timeout, interval=0.5, message="registry projection")

    return register


class Tap:
    """Reads a topic from the moment it is opened, looking for the events a test expects."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self._topic = topic
        self.seen: list[CloudEvent] = []

    async def start(self) -> None:
        await self._consumer.start()
        count = next(t.partitions for t in TOPICS if t.name == self._topic)
        parts = [TopicPartition(self._topic, p) for p in range(count)]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for tp in parts:  # pin the start offsets now, before the test acts
            await self._consumer.position(tp)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def _poll(self, seconds: float) -> None:
        batch = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        for msgs in batch.values():
            self.seen += [CloudEvent.from_bytes(m.value) for m in msgs]

    async def find(self, match: Callable[[CloudEvent], bool], timeout: float = 30) -> CloudEvent:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            hits = [e for e in self.seen if match(e)]
            if hits:
                return hits[0]
            if loop.time() > deadline:
                raise AssertionError(f"no matching event on {self._topic} within {timeout}s")
            await self._poll(0.5)

    async def absent(self, match: Callable[[CloudEvent], bool], seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await self._poll(0.5)
        assert not [e for e in self.seen if match(e)]


@pytest.fixture
async def tap(infra) -> AsyncIterator[Callable]:
    taps: list[Tap] = []

    async def open_tap(topic: str) -> Tap:
        t = Tap(infra.kafka_bootstrap, topic)
        taps.append(t)
        await t.start()
        return t

    yield open_tap
    for t in taps:
        await t.stop()


@pytest.fixture(scope="session")
def photos() -> dict[str, Path]:
    return face_photos()


def ktp_photo(path: Path, width: int = 420) -> bytes:
    """A KTP-sized JPEG of the photo (registry photos are small; Kafka messages stay small too)."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def people() -> Callable[..., Person]:
    return new_person


@pytest.fixture
def ktp() -> Callable[..., bytes]:
    return ktp_photo


class Outbox:
    """The messages identity's local notification adapter stored (collection `notifications`):
    where a real deployment sends an SMS or an e-mail, tests read the code from here."""

    def __init__(self, settings: IdentitySettings) -> None:
        self._client = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
        self._db = self._client[settings.db_name]

    async def messages(self, destination: str, purpose: str | None = None) -> list[dict]:
        query: dict = {"destination": destination}
        if purpose:
            query["purpose"] = purpose
        return await self._db["notifications"].find(query).sort("created_at", -1).to_list()

    async def code(self, destination: str, purpose: str | None = None) -> str:
        """The newest code sent to the destination."""
        found = await self.messages(destination, purpose)
        assert found, f"no message was sent to {destination}"
        return found[0]["code"]

    @property
    def db(self):
        return self._db

    async def close(self) -> None:
        await self._client.close()


@pytest.fixture
async def outbox(identity_settings: IdentitySettings) -> AsyncIterator[Outbox]:
    box = Outbox(identity_settings)
    yield box
    await box.close()


@pytest.fixture
def enrol(api, feed, people, register_when_known) -> Callable:
    """A registered member (optionally with a KTP photo), logged in: person.member_id, .tokens, .auth."""

    async def make(photo: bytes = b"") -> Person:
        person = people()
        await feed(*person.card_events(), person.person_event(photo=photo))
        resp = await register_when_known(person.registration())
        assert resp.status_code == 201, resp.text
        person.member_id = resp.json()["member_id"]  # type: ignore[attr-defined]
        login = await api.post("/v1/auth/login", json={"email": person.email, "password": person.password})
        assert login.status_code == 200, login.text
        person.tokens = login.json()  # type: ignore[attr-defined]
        person.auth = {"Authorization": f"Bearer {person.tokens['access_token']}"}  # type: ignore[attr-defined]
        return person

    return make
