"""Test helpers that are not fakes of anything a user has: a token issuer for service tests.

Service integration tests run without the identity service; they sign their own
tokens with a throw-away key and hand its JWKS to the service under test
(`static_jwks`). The end-to-end tests use identity's real tokens.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from .events import MemberRegistered


def bind_free_socket() -> socket.socket:
    """A listening socket on a free loopback port (bound before the server starts, so its URL is known)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@asynccontextmanager
async def serve_http(app, sock: socket.socket | None = None, lifespan: str = "on") -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a real loopback socket; yields its base URL.

    For what ASGITransport does not reproduce: transfer encodings, a peer calling back over HTTP.
    """
    import uvicorn

    sock = sock or bind_free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan=lifespan))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


class TokenIssuer:
    """Member tokens as identity signs them, and staff tokens as the staff identity provider does.

    Two throw-away keys: the member key (`jwks()`, for JWKS_JSON) and the staff key (`staff_jwks()`,
    for STAFF_JWKS_JSON). A token with a staff role is signed by the staff key for the staff issuer
    and audience, unless `signer="member"` asks for a member-signed one (which services must strip).
    """

    def __init__(
        self,
        issuer: str = "jmo-identity",
        audience: str = "jmo-mobile",
        staff_issuer: str = "jmo-staff",
        staff_audience: str = "jmo-backend",
    ) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self._staff_key = ec.generate_private_key(ec.SECP256R1())
        self.staff_kid = f"test-staff-{uuid.uuid4().hex[:8]}"
        self.issuer = issuer
        self.audience = audience
        self.staff_issuer = staff_issuer
        self.staff_audience = staff_audience

    @staticmethod
    def _jwks(key: ec.EllipticCurvePrivateKey, kid: str) -> str:
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
        return json.dumps({"keys": [jwk]})

    def jwks(self) -> str:
        return self._jwks(self._key, self.kid)

    def staff_jwks(self) -> str:
        return self._jwks(self._staff_key, self.staff_kid)

    def token(
        self,
        member_id: str,
        nik: str | None = None,
        roles: list[str] | None = None,
        ttl: timedelta = timedelta(minutes=10),
        signer: str | None = None,
        **claims: object,
    ) -> str:
        now = datetime.now(UTC)
        roles = roles or ["member"]
        staff = (signer or ("staff" if set(roles) & {"officer", "ops"} else "member")) == "staff"
        payload = {
            "iss": self.staff_issuer if staff else self.issuer,
            "aud": self.staff_audience if staff else self.audience,
            "sub": member_id,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "roles": roles,
            **claims,
        }
        if nik is not None:
            payload["nik"] = nik
        key, kid = (self._staff_key, self.staff_kid) if staff else (self._key, self.kid)
        return jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid})

    def headers(self, member_id: str, nik: str | None = None, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(member_id, nik, **kwargs)}"}

    def face_assertion(
        self,
        member_id: str,
        nik: str,
        purpose: str,
        verification_id: str | None = None,
        expires_in: timedelta = timedelta(minutes=10),
    ) -> str:
        """A face match signed as identity answers it (jmo_shared.face_assertion), with this issuer's key."""
        from .face_assertion import FaceAssertion, claims_of

        now = datetime.now(UTC)
        assertion = FaceAssertion(
            verification_id=verification_id or uuid.uuid4().hex,
            member_id=member_id,
            nik=nik,
            purpose=purpose,
            score=0.71,
            model_version="test",
            verified_at=now,
            expires_at=now + expires_in,
        )
        return jwt.encode(claims_of(assertion, self.issuer), self._key, algorithm="ES256", headers={"kid": self.kid})


def member_registered(nik: str, kpj: str) -> MemberRegistered:
    """A MemberRegistered of one card, as the core system announces a member (the shared tests' event)."""
    return MemberRegistered(
        nik=nik,
        kpj=kpj,
        full_name="BUDI SANTOSO",
        birth_date="1990-06-15",
        employer_id="E1",
        employer_name="PT Maju",
        registered_on="2020-01-01",
    )


async def publish(bootstrap: str, events: list, source: str = "/upstream/test", topic: str | None = None) -> list[str]:
    """Publish typed events as an upstream system (or a test) would; returns their ids."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    ids = []
    try:
        for data in events:
            event = data.to_event(source)
            ids.append(event.id)
            await producer.send_and_wait(
                topic or data.topic, value=event.to_bytes(), key=data.key().encode(), headers=event.kafka_headers()
            )
    finally:
        await producer.stop()
    return ids


@asynccontextmanager
async def _group_probe(bootstrap: str, group_id: str, topics: list[str]) -> AsyncIterator[tuple[Any, dict]]:
    """A consumer of `group_id` assigned every partition of `topics` (it reads and commits the group's
    offsets without joining the group), and those partitions' end offsets now."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from .topics import TOPICS

    partitions = {spec.name: spec.partitions for spec in TOPICS}
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await probe.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions[t])]
        probe.assign(tps)
        yield probe, await probe.end_offsets(tps)
    finally:
        await probe.stop()


async def start_groups_at_end(bootstrap: str, groups: dict[str, list[str]]) -> None:
    """Commit each consumer group (full group id -> its topics) at the current end of its topics.

    A new group on a broker that other tests (or a long-lived dev broker) filled would otherwise
    replay all of it before the events the caller publishes next.
    """
    from aiokafka.structs import OffsetAndMetadata

    for group_id, topics in groups.items():
        async with _group_probe(bootstrap, group_id, topics) as (probe, ends):
            await probe.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})


async def wait_groups_caught_up(
    bootstrap: str, groups: dict[str, list[str]], timeout: float = 40.0, message: str = "consumer groups caught up"
) -> None:
    """Wait until each consumer group (full group id -> its topics) has committed past the end its topics had
    when called: everything published before was applied, or dropped as a duplicate.

    A worker commits a batch's offsets after its transaction, so what it wrote is there by then. Processed
    ids cannot tell this for every event: a handler that deduplicates by itself writes none.
    """
    async with AsyncExitStack() as stack:
        probes = [
            await stack.enter_async_context(_group_probe(bootstrap, group_id, topics))
            for group_id, topics in groups.items()
        ]

        async def caught_up() -> bool:
            for probe, ends in probes:
                for tp, end in ends.items():
                    if (await probe.committed(tp) or 0) < end:
                        return False
            return True

        await eventually(caught_up, timeout, message=message)


async def eventually(check, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll an async check until it returns a truthy value; fail with the last value after `timeout`."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{message} not reached within {timeout}s (last: {last!r})")


def distinct_addresses(network: str) -> Callable[[], str]:
    """Client addresses in `network`.1-254 (a /24 such as TEST-NET-3, "203.0.113"), each handed out once,
    in random order: tests that throttle by client address never share one by chance."""
    pool = iter(random.sample(range(1, 255), 254))
    return lambda: f"{network}.{next(pool)}"
