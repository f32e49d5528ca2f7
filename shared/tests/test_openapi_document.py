"""create_app's OpenAPI document, on a small app: what each kind of route is documented with, and that
the bearer scheme changes nothing the routes answer (a missing token is still our 401 problem)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.http import PROBLEM, CurrentMember, IdempotencyKey, RequiredIdempotencyKey, create_app

PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    router = APIRouter(prefix="/v1/things", tags=["things"])

    @router.get("")
    async def list_things() -> list[str]:
        return []

    @router.post("", status_code=201)
    async def create_thing(body: Thing, member: CurrentMember, key: RequiredIdempotencyKey = None) -> dict[str, str]:
        if not key:
            raise DomainError(code="idempotency_key_required", detail="send one", kind=ErrorKind.BAD_REQUEST)
        return {"name": body.name}

    @router.put("/{thing_id}")
    async def replace_thing(thing_id: str, body: Thing, member: CurrentMember, key: IdempotencyKey = None) -> Thing:
        return body

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    return create_app("things", "things for tests", lifespan, [router])


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return _app().openapi()


def _op(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method]


def test_security_per_operation(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert _op(doc, "get", "/v1/things")["security"] == []
    assert _op(doc, "get", "/healthz")["security"] == []
    assert _op(doc, "post", "/v1/things")["security"] == [{"bearerAuth": []}]


def test_operation_ids_are_the_route_names_in_camel_case(doc: dict[str, Any]) -> None:
    assert _op(doc, "get", "/v1/things")["operationId"] == "listThings"
    assert _op(doc, "post", "/v1/things")["operationId"] == "createThing"
    assert _op(doc, "put", "/v1/things/{thing_id}")["operationId"] == "replaceThing"
    assert _op(doc, "get", "/readyz")["operationId"] == "checkReadiness"


def test_errors_are_problems_with_the_statuses_an_operation_can_answer(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(doc)
    assert set(_op(doc, "get", "/v1/things")["responses"]) == {"200", "503"}
    create = _op(doc, "post", "/v1/things")["responses"]
    assert set(create) == {"201", "400", "401", "403", "409", "413", "422", "503"}
    assert set(_op(doc, "put", "/v1/things/{thing_id}")["responses"]) >= {"404", "409", "422"}
    for status, response in create.items():
        if status != "201":
            assert response["content"] == PROBLEM_CONTENT and response["description"], status
    problem = doc["components"]["schemas"]["Problem"]
    assert {"code", "errors", "hint", "correlation_id"} <= set(problem["properties"])
    assert _op(doc, "get", "/readyz")["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }


def test_a_required_idempotency_key_is_required_in_the_document_only(doc: dict[str, Any]) -> None:
    [required] = _op(doc, "post", "/v1/things")["parameters"]
    assert (required["name"], required["in"], required["required"]) == ("Idempotency-Key", "header", True)
    assert required["schema"]["type"] == "string"
    [optional] = [p for p in _op(doc, "put", "/v1/things/{thing_id}")["parameters"] if p["in"] == "header"]
    assert optional.get("required", False) is False


async def test_the_document_changes_no_answer() -> None:
    app = _app()
    app.state.verifier = None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        unauthenticated = await client.post("/v1/things", json={"name": "x"})
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["code"] == "missing_token"
        assert unauthenticated.headers["content-type"] == PROBLEM
        assert (await client.get("/v1/things")).json() == []
