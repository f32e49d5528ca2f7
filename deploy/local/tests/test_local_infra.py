"""The local infrastructure against real servers: Apache Kafka (KRaft) and SecantusDB.

One LocalInfra serves the module; tests that need their own server (restarts,
kill -9, start-up failures) start a node in their own data directory.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_local.kafka import KafkaNode, KafkaNotReady, ensure_kafka_jars
from jmo_local.mongo import SecantusNode
from jmo_local.ports import free_ports
from jmo_local.stack import InfraEndpoints, LocalInfra, default_cache_dir
from jmo_local.topics import TopicMismatch, create_topics
from jmo_shared.topics import CLAIMS_EVENTS, PAYOUT_EVENTS, TOPICS, TopicSpec, bank_topic

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture(scope="module")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfraEndpoints]:
    with LocalInfra(tmp_path_factory.mktemp("infra")) as endpoints:
        yield endpoints


@pytest.fixture(scope="module")
def libs() -> Path:
    return ensure_kafka_jars(default_cache_dir())


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def _consume_until(consumer: AIOKafkaConsumer, wanted: set[bytes], timeout: float = 30.0) -> dict[bytes, int]:
    """Read until every wanted value was seen; returns value -> partition."""
    seen: dict[bytes, int] = {}
    deadline = time.monotonic() + timeout
    while not wanted <= seen.keys():
        assert time.monotonic() < deadline, f"not consumed within {timeout}s: {wanted - seen.keys()}"
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            seen.update({record.value: record.partition for record in records if record.value in wanted})
    return seen


# --- Kafka ---------------------------------------------------------------------------------


async def test_every_topic_exists_with_its_spec_partition_count(infra: InfraEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([spec.name for spec in TOPICS])
    finally:
        await admin.close()
    partitions = {topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0}
    assert partitions == {spec.name: spec.partitions for spec in TOPICS}


async def test_topics_carry_their_spec_configs(infra: InfraEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        names = [CLAIMS_EVENTS, bank_topic("014")]
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        await admin.close()
    specs = {spec.name: spec for spec in TOPICS}
    for resource in responses[0].resources:
        name, entries = resource[3], {entry[0]: entry[1] for entry in resource[4]}
        for key, value in specs[name].configs.items():
            assert entries[key] == value, (name, key)


async def test_create_topics_again_creates_nothing(infra: InfraEndpoints) -> None:
    assert await create_topics(infra.kafka_bootstrap) == []


async def test_create_topics_refuses_an_existing_topic_with_other_partitions(infra: InfraEndpoints) -> None:
    name = _unique("test.mismatch")
    assert await create_topics(infra.kafka_bootstrap, [TopicSpec(name, 2)]) == [name]
    with pytest.raises(TopicMismatch, match="has 2 partitions, spec says 3"):
        await create_topics(infra.kafka_bootstrap, [TopicSpec(name, 3)])


async def test_auto_creation_is_off(infra: InfraEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    finally:
        await admin.close()
    entries = {entry[0]: entry[1] for entry in configs[0].resources[0][4]}
    assert entries["auto.create.topics.enable"] == "false"


async def test_produce_and_consume_in_a_consumer_group(infra: InfraEndpoints) -> None:
    values = {f"claim-{i}-{uuid.uuid4().hex}".encode() for i in range(20)}
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(CLAIMS_EVENTS, value, key=value[:8])
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        CLAIMS_EVENTS,
        bootstrap_servers=infra.kafka_bootstrap,
        group_id=_unique("test-group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen = await _consume_until(consumer, values)
        await consumer.commit()
    finally:
        await consumer.stop()
    spec_partitions = next(spec.partitions for spec in TOPICS if spec.name == CLAIMS_EVENTS)
    assert set(seen.values()) <= set(range(spec_partitions))


async def test_transactional_producer_commits_for_read_committed_consumers(infra: InfraEndpoints) -> None:
    committed, aborted = _unique("committed").encode(), _unique("aborted").encode()
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, transactional_id=_unique("tx"))
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(PAYOUT_EVENTS, committed, key=b"k")
        await producer.begin_transaction()
        await producer.send(PAYOUT_EVENTS, aborted, key=b"k")
        await producer.abort_transaction()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        PAYOUT_EVENTS,
        bootstrap_servers=infra.kafka_bootstrap,
        group_id=_unique("test-group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        seen = await _consume_until(consumer, {committed})
        more = await consumer.getmany(timeout_ms=300)
    finally:
        await consumer.stop()
    assert committed in seen
    assert aborted not in {record.value for records in more.values() for record in records}


def test_kafka_restart_keeps_cluster_id_and_data(tmp_path: Path, libs: Path) -> None:
    spec = TopicSpec("restart.check", 1)
    port, controller_port = free_ports(2)
    first = KafkaNode(tmp_path / "kafka", port, controller_port, libs_dir=libs)
    first.start()
    try:
        first.wait_ready(60)
        cluster_id = first.cluster_id()
        meta = (first.log_dirs / "meta.properties").stat().st_mtime_ns
        _run(create_topics(first.bootstrap, [spec]))
        _run(_produce(first.bootstrap, spec.name, b"before restart"))
    finally:
        first.stop()

    # New ports on purpose: the static voter set must follow them.
    port, controller_port = free_ports(2)
    second = KafkaNode(tmp_path / "kafka", port, controller_port, libs_dir=libs)
    second.start()
    try:
        second.wait_ready(60)
        assert second.cluster_id() == cluster_id
        assert (second.log_dirs / "meta.properties").stat().st_mtime_ns == meta, "storage was reformatted"
        assert _run(create_topics(second.bootstrap, [spec])) == []
        assert _run(_read_all(second.bootstrap, spec.name, 1)) == [b"before restart"]
    finally:
        second.stop()
    # The broker logs to files, not to its console.
    assert "Kafka Server started" in second.server_log.read_text()
    assert " INFO " not in second.stdout_log.read_text()


async def test_a_node_restarts_on_its_port_and_a_connected_producer_carries_on(tmp_path: Path, libs: Path) -> None:
    # What the fault test does to the broker under load: the same node object, port and data dir.
    spec = TopicSpec("restart.same.port", 1)
    node = KafkaNode(tmp_path / "kafka", *free_ports(2), libs_dir=libs)
    node.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=node.bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=10000,
        retry_backoff_ms=200,
    )
    try:
        await node.wait_ready_async(60)
        await create_topics(node.bootstrap, [spec])
        await producer.start()
        await producer.send_and_wait(spec.name, b"before")
        took = await node.restart_async(pause_seconds=1)
        assert took["down_seconds"] >= 1
        await producer.send_and_wait(spec.name, b"after")  # reconnected by itself
        assert await _read_all(node.bootstrap, spec.name, 2) == [b"before", b"after"]
    finally:
        await producer.stop()
        await node.stop_async()
    assert node.pid is None


def test_kafka_start_failure_reports_the_cause_from_the_log(tmp_path: Path, libs: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        node = KafkaNode(tmp_path / "kafka", squatter.getsockname()[1], free_ports(1)[0], libs_dir=libs)
        node.start()
        try:
            with pytest.raises(KafkaNotReady) as failure:
                node.wait_ready(60)
        finally:
            node.stop()
    assert "exited" in str(failure.value)
    assert "Address already in use" in str(failure.value)


def test_ensure_kafka_jars_skips_maven_when_complete(libs: Path) -> None:
    stamp = libs / ".complete"
    before = stamp.stat().st_mtime_ns
    started = time.monotonic()
    assert ensure_kafka_jars(libs.parent) == libs
    assert time.monotonic() - started < 1.0
    assert stamp.stat().st_mtime_ns == before
    names = {path.name for path in libs.glob("*.jar")}
    assert any(name.startswith("kafka_2.13-4.") for name in names)
    assert any(name.startswith("log4j-slf4j-impl-") for name in names)


T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # Sync tests drive their own nodes; the module's event loop is not running here.
    return asyncio.run(coroutine)


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                values += [record.value for record in records]
        return values
    finally:
        await consumer.stop()


# --- SecantusDB ----------------------------------------------------------------------------


@pytest.fixture
async def mongo(infra: InfraEndpoints) -> AsyncIterator[Mongo]:
    client: Mongo = AsyncMongoClient(infra.mongo_uri)
    yield client
    await client.close()


async def test_multi_document_transaction_commits(mongo: Mongo) -> None:
    db = mongo[_unique("db")]
    await db.create_collection("claims")
    await db.create_collection("ledger")
    async with mongo.start_session() as session:
        async with await session.start_transaction():
            await db.claims.insert_one({"_id": "c1", "state": "approved"}, session=session)
            await db.ledger.insert_one({"_id": "l1", "claim": "c1", "amount": 1_000_000}, session=session)
    assert await db.claims.count_documents({}) == 1
    assert await db.ledger.count_documents({}) == 1


async def test_multi_document_transaction_aborts(mongo: Mongo) -> None:
    db = mongo[_unique("db")]
    await db.create_collection("claims")
    await db.create_collection("ledger")
    await db.claims.insert_one({"_id": "c1", "state": "submitted"})

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with mongo.start_session() as session:
            async with await session.start_transaction():
                await db.claims.update_one({"_id": "c1"}, {"$set": {"state": "paid"}}, session=session)
                await db.ledger.insert_one({"_id": "l1", "amount": 1_000_000}, session=session)
                raise Refused  # leaving the block with an exception aborts
    claim = await db.claims.find_one({"_id": "c1"})
    assert claim is not None and claim["state"] == "submitted"
    assert await db.ledger.count_documents({}) == 0


async def test_with_transaction_runs_the_callback_once_and_commits(mongo: Mongo) -> None:
    db = mongo[_unique("db")]
    await db.create_collection("balances")
    await db.create_collection("events")
    await db.balances.insert_one({"_id": "m1", "amount": 500})

    async def debit(session: AsyncClientSession) -> None:
        await db.balances.update_one({"_id": "m1"}, {"$inc": {"amount": -200}}, session=session)
        await db.events.insert_one({"type": "Debited", "amount": 200}, session=session)

    async with mongo.start_session() as session:
        await session.with_transaction(debit)
    balance = await db.balances.find_one({"_id": "m1"})
    assert balance is not None and balance["amount"] == 300
    assert await db.events.count_documents({}) == 1


def test_committed_transactions_survive_kill_9(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    node = SecantusNode(tmp_path / "mongodb", port)
    node.start()
    try:
        node.wait_ready(30)
        _run(_commit_transfers(node.uri(), 50))
        node.kill()
        node.start()
        node.wait_ready(30)
        assert _run(_count(node.uri())) == (50, 50)
    finally:
        node.stop()


async def _commit_transfers(uri: str, count: int) -> None:
    client: Mongo = AsyncMongoClient(uri)
    try:
        for i in range(count):
            async with client.start_session() as session:
                async with await session.start_transaction():
                    await client.bank.debits.insert_one({"_id": i}, session=session)
                    await client.bank.credits.insert_one({"_id": i}, session=session)
    finally:
        await client.close()


async def _count(uri: str) -> tuple[int, int]:
    client: Mongo = AsyncMongoClient(uri)
    try:
        return await client.bank.debits.count_documents({}), await client.bank.credits.count_documents({})
    finally:
        await client.close()


def test_servers_run_as_separate_processes_and_stop(tmp_path: Path) -> None:
    infra = LocalInfra(tmp_path, topics=[])
    with infra:
        assert infra.kafka is not None and infra.mongo is not None
        pids = [infra.kafka.pid, infra.mongo.pid]
        assert all(pid is not None and pid != os.getpid() for pid in pids)
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
