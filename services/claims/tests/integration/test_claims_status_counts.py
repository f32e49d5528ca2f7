"""The claims-per-status counters: moved in the claims' transactions, aligned with the claims at the worker's start."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from jmo_claims.adapters import status_counts
from jmo_claims.adapters.codec import claim_to_doc
from jmo_claims.adapters.collections import CLAIM_STATUS_COUNTS, CLAIMS, ensure_indexes
from jmo_claims.adapters.repository import ClaimRepository
from jmo_claims.domain.claim import Claim, Status
from jmo_claims.domain.model import BankAccount, Estimate
from jmo_shared.mongo import Database, Tx, make_client

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def new_claim(n: int) -> Claim:
    return Claim.submit(
        claim_id=f"c-{n}-{uuid.uuid4().hex[:6]}",
        member_id=f"m-{n}",
        nik=f"31740115068{n:05d}",
        kpj="12345678901",
        reason="resignation",
        document_ids=(),
        verification_id=uuid.uuid4().hex,
        submitted_at=T0,
        sla_due_at=T0 + timedelta(days=5),
        estimated=Estimate(8_000_000, 0, 8_000_000),
        beneficiary_name="SITI AMINAH",
        bank_account=BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINAH"),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def db(infra):
    client = make_client(infra.mongo_uri)
    database = Database(client, f"t_counts_{uuid.uuid4().hex[:10]}", "claims")
    await ensure_indexes(database)
    await status_counts.ensure_counters(database)
    try:
        yield database
    finally:
        await client.drop_database(database.db.name)
        await client.close()


def _retries() -> float:
    return REGISTRY.get_sample_value("mongo_transaction_retries_total") or 0.0


async def actual(db: Database) -> dict[str, int]:
    return {s.value: await db[CLAIMS].count_documents({"status": s.value}) for s in Status}


async def move(db: Database, repo: ClaimRepository, claim_id: str, to: Status) -> None:
    async def work(tx: Tx) -> None:
        claim = await repo.get(tx, claim_id)
        assert claim is not None
        claim.status = to
        assert await repo.save(tx, claim)

    await db.transaction(work)


async def test_counters_follow_claims_through_concurrent_transactions(db: Database) -> None:
    repo = ClaimRepository()
    claims = [new_claim(n) for n in range(24)]

    async def submit(claim: Claim) -> None:
        await db.transaction(lambda tx: repo.add(tx, claim))

    retried = _retries()
    await asyncio.gather(*(submit(c) for c in claims))
    # 24 transactions of one process at once, each on a slot of its own: none met another on a counter.
    assert _retries() == retried
    await asyncio.gather(*(move(db, repo, c.claim_id, Status.VERIFYING) for c in claims[:16]))
    await asyncio.gather(
        *(move(db, repo, c.claim_id, Status.REJECTED) for c in claims[:5]),
        *(move(db, repo, c.claim_id, Status.APPROVED) for c in claims[5:16]),
    )
    counted = await status_counts.counts(db)
    assert counted == await actual(db)
    assert (counted["SUBMITTED"], counted["REJECTED"], counted["APPROVED"]) == (8, 5, 11)


def _updates_sent(collection: str) -> float:
    """The update commands this process has sent to `collection` (jmo_shared.mongo counts them)."""
    return REGISTRY.get_sample_value("mongo_commands_total", {"command": "update", "collection": collection}) or 0.0


async def test_one_transaction_moving_many_claims_writes_the_counters_once(db: Database) -> None:
    repo = ClaimRepository()
    claims = [new_claim(n) for n in range(6)]
    for claim in claims:
        await db.transaction(lambda tx, claim=claim: repo.add(tx, claim))

    async def batch(tx: Tx) -> None:  # as a consumer batch applies several events of several claims
        await repo.read_ahead(tx, [claim.claim_id for claim in claims])
        for claim in claims:
            fetched = await repo.get(tx, claim.claim_id)
            assert fetched is not None
            fetched.status = Status.VERIFYING
            assert await repo.save(tx, fetched)
        for claim in claims[:2]:
            fetched = await repo.get(tx, claim.claim_id)
            assert fetched is not None
            fetched.status = Status.APPROVED
            assert await repo.save(tx, fetched)

    counters_before, claims_before = _updates_sent(CLAIM_STATUS_COUNTS), _updates_sent(CLAIMS)
    await db.transaction(batch)
    assert _updates_sent(CLAIM_STATUS_COUNTS) - counters_before == 1
    # The claims' replaces are staged: the six of the first round go in one command, sent when a claim is
    # read again (its read-ahead copy was taken); each of the two after, when the next read or the end comes.
    assert _updates_sent(CLAIMS) - claims_before == 3
    counted = await status_counts.counts(db)
    assert counted == await actual(db)
    assert (counted["SUBMITTED"], counted["VERIFYING"], counted["APPROVED"]) == (0, 4, 2)


async def test_a_refused_save_moves_no_counter(db: Database) -> None:
    repo = ClaimRepository()
    claim = new_claim(1)
    await db.transaction(lambda tx: repo.add(tx, claim))

    async def stale(tx: Tx) -> bool:
        fetched = await repo.get(tx, claim.claim_id)
        assert fetched is not None
        fetched.status = Status.REJECTED
        return await repo.save(tx, fetched, expect_status=Status.VERIFYING)  # it is SUBMITTED

    assert await db.transaction(stale) is False
    assert await status_counts.counts(db) == await actual(db)


async def test_reconcile_seeds_claims_from_before_the_counters_and_corrects_drift(db: Database) -> None:
    # Claims stored by a version without counters (or before them): counted by none.
    for n, status in enumerate([Status.PAID] * 3 + [Status.NEEDS_REVIEW]):
        claim = new_claim(n)
        claim.status = status
        await db[CLAIMS].insert_one(claim_to_doc(claim))
    assert (await status_counts.counts(db))["PAID"] == 0
    corrections = await status_counts.reconcile(db)
    assert corrections["PAID"] == 3 and corrections["NEEDS_REVIEW"] == 1
    assert await status_counts.counts(db) == await actual(db)

    # Moves after the reconciliation keep them exact; a second reconciliation changes nothing.
    repo = ClaimRepository()
    claim = new_claim(9)
    await db.transaction(lambda tx: repo.add(tx, claim))
    await move(db, repo, claim.claim_id, Status.VERIFYING)
    assert await status_counts.counts(db) == await actual(db)
    assert set((await status_counts.reconcile(db)).values()) == {0}
