"""Gauges that must not freeze when Kafka is away: outbox backlog/age from the database, kafka_connected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from jmo_shared.kafka import KafkaProbe, make_producer
from jmo_shared.mongo import OUTBOX, Database, Tx
from jmo_shared.outbox import OutboxRelay
from jmo_shared.testing import eventually, member_registered

pytestmark = pytest.mark.integration

UNREACHABLE = "127.0.0.1:1"


def _gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name)


async def test_the_outbox_gauges_grow_from_the_database_while_the_broker_is_unreachable(database: Database) -> None:
    async def work(tx: Tx) -> None:
        for i in range(3):
            tx.emit(member_registered(f"317101150690000{i}", f"1234567890{i}"))

    await database.transaction(work)
    # The oldest row is a minute old: the gauge reports its age, not the time of the last publish.
    oldest = await database[OUTBOX].find_one({}, sort=[("_id", 1)])
    await database[OUTBOX].update_one(
        {"_id": oldest["_id"]}, {"$set": {"created_at": datetime.now(UTC) - timedelta(seconds=60)}}
    )
    # A relay whose producer never reached a broker: only the database timer can tell.
    relay = OutboxRelay(database, make_producer(UNREACHABLE, "test-blind-relay"))
    timer = asyncio.create_task(relay.report_backlog(every_seconds=0.1))
    try:
        await eventually(lambda: _is(lambda: _gauge("outbox_backlog") == 3), timeout=10, message="backlog of 3")
        assert _gauge("outbox_oldest_unpublished_seconds") >= 60
        await database[OUTBOX].delete_many({})  # what publishing does to the rows
        await eventually(lambda: _is(lambda: _gauge("outbox_backlog") == 0), timeout=10, message="backlog drained")
        assert _gauge("outbox_oldest_unpublished_seconds") == 0
    finally:
        relay.stop()
        await asyncio.wait_for(timer, timeout=5)


async def test_kafka_connected_says_whether_this_process_reaches_the_broker(infra) -> None:
    blind = KafkaProbe(UNREACHABLE, "test-blind", ttl_seconds=0)
    seeing = KafkaProbe(infra.kafka_bootstrap, "test-seeing", ttl_seconds=0)
    try:
        assert await seeing.ready() is True
        assert _gauge("kafka_connected") == 1
        assert await blind.ready() is False
        assert _gauge("kafka_connected") == 0
    finally:
        await blind.stop()
        await seeing.stop()


async def _is(check) -> bool:
    return bool(check())


async def test_rows_just_committed_are_not_backlog_until_they_should_have_left(database: Database) -> None:
    """A busy, healthy service reads 0: its publishers send a row at once and delete it half a second later."""
    from bson import ObjectId

    async def work(tx: Tx) -> None:
        tx.emit(member_registered("3171011506900009", "12345678909"))

    await database.transaction(work)
    relay = OutboxRelay(database, make_producer(UNREACHABLE, "test-blind-relay"))
    await relay.measure_backlog()
    assert _gauge("outbox_backlog") == 0 and _gauge("outbox_oldest_unpublished_seconds") == 0
    stuck = datetime.now(UTC) - timedelta(seconds=5)
    await database[OUTBOX].insert_one({"_id": ObjectId.from_datetime(stuck), "created_at": stuck})
    await relay.measure_backlog()
    assert _gauge("outbox_backlog") == 1
    assert _gauge("outbox_oldest_unpublished_seconds") >= 5
