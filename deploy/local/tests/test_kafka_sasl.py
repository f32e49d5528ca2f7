"""A service's Kafka clients against a broker that requires credentials and enforces ACLs.

The node is the local stack's KafkaNode with its client listener switched to SASL/SCRAM-SHA-512
(users created when the storage is formatted) and the standard authorizer, nothing allowed without
an ACL. Every client here is built as the services build theirs: `client_options` from settings,
`make_producer`, `IdempotentConsumer`'s consumer and `KafkaProbe`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.admin import CreateAclsRequest

from jmo_local.kafka import KafkaNode, ensure_kafka_jars, scram_listener_properties
from jmo_local.ports import free_ports
from jmo_local.stack import default_cache_dir
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.kafka import KafkaProbe, client_options, make_producer
from jmo_shared.settings import ServiceSettings
from jmo_shared.topics import CLAIMS_EVENTS, HELPDESK_EVENTS, PAYOUT_EVENTS

pytestmark = pytest.mark.integration

ADMIN = "admin"
PASSWORDS = {ADMIN: secrets.token_hex(16), "claims": secrets.token_hex(16), "helpdesk": secrets.token_hex(16)}

# Kafka's protocol codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP = 2, 3
LITERAL, PREFIXED = 3, 4
READ, WRITE = 3, 4
ALLOW = 3


def _options(user: str, password: str | None = None) -> dict[str, Any]:
    return client_options(
        ServiceSettings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username=user,
            kafka_sasl_password=PASSWORDS[user] if password is None else password,
        )
    )


@pytest.fixture(scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KafkaNode]:
    libs = ensure_kafka_jars(default_cache_dir())
    port, controller_port = free_ports(2)
    node = KafkaNode(
        tmp_path_factory.mktemp("kafka-sasl"),
        port,
        controller_port,
        libs_dir=libs,
        extra_properties=scram_listener_properties("127.0.0.1", port, controller_port, ADMIN, PASSWORDS[ADMIN]),
        scram_users=PASSWORDS,
        client_options=_options(ADMIN),
    )
    node.start()
    try:
        await node.wait_ready_async(60)
        await _prepare(node.bootstrap)
        yield node
    finally:
        await node.stop_async()


async def _prepare(bootstrap: str) -> None:
    """As the operator would: the topics, and each service's ACLs (what it writes, reads, its groups)."""
    admin = AIOKafkaAdminClient(**_options(ADMIN), bootstrap_servers=bootstrap, client_id="test-operator")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1) for topic in (CLAIMS_EVENTS, HELPDESK_EVENTS, PAYOUT_EVENTS)])
        acls = [
            # claims: writes claims.events, reads helpdesk.events in groups jmo.claims.*
            (TOPIC, CLAIMS_EVENTS, LITERAL, "claims", WRITE),
            (TOPIC, HELPDESK_EVENTS, LITERAL, "claims", READ),
            (GROUP, "jmo.claims.", PREFIXED, "claims", READ),
            # helpdesk: writes helpdesk.events, reads nothing
            (TOPIC, HELPDESK_EVENTS, LITERAL, "helpdesk", WRITE),
        ]
        for resource_type, name, pattern, user, operation in acls:
            response = await admin._send_request(
                CreateAclsRequest(resource_type, name, pattern, f"User:{user}", "*", operation, ALLOW)
            )
            assert [error for error, _ in response.creation_responses] == [0], response
    finally:
        await admin.close()


async def _read(consumer: AIOKafkaConsumer, count: int, timeout: float = 20.0) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            values += [record.value for record in records]
    return values


async def test_a_service_publishes_and_consumes_with_its_own_credentials(broker: KafkaNode) -> None:
    helpdesk = make_producer(broker.bootstrap, "helpdesk-outbox", _options("helpdesk"))
    claims = make_producer(broker.bootstrap, "claims-outbox", _options("claims"))
    consumer = IdempotentConsumer(
        None, broker.bootstrap, "jmo.claims.complaints", topics=[HELPDESK_EVENTS], options=_options("claims")
    )._make_consumer()
    await helpdesk.start()
    await claims.start()
    try:
        # The outbox's producer is idempotent: Write on the topic is all it needs.
        await helpdesk.send_and_wait(HELPDESK_EVENTS, b"complaint filed")
        await claims.send_and_wait(CLAIMS_EVENTS, b"claim submitted")
        await consumer.start()
        assert await _read(consumer, 1) == [b"complaint filed"]
        await consumer.commit()
    finally:
        await consumer.stop()
        await helpdesk.stop()
        await claims.stop()
    probe = KafkaProbe(broker.bootstrap, "claims", ttl_seconds=0, options=_options("claims"))
    try:
        assert await probe.ready()
    finally:
        await probe.stop()


@pytest.mark.parametrize(
    ("options", "broker_says"),
    [
        pytest.param(
            lambda: _options("claims", password="not-the-password"), "invalid credentials", id="wrong-password"
        ),
        pytest.param(
            lambda: _options("claims", password=PASSWORDS["helpdesk"]),
            "invalid credentials",
            id="another-users-password",
        ),
        pytest.param(lambda: {}, "during SASL handshake", id="no-credentials"),
    ],
)
async def test_a_client_without_the_right_credentials_is_refused(broker: KafkaNode, options, broker_says: str) -> None:
    refusals_before = _log_lines(broker, broker_says)
    producer = make_producer(broker.bootstrap, "claims-outbox", options())
    # aiokafka reports a refused login as a failed bootstrap; the broker's log says why.
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    deadline = time.monotonic() + 5
    while _log_lines(broker, broker_says) <= refusals_before:
        assert time.monotonic() < deadline, f"the broker did not log a refusal ({broker_says!r})"
        await asyncio.sleep(0.1)
    probe = KafkaProbe(broker.bootstrap, "claims", ttl_seconds=0, options=options())
    try:
        assert not await probe.ready()
    finally:
        await probe.stop()


def _log_lines(broker: KafkaNode, text: str) -> int:
    return sum(text in line for line in broker.server_log.read_text(errors="replace").splitlines())


async def test_a_service_cannot_write_another_services_topic(broker: KafkaNode) -> None:
    claims = make_producer(broker.bootstrap, "claims-outbox", _options("claims"))
    await claims.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await claims.send_and_wait(HELPDESK_EVENTS, b"forged complaint")
        with pytest.raises(TopicAuthorizationFailedError):
            await claims.send_and_wait(PAYOUT_EVENTS, b"forged payout")
    finally:
        await claims.stop()


async def test_a_service_cannot_read_a_topic_or_join_a_group_it_has_no_acl_for(broker: KafkaNode) -> None:
    # claims may read helpdesk.events in its own groups (jmo.claims.*); not payout.events, not in payout's group.
    for group, topic, refusal in [
        ("jmo.claims.payouts", PAYOUT_EVENTS, TopicAuthorizationFailedError),
        ("jmo.payout.claims", HELPDESK_EVENTS, GroupAuthorizationFailedError),
    ]:
        consumer = IdempotentConsumer(
            None, broker.bootstrap, group, topics=[topic], options=_options("claims")
        )._make_consumer()
        try:
            with pytest.raises(refusal):
                await consumer.start()
                await _read(consumer, 1, timeout=10)
        finally:
            await consumer.stop()
