"""A database that is away or overloaded answers 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure, ServerSelectionTimeoutError

from jmo_shared.http import create_app, database_unavailable
from jmo_shared.mongo import Tx


def _app(error: Exception):
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise error

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    return create_app(title="t", description="t", lifespan=lifespan, routers=[router])


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("connection closed"),
        ServerSelectionTimeoutError("no primary"),
        OperationFailure("write conflict", code=112),
    ],
)
async def test_a_transient_database_error_is_a_503_with_retry_after(error: Exception) -> None:
    transport = httpx.ASGITransport(app=_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/boom")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "1"
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "service_busy"


async def test_any_other_database_error_stays_a_500_and_is_logged() -> None:
    transport = httpx.ASGITransport(app=_app(DuplicateKeyError("E11000")), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/boom")
    assert resp.status_code == 500
    assert resp.json()["code"] == "internal_error"


def test_transient_labels_count_as_unavailable() -> None:
    labelled = OperationFailure("conflict", code=251, details={"errorLabels": ["TransientTransactionError"]})
    assert database_unavailable(labelled)
    assert not database_unavailable(OperationFailure("bad query", code=2))


async def test_a_write_conflict_is_counted_with_its_collection_and_the_transaction_run_again(database) -> None:
    """Two transactions write one document: the one that loses is counted and run again whole."""
    coll = f"conflicts_{database.db.name[-6:]}"
    await database.ensure_collections(coll)
    await database.db[coll].insert_one({"_id": "hot", "n": 0})
    labels = {"command": "update", "collection": coll, "code": "WriteConflict"}
    failed_before = REGISTRY.get_sample_value("mongo_command_failures_total", labels) or 0.0
    retried_before = REGISTRY.get_sample_value("mongo_transaction_retries_total") or 0.0
    first_wrote, second_wrote, first_committed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    attempts = 0

    async def first(tx: Tx) -> None:
        await tx[coll].update_one({"_id": "hot"}, {"$inc": {"n": 1}}, session=tx.session)
        first_wrote.set()
        await asyncio.wait_for(second_wrote.wait(), 10)  # held open while the other one writes

    async def second(tx: Tx) -> None:
        nonlocal attempts
        attempts += 1
        await (first_wrote if attempts == 1 else first_committed).wait()
        try:
            await tx[coll].update_one({"_id": "hot"}, {"$inc": {"n": 10}}, session=tx.session)
        finally:
            second_wrote.set()

    async def run_first() -> None:
        await database.transaction(first)
        first_committed.set()

    await asyncio.gather(run_first(), database.transaction(second))
    assert attempts == 2
    assert (await database.db[coll].find_one({"_id": "hot"}))["n"] == 11
    assert (REGISTRY.get_sample_value("mongo_command_failures_total", labels) or 0.0) == failed_before + 1
    assert (REGISTRY.get_sample_value("mongo_transaction_retries_total") or 0.0) == retried_before + 1


async def test_every_answer_is_timed_by_command_failures_included(database) -> None:
    """mongo_command_seconds: the time from sending each command to its answer, refused ones too."""
    coll = f"timed_{database.db.name[-6:]}"
    await database.db[coll].insert_one({"_id": "one"})

    def timed(command: str) -> tuple[float, float]:
        count = REGISTRY.get_sample_value("mongo_command_seconds_count", {"command": command}) or 0.0
        total = REGISTRY.get_sample_value("mongo_command_seconds_sum", {"command": command}) or 0.0
        return count, total

    finds_before, find_seconds_before = timed("find")
    for _ in range(3):
        assert await database.db[coll].find_one({"_id": "one"}) is not None
    finds_after, find_seconds_after = timed("find")
    assert finds_after == finds_before + 3
    assert find_seconds_after > find_seconds_before  # a round trip over a socket takes some time
    inserts_before, _ = timed("insert")
    with pytest.raises(DuplicateKeyError):
        await database.db[coll].insert_one({"_id": "one"})
    assert timed("insert")[0] == inserts_before + 1
