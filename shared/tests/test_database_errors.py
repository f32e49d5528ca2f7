"""A database that is away or overloaded answers 503 with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure, ServerSelectionTimeoutError

from jmo_shared.http import create_app, database_unavailable


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
