"""Test helpers that are not fakes of anything a user has: a token issuer for service tests.

Service integration tests run without the identity service; they sign their own
tokens with a throw-away key and hand its JWKS to the service under test
(`static_jwks`). The end-to-end tests use identity's real tokens.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


class TokenIssuer:
    def __init__(self, issuer: str = "jmo-identity", audience: str = "jmo-mobile") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.issuer = issuer
        self.audience = audience

    def jwks(self) -> str:
        jwk = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        return json.dumps({"keys": [jwk]})

    def token(
        self,
        member_id: str,
        nik: str | None = None,
        roles: list[str] | None = None,
        ttl: timedelta = timedelta(minutes=10),
        **claims: object,
    ) -> str:
        now = datetime.now(UTC)
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": member_id,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "roles": roles or ["member"],
            **claims,
        }
        if nik is not None:
            payload["nik"] = nik
        return jwt.encode(payload, self._key, algorithm="ES256", headers={"kid": self.kid})

    def headers(self, member_id: str, nik: str | None = None, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(member_id, nik, **kwargs)}"}

    def face_assertion(self, member_id: str, nik: str, purpose: str, verification_id: str | None = None,
                       expires_in: timedelta = timedelta(minutes=10)) -> str:
        """A face match signed as identity answers it (jmo_shared.face_assertion), with this issuer's key."""
        from .face_assertion import FaceAssertion, claims_of

        now = datetime.now(UTC)
        assertion = FaceAssertion(verification_id=verification_id or uuid.uuid4().hex, member_id=member_id,
                                  nik=nik, purpose=purpose, score=0.71, model_version="test", verified_at=now,
                                  expires_at=now + expires_in)
        return jwt.encode(claims_of(assertion, self.issuer), self._key, algorithm="ES256", headers={"kid": self.kid})


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


async def start_groups_at_end(bootstrap: str, groups: dict[str, list[str]]) -> None:
    """Commit each consumer group (full group id -> its topics) at the current end of its topics.

    A new group on a broker that other tests (or a long-lived dev broker) filled would otherwise
    replay all of it before the events the caller publishes next.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    from .topics import TOPICS

    partitions = {spec.name: spec.partitions for spec in TOPICS}
    for group_id, topics in groups.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in range(partitions[t])]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
        finally:
            await consumer.stop()


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
