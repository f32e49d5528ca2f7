"""The hot paths' queries are served by an index on SecantusDB, whatever the collections' size.

Each service's indexes are created by its own ensure_indexes code on a scratch database; the
hot-path code itself (the adapters the handlers call) then runs against it while a command
listener records every query it sends, and each recorded filter is put to SecantusDB's planner.

Why the planner and not only `explain` (docs/performance/queries.md has the measurements):
SecantusDB's explain does not report what its executor does for every shape. A filter on `_id`
plus another field (`{_id: x, status: y}`) is executed as an `_id` look-up with the rest checked
on the document, while explain reports a COLLSCAN; explain of an update or delete command ignores
the filter (always COLLSCAN); explain of a `count` command reports an IXSCAN although `count`
always scans. So the assertion is on `Storage._try_index_id_keys`, the one function the find,
update, delete and aggregate ($match first) paths all use to pick their candidates (None: the
whole collection is scanned). That needs the server in this process: a SecantusDB server (the
installed version) is started here on a free port, with no Kafka. `explain` is also checked for
the single-index shapes, where it is reliable.

These names are SecantusDB 0.7.0b3 internals: a SecantusDB upgrade that renames them fails this
test loudly (then re-check the planner, see docs/performance/queries.md), it cannot pass silently.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring

from jmo_shared.mongo import Database, Tx

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)

# Documents of other members and of the past in each collection the tests read: none may be fetched.
NOISE = 100  # more than any bounded read (the claims-per-status counters: 65 documents)


class Recorder(monitoring.CommandListener):
    """Every query command sent: (database, collection, command name, filter)."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, str, str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        cmd, name, db = event.command, event.command_name, event.database_name
        if name == "find":
            self.queries.append((db, cmd["find"], name, dict(cmd.get("filter") or {})))
        elif name == "update":
            self.queries += [(db, cmd["update"], name, dict(u["q"])) for u in cmd["updates"]]
        elif name == "delete":
            self.queries += [(db, cmd["delete"], name, dict(d["q"])) for d in cmd["deletes"]]
        elif name == "aggregate":
            first = (cmd.get("pipeline") or [{}])[0]
            self.queries.append((db, cmd["aggregate"], name, dict(first.get("$match") or {})))
        elif name in ("count", "distinct", "findAndModify"):
            self.queries.append((db, cmd[name], name, dict(cmd.get("query") or {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from secantus.server import SecantusDBServer

    node = SecantusDBServer(
        host="127.0.0.1",
        port=0,
        storage_path=str(tmp_path_factory.mktemp("query-plans")),
        ttl_sweep_seconds=0,
        enable_test_commands=False,
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def mongo(server: Any) -> AsyncIterator[tuple[AsyncMongoClient, Recorder]]:
    recorder = Recorder()
    client = AsyncMongoClient(
        f"{server.uri}?directConnection=true&retryWrites=false", tz_aware=True, event_listeners=[recorder]
    )
    try:
        yield client, recorder
    finally:
        await client.close()


def scratch(client: AsyncMongoClient, service: str) -> Database:
    return Database(client, f"qp_{service}_{uuid.uuid4().hex[:8]}", service)


def candidates(server: Any, db: str, collection: str, query: dict[str, Any]) -> int | None:
    """How many documents SecantusDB fetches for this filter (through an index), None when it scans them all."""
    storage = server.storage
    if not query:
        return None
    with storage._lock:
        storage._refresh_read_snapshot()
        found = storage._try_index_id_keys(db, collection, query)
    return None if found is None else len(set(found))


def index_serves(server: Any, db: str, collection: str, query: dict[str, Any]) -> bool:
    return candidates(server, db, collection, query) is not None


async def explained_index(
    db: Database, collection: str, query: dict[str, Any], sort: dict[str, int] | None = None
) -> str | None:
    """The index explain names for this find (None: a COLLSCAN)."""
    command: dict[str, Any] = {"find": collection, "filter": query}
    if sort:
        command["sort"] = sort
    plan = (await db.db.command("explain", command, verbosity="queryPlanner"))["queryPlanner"]["winningPlan"]
    while plan:
        if plan.get("stage") == "IXSCAN":
            return plan["indexName"]
        plan = plan.get("inputStage")
    return None


def assert_all_served(server: Any, recorder: Recorder, db: Database, expected: int) -> None:
    """Every query the hot path sent is served by an index, and fetches none of the `history` documents
    (there are NOISE of them in each collection): what it reads does not grow with the data."""
    mine = [q for q in recorder.queries if q[0] == db.db.name]
    assert len(mine) >= expected, f"the hot path sent fewer queries than expected: {mine}"
    scans = []
    for _, collection, command, query in mine:
        fetched = candidates(server, db.db.name, collection, query)
        if command in ("count", "findAndModify"):
            scans.append((collection, command, query, "SecantusDB always scans for this command"))
        elif fetched is None:
            scans.append((collection, command, query, "no index serves this filter: collection scan"))
        elif fetched >= NOISE:
            scans.append((collection, command, query, f"the index bounds fetch {fetched} documents, the history's"))
    assert not scans, "queries that grow with the data on a hot path:\n" + "\n".join(map(str, scans))


async def history(db: Database, collection: str, make) -> None:
    """NOISE documents no hot-path query of this test may fetch: other members', past ones."""
    await db[collection].insert_many([make(i) for i in range(NOISE)])


# ---------------------------------------------------------------------------------------------------
# The planner oracle itself: it must see a scan where there is one.


async def test_the_planner_check_detects_a_scan(server, mongo) -> None:
    from jmo_banksim.adapters.repository import TRANSFERS, ensure_indexes

    client, _ = mongo
    db = scratch(client, "banksim")
    await ensure_indexes(db)
    # The start-up query banksim used before: $ne is not an index bound and notified_at leads no index.
    assert not index_serves(server, db.db.name, TRANSFERS, {"status": {"$ne": "IGNORED"}, "notified_at": None})
    assert not index_serves(server, db.db.name, TRANSFERS, {"$or": [{"status": "RECEIVED"}, {"status": "ACSC"}]})
    assert index_serves(server, db.db.name, TRANSFERS, {"status": "RECEIVED", "notified_at": None})


# ---------------------------------------------------------------------------------------------------
# claims


def _claim(claim_id: str, nik: str, member_id: str):
    from jmo_claims.domain.claim import Claim
    from jmo_claims.domain.model import BankAccount, Estimate

    return Claim.submit(
        claim_id=claim_id,
        member_id=member_id,
        nik=nik,
        kpj="12345678901",
        reason="resignation",
        document_ids=(),
        verification_id=uuid.uuid4().hex,
        submitted_at=NOW,
        sla_due_at=NOW + timedelta(days=5),
        estimated=Estimate(8_000_000, 0, 8_000_000),
        beneficiary_name="SITI AMINAH",
        bank_account=BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINAH"),
    )


async def claims_history(db: Database) -> None:
    """Other members' claims, all ended (paid, partial ones too), their cards, members and face matches."""
    past = NOW - timedelta(days=40)
    await history(
        db,
        "claims",
        lambda i: {
            "_id": f"old-{i}",
            "member_id": f"m-old-{i}",
            "nik": f"nik-old-{i}",
            "kpj": f"kpj-old-{i}",
            "reason": "partial_10" if i % 2 else "resignation",
            "status": "PAID" if i % 3 else "REJECTED",
            "open": False,
            "verification_id": f"v-old-{i}",
            "submitted_at": past,
            "sla_due_at": past,
            "next_escalation_at": None,
            "escalated": False,
            "escalation_level": 0,
        },
    )
    await history(db, "cards", lambda i: {"_id": f"kpj-old-{i}", "nik": f"nik-old-{i}", "birth_date": "1980-01-01"})
    await history(db, "members", lambda i: {"_id": f"nik-old-{i}", "member_id": f"m-old-{i}"})
    await history(
        db, "face_verifications", lambda i: {"_id": f"v-old-{i}", "member_id": f"m-old-{i}", "expires_at": past}
    )
    await history(db, "idempotency_keys", lambda i: {"_id": f"claims:m-old-{i}:k", "state": "done", "created_at": past})


async def test_claim_submission_and_progress_reads_use_indexes(server, mongo) -> None:
    from jmo_claims.adapters import status_counts
    from jmo_claims.adapters.codec import bank_account_to_doc
    from jmo_claims.adapters.collections import CLAIMS, MEMBERS, ensure_indexes
    from jmo_claims.adapters.repository import ClaimRepository, ReadModel
    from jmo_claims.domain.policy import ClaimPolicy
    from jmo_claims.service_layer.progress import ClaimProgress
    from jmo_shared.clock import FixedClock
    from jmo_shared.events import BalanceReserved, PayoutSettled
    from jmo_shared.idempotency import IdempotencyStore

    client, recorder = mongo
    db = scratch(client, "claims")
    await ensure_indexes(db)
    await status_counts.ensure_counters(db)
    idempotency = IdempotencyStore(db, "claims")
    await idempotency.ensure_indexes()
    nik, member_id, claim_id = "3174011506850001", "m-1", f"c-{uuid.uuid4().hex[:8]}"
    claim = _claim(claim_id, nik, member_id)
    await db[MEMBERS].insert_one(
        {"_id": nik, "member_id": member_id, "profile": {"bank_account": bank_account_to_doc(claim.bank_account)}}
    )
    await claims_history(db)
    recorder.queries.clear()

    # Submission: what ClaimSubmission reads before and inside its transaction.
    reads, repo = ReadModel(db), ClaimRepository()
    await idempotency.begin(member_id, "key-1", "fp")
    await reads.member_and_claims(nik)
    await reads.face("v-1")
    await reads.documents(["65f1a2b3c4d5e6f708192a3b"])

    async def submit(tx: Tx) -> None:
        await repo.add(tx, claim)
        await idempotency.complete(tx, member_id, "key-1", 202, {"claim_id": claim_id})

    await db.transaction(submit)
    await idempotency.begin(member_id, "key-1", "fp")  # a replay: the stored answer, by _id
    await reads.claims_of(member_id, 0, 20)
    await reads.claim_of(member_id, claim_id)

    # Progress: the worker's handlers as the consumer runs them (each in its transaction).
    progress = ClaimProgress(repo, FixedClock(NOW), ClaimPolicy())
    reserved = BalanceReserved(
        claim_id=claim_id,
        member_id=member_id,
        nik=nik,
        kpj=claim.kpj,
        amount_idr=8_000_000,
        balance_idr=9_000_000,
        reserved_at=NOW,
    )

    async def batch(tx: Tx) -> None:  # as the consumer applies a batch: its claims read ahead in one query
        await progress.read_ahead(tx, [(reserved, None)])
        await progress.on_balance_reserved(tx, reserved, None)

    before_batch = len(recorder.queries)
    await db.transaction(batch)
    batch_reads = [(q[1], q[3]) for q in recorder.queries[before_batch:] if q[0] == db.db.name and q[2] == "find"]
    assert batch_reads == [(CLAIMS, {"_id": {"$in": [claim_id]}}), (MEMBERS, {"_id": {"$in": [nik]}})], batch_reads
    settled = PayoutSettled(
        payout_id="p-1",
        claim_id=claim_id,
        member_id=member_id,
        gross_idr=8_000_000,
        tax_idr=0,
        net_idr=8_000_000,
        bank_code="014",
        bank_reference="BCA-1",
        settled_at=NOW,
    )
    await db.transaction(lambda tx: progress.on_payout_settled(tx, settled, None))
    assert (await db[CLAIMS].find_one({"_id": claim_id}))["status"] == "PAID"
    assert (await status_counts.counts(db))["PAID"] == 1

    assert_all_served(server, recorder, db, expected=15)
    assert await explained_index(db, CLAIMS, {"_id": claim_id}) == "_id_"
    assert (
        await explained_index(db, CLAIMS, {"nik": nik, "reason": {"$in": ["partial_10", "partial_30"]}})
        == "nik_1_reason_1"
    )
    assert await explained_index(db, CLAIMS, {"nik": nik}) == "nik_1_reason_1"  # the member's claims, at submission
    assert await explained_index(db, "cards", {"nik": nik}, sort={"_id": 1}) == "nik_1"


async def test_claims_periodic_reads_use_indexes(server, mongo) -> None:
    from jmo_claims.adapters import status_counts, sweeps
    from jmo_claims.adapters.collections import ensure_indexes
    from jmo_claims.adapters.review import ReviewReads

    client, recorder = mongo
    db = scratch(client, "claims")
    await ensure_indexes(db)
    await claims_history(db)
    recorder.queries.clear()
    await sweeps.escalation_due(db, NOW, 200)
    await ReviewReads(db).queue(None, None, 0, 20)
    await ReviewReads(db).queue("resignation", True, 0, 20)
    # The claims_by_status gauge: its counters (65 documents by _id), not the claims.
    await status_counts.ensure_counters(db)
    await status_counts.counts(db)
    assert_all_served(server, recorder, db, expected=5)
    assert [q[1] for q in recorder.queries if q[0] == db.db.name][-1] == "claim_status_counts"


async def test_claims_pending_documents_use_indexes(server, mongo) -> None:
    from jmo_claims.adapters.collections import DOCUMENT_FILES, ensure_indexes
    from jmo_claims.adapters.documents import DocumentStore, attach

    client, recorder = mongo
    db = scratch(client, "claims")
    await ensure_indexes(db)
    # Documents of other members, attached long ago: neither the quota nor the sweep may fetch them.
    await history(
        db,
        DOCUMENT_FILES,
        lambda i: {
            "filename": "ktp",
            "length": 1,
            "metadata": {"member_id": f"m-old-{i}", "pending": False, "uploaded_at": NOW - timedelta(days=400 + i)},
        },
    )
    store = DocumentStore(db)
    document_id = await store.save(
        member_id="m-1",
        nik="3174011506850001",
        kind="ktp",
        filename="ktp.png",
        content=b"\x89PNG",
        content_type="image/png",
        sha256="0",
        uploaded_at=NOW,
    )
    recorder.queries.clear()
    await store.pending_count("m-1", 30)
    expired = await store.expired_pending(NOW + timedelta(days=8), 500)
    assert [str(e) for e in expired] == [document_id]
    await db.transaction(lambda tx: attach(tx, "m-1", "c-1", (document_id,)))
    await store.remove_pending(expired[0])
    assert_all_served(server, recorder, db, expected=4)


# ---------------------------------------------------------------------------------------------------
# payout


async def test_payout_lookups_use_indexes(server, mongo) -> None:
    from jmo_payout.adapters.reconciliation_repository import ReconciliationRepository, ensure_reconciliation_indexes
    from jmo_payout.adapters.repository import PAYOUTS, PayoutRepository, ensure_indexes

    client, recorder = mongo
    db = scratch(client, "payout")
    await ensure_indexes(db)
    await ensure_reconciliation_indexes(db)
    await db[PAYOUTS].insert_one(
        {
            "_id": "p-1",
            "claim_id": "c-1",
            "member_id": "m-1",
            "nik": "1",
            "external_id": "202601050000000000001",
            "status": "SENT",
            "sent_at": NOW,
            "bank_code": "014",
            "end_to_end_id": "e2e-1",
        }
    )
    await history(
        db,
        PAYOUTS,
        lambda i: {
            "_id": f"p-old-{i}",
            "claim_id": f"c-old-{i}",
            "member_id": f"m-old-{i}",
            "nik": f"n-{i}",
            "external_id": f"old-{i}",
            "status": "SETTLED",
            "sent_at": NOW - timedelta(days=3),
            "bank_code": "014",
            "end_to_end_id": f"e2e-old-{i}",
        },
    )
    await history(
        db,
        "reconciliation_leases",
        lambda i: {
            "_id": f"014:{NOW.date() - timedelta(days=i + 1)}",
            "expires_at": NOW - timedelta(days=i),
            "scheduled_done_at": NOW - timedelta(days=i),
        },
    )
    recorder.queries.clear()

    async def work(tx: Tx) -> None:
        repo = PayoutRepository(tx)
        assert (await repo.by_claim("c-1"))["_id"] == "p-1"
        assert await repo.get("p-1") is not None

    await db.transaction(work)
    repo = PayoutRepository(db)
    await repo.overdue_ids(NOW, 200)
    await repo.for_member("m-1", "1", claim_id="c-1")
    await repo.for_member("m-1", "1", _id="p-1")
    leases = ReconciliationRepository(db)
    day = NOW.date()
    assert await leases.acquire("014", day, "me", NOW, timedelta(minutes=5), scheduled=True)
    await leases.release("014", day, "me", NOW, retry_at=NOW - timedelta(minutes=1))
    assert await leases.acquire("014", day, "me", NOW, timedelta(minutes=5), scheduled=True)
    await leases.scheduled_done("014", day)
    assert_all_served(server, recorder, db, expected=8)
    # By claim id and by external id (the bank's X-EXTERNAL-ID; no code path reads by it, the unique
    # index guards it): both unique indexes, explain agrees.
    assert await explained_index(db, PAYOUTS, {"claim_id": "c-1"}) == "one_payout_per_claim"
    assert await explained_index(db, PAYOUTS, {"external_id": "202601050000000000001"}) == "external_id_unique"
    assert index_serves(server, db.db.name, PAYOUTS, {"external_id": "202601050000000000001"})


async def test_profile_bank_inquiry_count_uses_the_id(server, mongo) -> None:
    from jmo_profile.adapters.inquiry_attempts import BANK_INQUIRIES, InquiryAttempts, ensure_indexes

    client, recorder = mongo
    db = scratch(client, "profile")
    await ensure_indexes(db)
    await history(db, BANK_INQUIRIES, lambda i: {"_id": f"m-{i}", "at": [NOW], "purge_at": NOW})
    attempts = InquiryAttempts(db, limit=2, window=timedelta(hours=1))
    recorder.queries.clear()
    assert await attempts.take("m-new", NOW) is None
    assert await attempts.take("m-new", NOW) is None
    assert await attempts.take("m-new", NOW) == timedelta(hours=1)
    assert_all_served(server, recorder, db, expected=3)  # the first inquiry inserts (no query)


# ---------------------------------------------------------------------------------------------------
# identity


async def test_identity_login_lookups_use_indexes(server, mongo) -> None:
    from jmo_identity.adapters.account_store import ACCOUNTS, AccountStore, login_key
    from jmo_identity.adapters.attempt_store import CLIENT_ATTEMPTS, LOGIN_FAILURES, AttemptStore, client_key
    from jmo_identity.adapters.indexes import ensure_indexes

    client, recorder = mongo
    db = scratch(client, "identity")
    await ensure_indexes(db)
    await history(db, ACCOUNTS, lambda i: {"_id": f"m-old-{i}", "nik": f"n-{i}", "email": f"old{i}@example.id"})
    await history(db, LOGIN_FAILURES, lambda i: {"_id": f"h-{i}", "failures": [NOW], "purge_at": NOW})
    await history(db, CLIENT_ATTEMPTS, lambda i: {"_id": f"c-{i}", "failures": [NOW], "purge_at": NOW})
    recorder.queries.clear()
    # auth.login: the client's throttle, the e-mail's failures, the account, then a failure or a clear.
    attempts, failures = AttemptStore(db, CLIENT_ATTEMPTS), AttemptStore(db, LOGIN_FAILURES)
    await attempts.failures(client_key("login", "10.0.0.1"))
    await failures.failures(login_key("siti@example.id"))
    await AccountStore(db).by_email("siti@example.id")
    await failures.record(login_key("siti@example.id"), NOW, 5, timedelta(minutes=15))
    await failures.clear(login_key("siti@example.id"))
    await AccountStore(db).email_taken_by_other("siti@example.id", "m-1")
    assert_all_served(server, recorder, db, expected=6)
    assert await explained_index(db, ACCOUNTS, {"email": "siti@example.id"}) == "one_account_per_email"


# ---------------------------------------------------------------------------------------------------
# helpdesk and banksim sweeps


async def test_helpdesk_sla_sweep_uses_an_index(server, mongo) -> None:
    from jmo_helpdesk.adapters.collections import COMPLAINTS, ensure_indexes
    from jmo_helpdesk.adapters.complaints import ComplaintRepository

    client, recorder = mongo
    db = scratch(client, "helpdesk")
    await ensure_indexes(db)
    await db[COMPLAINTS].insert_one(
        {
            "_id": "JMO-1",
            "sla_breached": False,
            "status": "open",
            "sla_due_at": NOW - timedelta(hours=1),
            "category": "claim",
        }
    )
    # Complaints closed within their SLA: never breached, due long ago.
    await history(
        db,
        COMPLAINTS,
        lambda i: {
            "_id": f"JMO-old-{i}",
            "sla_breached": False,
            "status": "closed",
            "sla_due_at": NOW - timedelta(days=i + 1),
            "category": "claim",
        },
    )
    recorder.queries.clear()
    flagged = await db.transaction(lambda tx: ComplaintRepository(db).flag_overdue(tx, NOW))
    assert flagged == [("JMO-1", "claim")]
    assert_all_served(server, recorder, db, expected=2)


async def test_banksim_restart_pickup_uses_an_index(server, mongo) -> None:
    from jmo_banksim.adapters import repository as repo

    client, recorder = mongo
    db = scratch(client, "banksim")
    await repo.ensure_indexes(db)
    await history(
        db,
        repo.TRANSFERS,
        lambda i: {
            "_id": f"014:old-{i}",
            "payout_id": f"p-old-{i}",
            "bank_code": "014",
            "received_at": NOW,
            "status": repo.IGNORED if i % 4 == 0 else "ACSC",
            "notified_at": None if i % 4 == 0 else NOW,
        },
    )
    recorder.queries.clear()
    await repo.unfinished(db)
    assert_all_served(server, recorder, db, expected=1)


async def test_notify_delivery_rounds_use_indexes(server, mongo) -> None:
    from jmo_notify.adapters.collections import DELIVERIES, ensure_indexes
    from jmo_notify.adapters.deliveries import DeliveryStore
    from jmo_notify.domain.delivery import DEAD, PENDING, SENT

    client, recorder = mongo
    db = scratch(client, "notify")
    await ensure_indexes(db)
    due = [
        {"_id": f"e{i}:email", "status": PENDING, "attempts": 0, "next_attempt_at": NOW, "lease_until": NOW}
        for i in range(3)
    ]
    await db[DELIVERIES].insert_many(due)
    # Deliveries sent or dead long ago: the round reads none of them.
    await history(
        db,
        DELIVERIES,
        lambda i: {
            "_id": f"old{i}:email",
            "status": DEAD if i % 10 == 0 else SENT,
            "attempts": 1,
            "next_attempt_at": NOW - timedelta(days=i + 1),
            "lease_until": NOW - timedelta(days=i + 1),
        },
    )
    store = DeliveryStore(db)
    recorder.queries.clear()
    found = await store.due(NOW, 50)
    leased = await store.take([d["_id"] for d in found], NOW, timedelta(seconds=60))
    await store.sent(sorted(leased), NOW)
    assert_all_served(server, recorder, db, expected=4)
    assert leased == {d["_id"] for d in due}
    assert await db[DELIVERIES].count_documents({"status": SENT, "_id": {"$in": sorted(leased)}}) == 3


# ---------------------------------------------------------------------------------------------------
# shared: the outbox, processed events


async def test_outbox_and_processed_events_use_indexes(server, mongo) -> None:
    from bson import ObjectId

    from jmo_shared.consumer import PROCESSED, IdempotentConsumer
    from jmo_shared.mongo import OUTBOX
    from jmo_shared.outbox import OutboxRelay, forget_published

    client, recorder = mongo
    db = scratch(client, "shared")
    await db.ensure_outbox_indexes()
    await IdempotentConsumer(db, "localhost:9", "g", topics=["t"]).ensure_indexes()
    # The outbox holds only unpublished rows (a published one is deleted, see test_outbox_and_consumer), so
    # what the sweeper reads is what is in flight, whatever the history. SecantusDB serves no range on _id
    # from the index (the sweep's `_id < cutoff` reads the collection), which is why nothing else may stay.
    relay = OutboxRelay(db, producer=None)  # type: ignore[arg-type]  # nothing is old enough to be sent
    await db[OUTBOX].insert_one({"_id": ObjectId(), "created_at": NOW})
    assert await relay.publish_batch(timedelta(minutes=1)) == 0
    await forget_published(db, [{"_id": ObjectId()}])
    await history(db, PROCESSED, lambda i: {"_id": f"g:old-{i}", "at": NOW})
    recorder.queries.clear()
    await db[PROCESSED].find_one({"_id": "g:event-1"})
    await db[PROCESSED].delete_many({"_id": {"$in": ["g:event-1"]}})
    assert_all_served(server, recorder, db, expected=2)
    assert await explained_index(db, PROCESSED, {"_id": "g:event-1"}) == "_id_"
    # Only _id is indexed: a secondary index would cost every insert of the hottest collection.
    assert set(await db[OUTBOX].index_information()) == {"_id_"}
