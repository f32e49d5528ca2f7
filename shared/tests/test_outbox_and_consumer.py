"""The outbox and the idempotent consumer on the real broker and database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.errors import KafkaError

from jmo_shared.consumer import DEAD_LETTERS, PROCESSED, IdempotentConsumer
from jmo_shared.errors import DomainError
from jmo_shared.events import CloudEvent, ContributionPosted, MemberRegistered
from jmo_shared.kafka import make_producer
from jmo_shared.mongo import OUTBOX, Database, Tx
from jmo_shared.outbox import OutboxRelay
from jmo_shared.testing import eventually, member_registered
from jmo_shared.topics import CORE_MEMBERSHIP

pytestmark = pytest.mark.integration


async def test_a_failed_transaction_leaves_neither_the_change_nor_its_event(database: Database) -> None:
    async def work(tx: Tx) -> None:
        await tx["things"].insert_one({"_id": "a"}, session=tx.session)
        tx.emit(member_registered("3171011506900001", "12345678901"))
        raise DomainError(code="nope", detail="refused after writing")

    with pytest.raises(DomainError):
        await database.transaction(work)
    assert await database["things"].count_documents({}) == 0
    assert await database[OUTBOX].count_documents({}) == 0


async def test_outbox_rows_reach_kafka_and_the_consumer_applies_each_event_once(database: Database, infra) -> None:
    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    kpj = f"{uuid.uuid4().int % 10**11:011d}"

    async def work(tx: Tx) -> None:
        await tx["things"].insert_one({"_id": nik}, session=tx.session)
        tx.emit(member_registered(nik, kpj))

    await database.transaction(work)
    row = await database[OUTBOX].find_one({"key": nik})
    assert row is not None

    producer = make_producer(infra.kafka_bootstrap, "test-relay")
    await producer.start()
    relay = OutboxRelay(database, producer)
    try:
        assert await relay.publish_batch() == 1
        assert await database[OUTBOX].find_one({"key": nik}) is None  # published rows are deleted
    finally:
        await producer.stop()

    applied: list[str] = []

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        if data.nik == nik:
            applied.append(event.id)
            await tx["projection"].update_one({"_id": data.kpj}, {"$inc": {"seen": 1}}, upsert=True, session=tx.session)

    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [CORE_MEMBERSHIP])
    consumer.on(MemberRegistered, project)
    await consumer.ensure_indexes()
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _seen(database, kpj), timeout=60, message="projection of the event")
        # The same message delivered again (a redelivery after a crash) changes nothing.
        assert await consumer.apply(row["value"]) == "duplicate"
        assert (await database["projection"].find_one({"_id": kpj}))["seen"] == 1
        assert len(applied) == 1
        assert await database[PROCESSED].count_documents({}) >= 1
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)


async def _seen(database: Database, kpj: str) -> bool:
    return await database["projection"].find_one({"_id": kpj}) is not None


async def test_garbage_and_invalid_events_are_parked_not_lost(database: Database, infra) -> None:
    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, "test-parking", [CORE_MEMBERSHIP])

    async def never(tx, data, event):  # pragma: no cover - must not be reached
        raise AssertionError("an invalid event reached the handler")

    consumer.on(ContributionPosted, never)
    assert await consumer.apply(b"not json at all") == "dead_letter"
    invalid = CloudEvent(source="/test", type=ContributionPosted.event_type, data={"kpj": "123"})
    assert await consumer.apply(invalid.to_bytes()) == "dead_letter"
    unknown = CloudEvent(source="/test", type="jht.other.Thing.v1", data={})
    assert await consumer.apply(unknown.to_bytes()) == "ignored"
    parked = await database[DEAD_LETTERS].find({}).to_list()
    assert {p["code"] for p in parked} == {"not_a_cloudevent", "rejected"}
    assert any(p.get("type") == ContributionPosted.event_type for p in parked)


async def test_the_relay_keeps_rows_when_the_broker_is_unreachable(database: Database) -> None:
    async def work(tx: Tx) -> None:
        tx.emit(member_registered("3171011506900002", "12345678902"))

    await database.transaction(work)
    producer = make_producer("127.0.0.1:1", "test-unreachable")
    relay = OutboxRelay(database, producer)
    try:
        with pytest.raises((KafkaError, TimeoutError)):
            await asyncio.wait_for(producer.start(), timeout=5)
            await relay.publish_batch()
    finally:
        await producer.stop()
    assert await database[OUTBOX].count_documents({}) == 1
    assert datetime.now(UTC) >= (await database[OUTBOX].find_one({}))["created_at"]


async def test_a_refused_event_in_a_batch_is_parked_and_the_others_are_applied_once(database: Database, infra) -> None:
    from aiokafka import AIOKafkaProducer

    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    kpjs = [f"{(uuid.uuid4().int + i) % 10**11:011d}" for i in range(5)]
    refused = kpjs[2]
    # Same key (NIK): one partition, one batch, in this order; the second event comes twice.
    events = [member_registered(nik, k).to_event("/test") for k in kpjs]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in [events[0], events[1], events[1], *events[2:]]:
            await producer.send_and_wait(CORE_MEMBERSHIP, event.to_bytes(), key=nik.encode())
    finally:
        await producer.stop()

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        if data.nik != nik:
            return
        if data.kpj == refused:
            raise DomainError(code="card_blocked", detail="refused by a rule")
        await tx["projection"].update_one({"_id": data.kpj}, {"$inc": {"seen": 1}}, upsert=True, session=tx.session)

    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [CORE_MEMBERSHIP])
    consumer.on(MemberRegistered, project)
    await consumer.ensure_indexes()
    task = asyncio.create_task(consumer.run())

    async def settled() -> bool:
        applied = await database["projection"].count_documents({"_id": {"$in": kpjs}})
        parked = await database[DEAD_LETTERS].count_documents({"type": MemberRegistered.event_type})
        return applied == 4 and parked == 1

    try:
        await eventually(settled, timeout=60, message="four applied, one parked")
        seen = {d["_id"]: d["seen"] for d in await database["projection"].find({"_id": {"$in": kpjs}}).to_list()}
        assert seen == {k: 1 for k in kpjs if k != refused}
        parked = await database[DEAD_LETTERS].find_one({"type": MemberRegistered.event_type})
        assert "card_blocked" in parked["error"]
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)


async def test_committed_events_are_counted_by_type_and_detail_and_aborted_ones_are_not(database: Database) -> None:
    from prometheus_client import REGISTRY as METRICS

    from jmo_shared.events import ClaimStatusChanged

    def count(status: str) -> float:
        value = METRICS.get_sample_value(
            "domain_events_total", {"type": ClaimStatusChanged.event_type, "detail": status}
        )
        return value or 0.0

    def changed(status: str) -> ClaimStatusChanged:
        return ClaimStatusChanged(claim_id="c-1", member_id="m-1", status=status, at=datetime.now(UTC))

    before_paid, before_rejected = count("PAID"), count("REJECTED")

    async def paid(tx: Tx) -> None:
        tx.emit(changed("PAID"))

    async def refused(tx: Tx) -> None:
        tx.emit(changed("REJECTED"))
        raise DomainError(code="nope", detail="rolled back")

    await database.transaction(paid)
    with pytest.raises(DomainError):
        await database.transaction(refused)
    assert count("PAID") == before_paid + 1
    assert count("REJECTED") == before_rejected


async def test_the_retention_purge_deletes_only_processed_ids_past_their_retention(database: Database) -> None:
    from datetime import timedelta

    from jmo_shared.retention import purge_once

    now = datetime.now(UTC)
    await database[PROCESSED].insert_many(
        [
            {"_id": "purge:old", "at": now - timedelta(days=31)},
            {"_id": "purge:new", "at": now - timedelta(days=2)},
        ]
    )
    deleted = await purge_once(database, now)
    assert deleted == {PROCESSED: 1}
    assert await database[PROCESSED].find_one({"_id": "purge:old"}) is None
    assert await database[PROCESSED].find_one({"_id": "purge:new"}) is not None


async def test_events_a_handler_does_not_want_are_skipped_without_a_processed_id(database: Database, infra) -> None:
    applied: list[str] = []

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        applied.append(data.nik)

    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [CORE_MEMBERSHIP])
    consumer.on(MemberRegistered, project, when=lambda data: data.employer_id == "E1")
    await consumer.ensure_indexes()
    wanted = member_registered(f"3171{uuid.uuid4().int % 10**12:012d}", "12345678901").to_event("/test")
    other = (
        member_registered(f"3171{uuid.uuid4().int % 10**12:012d}", "12345678902")
        .model_copy(update={"employer_id": "E2"})
        .to_event("/test")
    )
    assert await consumer.apply(other.to_bytes()) == "not_wanted"
    assert await consumer.apply(wanted.to_bytes()) == "applied"
    assert await consumer.apply(wanted.to_bytes()) == "duplicate"
    assert applied == [wanted.data["nik"]]
    assert await database[PROCESSED].find_one({"_id": f"{consumer.group_id}:{other.id}"}) is None
    assert await database[PROCESSED].find_one({"_id": f"{consumer.group_id}:{wanted.id}"}) is not None


async def test_events_of_an_idempotent_handler_write_no_processed_id_and_a_repeat_goes_to_the_handler(
    database: Database, infra
) -> None:
    months: dict[tuple[str, str], int] = {}
    registered: list[str] = []

    async def post(tx: Tx, items: list) -> None:
        for data, _ in items:
            months.setdefault((data.kpj, data.period), data.employer_idr)  # a card's month counts once

    async def register(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        registered.append(data.kpj)

    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [CORE_MEMBERSHIP])
    consumer.on_batch(ContributionPosted, post, idempotent=True).on(MemberRegistered, register)
    await consumer.ensure_indexes()
    kpj = f"{uuid.uuid4().int % 10**11:011d}"
    posted = ContributionPosted(
        kpj=kpj,
        period="2026-01",
        wage_idr=5_000_000,
        employer_idr=185_000,
        worker_idr=100_000,
        posted_at=datetime.now(UTC),
    ).to_event("/test")
    joined = member_registered(f"3171{uuid.uuid4().int % 10**12:012d}", kpj).to_event("/test")
    group = consumer.group_id
    assert await consumer.apply(posted.to_bytes()) == "applied"
    assert await consumer.apply(posted.to_bytes()) == "applied"  # the handler's own key makes it a no-op
    assert await consumer.apply(joined.to_bytes()) == "applied"
    assert await consumer.apply(joined.to_bytes()) == "duplicate"
    assert months == {(kpj, "2026-01"): 185_000} and registered == [kpj]
    assert await database[PROCESSED].find_one({"_id": f"{group}:{posted.id}"}) is None
    assert await database[PROCESSED].find_one({"_id": f"{group}:{joined.id}"}) is not None


async def test_a_batch_reads_ahead_once_and_each_document_is_taken_once(database: Database, infra) -> None:
    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    first, second, third = (f"{(uuid.uuid4().int + i) % 10**11:011d}" for i in range(3))
    await database["projection"].insert_many([{"_id": first, "seen": 10}, {"_id": second, "seen": 20}])
    order = [first, second, first, third]  # `first` twice: two events, the second must see the first's write
    topic = await _one_batch_topic(infra, nik, order)  # a topic of its own: these four events, one batch

    batches: list[list[str]] = []
    reads: list[tuple[str, bool, int | None]] = []

    async def read_ahead(tx: Tx, batch: list) -> None:
        batches.append([data.kpj for data, _ in batch])
        await tx.read_ahead("projection", [data.kpj for data, _ in batch])

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        ahead, doc = tx.take_read_ahead("projection", data.kpj)
        if not ahead:
            doc = await tx["projection"].find_one({"_id": data.kpj}, session=tx.session)
        seen = doc["seen"] if doc else None
        reads.append((data.kpj, ahead, seen))
        tx.forget_read_ahead("projection", data.kpj)
        await tx["projection"].replace_one(
            {"_id": data.kpj}, {"seen": (seen or 0) + 1}, upsert=True, session=tx.session
        )

    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [topic])
    consumer.on(MemberRegistered, project).read_ahead(read_ahead)
    await consumer.ensure_indexes()
    task = asyncio.create_task(consumer.run())

    async def applied() -> bool:
        return len(reads) == 4

    try:
        await eventually(applied, timeout=60, message="four events applied")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)
    assert batches == [order]
    # Read ahead: the first reads of `first` and `second`, and `third` (known to be absent, no query);
    # the second event of `first` reads the database and sees the first event's write.
    assert reads == [(first, True, 10), (second, True, 20), (first, False, 11), (third, True, None)]
    seen = {d["_id"]: d["seen"] for d in await database["projection"].find({"_id": {"$in": order}}).to_list()}
    assert seen == {first: 12, second: 21, third: 1}


async def _one_batch_topic(infra, nik: str, kpjs: list[str]) -> str:
    """A topic of its own holding these events, in this order: the consumer reads them in one batch."""
    from aiokafka import AIOKafkaProducer

    from jmo_local.topics import create_topics
    from jmo_shared.topics import TopicSpec

    topic = f"test.one-batch.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for kpj in kpjs:
            await producer.send_and_wait(
                topic, member_registered(nik, kpj).to_event("/test").to_bytes(), key=nik.encode()
            )
    finally:
        await producer.stop()
    return topic


async def test_a_batch_of_several_partitions_is_applied_in_one_transaction_each_partition_in_order(
    database: Database, infra
) -> None:
    from aiokafka import AIOKafkaProducer

    from jmo_local.topics import create_topics
    from jmo_shared.topics import TopicSpec

    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    topic = f"test.partitions.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [TopicSpec(topic, 3)])
    # Two events in each of three partitions, all there before the consumer starts: one fetch.
    placed = [(p, f"{(uuid.uuid4().int + i) % 10**11:011d}") for i, p in enumerate([0, 1, 2, 0, 1, 2])]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for partition, kpj in placed:
            event = member_registered(nik, kpj).to_event("/test")
            await producer.send_and_wait(topic, event.to_bytes(), key=nik.encode(), partition=partition)
    finally:
        await producer.stop()

    batches: list[list[str]] = []

    async def read_ahead(tx: Tx, batch: list) -> None:
        batches.append([data.kpj for data, _ in batch])

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        await tx["projection"].insert_one({"_id": data.kpj}, session=tx.session)

    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [topic])
    consumer.on(MemberRegistered, project).read_ahead(read_ahead)
    await consumer.ensure_indexes()
    commits_before = _commands("commitTransaction", "")
    task = asyncio.create_task(consumer.run())

    async def applied() -> bool:
        return await database["projection"].count_documents({"_id": {"$in": [k for _, k in placed]}}) == 6

    try:
        await eventually(applied, timeout=60, message="six events applied")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)
    # One transaction for the three partitions (a transaction per partition made three).
    assert len(batches) == 1 and sorted(batches[0]) == sorted(k for _, k in placed)
    assert _commands("commitTransaction", "") - commits_before == 1
    for partition in range(3):
        in_log_order = [k for p, k in placed if p == partition]
        assert [k for k in batches[0] if k in in_log_order] == in_log_order


def _commands(command: str, collection: str) -> float:
    from prometheus_client import REGISTRY as METRICS

    return METRICS.get_sample_value("mongo_commands_total", {"command": command, "collection": collection}) or 0.0


async def test_staged_writes_go_in_one_bulk_write_per_collection_and_reads_through_the_tx_see_them(
    database: Database, infra
) -> None:
    from pymongo import InsertOne, UpdateOne

    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    a, b, c = (f"{(uuid.uuid4().int + i) % 10**11:011d}" for i in range(3))
    order = [a, b, a, c]  # `a` twice: its second event reads what the first one staged
    topic = await _one_batch_topic(infra, nik, order)
    counters, log = f"staged_counters_{uuid.uuid4().hex[:6]}", f"staged_log_{uuid.uuid4().hex[:6]}"
    await database.ensure_collections(counters, log)
    reads: list[tuple[str, int | None]] = []

    async def read_ahead(tx: Tx, batch: list) -> None:
        await tx.read_ahead(counters, [data.kpj for data, _ in batch])

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        doc = await tx.find_one_by_id(counters, data.kpj)
        reads.append((data.kpj, doc["n"] if doc else None))
        tx.forget_read_ahead(counters, data.kpj)
        tx.stage(counters, UpdateOne({"_id": data.kpj}, {"$inc": {"n": 1}}, upsert=True))
        tx.stage(log, InsertOne({"_id": event.id, "kpj": data.kpj}))

    updates_before, inserts_before = _commands("update", counters), _commands("insert", log)
    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [topic])
    consumer.on(MemberRegistered, project).read_ahead(read_ahead)
    await consumer.ensure_indexes()
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _count(database, log, 4), timeout=60, message="four events applied")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)
    # Read ahead: the first reads of `a`, `b` and `c`. The second read of `a` goes to the database and
    # first sends the two updates staged before it (one command); the other two go at the end (one more).
    assert reads == [(a, None), (b, None), (a, 1), (c, None)]
    assert _commands("update", counters) - updates_before == 2
    # Nothing read the log: its four rows went in one command.
    assert _commands("insert", log) - inserts_before == 1
    seen = {d["_id"]: d["n"] for d in await database[counters].find({}).to_list()}
    assert seen == {a: 2, b: 1, c: 1}


async def test_a_staged_write_refused_as_a_duplicate_parks_its_event_and_the_others_apply_once(
    database: Database, infra
) -> None:
    from pymongo import InsertOne

    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    kpjs = [f"{(uuid.uuid4().int + i) % 10**11:011d}" for i in range(3)]
    taken = kpjs[1]
    rows = f"staged_rows_{uuid.uuid4().hex[:6]}"
    await database.ensure_collections(rows)
    await database[rows].insert_one({"_id": taken, "by": "someone else"})
    topic = await _one_batch_topic(infra, nik, kpjs)

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        tx.stage(rows, InsertOne({"_id": data.kpj, "by": event.id}))

    group = f"test-{uuid.uuid4().hex}"
    consumer = IdempotentConsumer(database, infra.kafka_bootstrap, group, [topic])
    consumer.on(MemberRegistered, project)
    await consumer.ensure_indexes()
    task = asyncio.create_task(consumer.run())

    async def settled() -> bool:
        parked = await database[DEAD_LETTERS].count_documents({"group": group})
        return parked == 1 and await _count(database, rows, 3)

    try:
        await eventually(settled, timeout=60, message="two applied, one parked")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)
    parked = await database[DEAD_LETTERS].find_one({"group": group})
    assert "unique_violation" in parked["error"] or parked["code"] == "rejected"
    assert (await database[rows].find_one({"_id": taken}))["by"] == "someone else"
    assert await database[PROCESSED].count_documents({"_id": {"$regex": f"^{group}:"}}) == 2


async def _count(database: Database, collection: str, expected: int) -> bool:
    return await database[collection].count_documents({}) == expected


async def test_the_publisher_sends_each_commit_at_once_and_deletes_what_was_sent_together(
    database: Database, infra, scratch_topic: str
) -> None:
    from aiokafka import AIOKafkaConsumer

    from jmo_shared.outbox import OutboxPublisher

    producer = make_producer(infra.kafka_bootstrap, "test-publisher")
    await producer.start()
    publisher = OutboxPublisher(database, producer, forget_after=1.0)
    publisher.attach()
    publishing = asyncio.create_task(publisher.run())
    consumer = AIOKafkaConsumer(scratch_topic, bootstrap_servers=infra.kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    kpjs = [f"{(uuid.uuid4().int + i) % 10**11:011d}" for i in range(12)]
    deletes_before = _commands("delete", OUTBOX)
    try:
        for kpj in kpjs:

            async def work(tx: Tx, kpj: str = kpj) -> None:
                tx.emit(member_registered(nik, kpj), topic=scratch_topic)

            await database.transaction(work)
            await asyncio.sleep(0.05)  # commits apart: each is sent on its own, at once
        received: list[str] = []
        while len(received) < len(kpjs):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {len(received)} of {len(kpjs)} events reached the topic"
            received += [CloudEvent.from_bytes(m.value).data["kpj"] for msgs in batch.values() for m in msgs]
        assert received == kpjs  # in commit order

        async def forgotten() -> bool:
            return await database[OUTBOX].count_documents({}) == 0

        await eventually(forgotten, timeout=10, message="published rows deleted")
    finally:
        await consumer.stop()
        publisher.stop()
        await asyncio.wait_for(publishing, timeout=10)
        await producer.stop()
    # Twelve commits over about a second, their rows deleted in a few commands: each deletes what was sent
    # in the last second (one per send, twelve, before).
    deletes = _commands("delete", OUTBOX) - deletes_before
    assert 1 <= deletes <= 4, deletes
