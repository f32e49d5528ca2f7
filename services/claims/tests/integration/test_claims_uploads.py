"""Request bodies are limited while they stream, over a real socket: chunked uploads included.

httpx's ASGITransport hands the app the whole body at once and no transfer encoding, so these
tests serve the API with uvicorn on a free port. httpx reads the answer only once it has sent the
body, so a streamed body stops (closes its last part) once the server has answered: how much was
sent by then is how much the server needed before refusing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from claims_support import PNG, Claimant
from fastapi import FastAPI

from jmo_claims.entrypoints.api import create_api
from jmo_claims.settings import ClaimsSettings
from jmo_shared import httpclient
from jmo_shared.testing import serve_http

pytestmark = pytest.mark.integration

MAX_DOCUMENT = 1024 * 1024
MAX_JSON = 16 * 1024
CHUNK = 64 * 1024
# What the client may have written before it notices the refusal: socket buffers on both sides.
IN_FLIGHT = 8 * 1024 * 1024
ENDLESS = 64 * 1024 * 1024


class Answered:
    """ASGI wrapper noting when the app starts its answer (the server runs in the test's event loop)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.event = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        async def noting(message) -> None:
            if message["type"] == "http.response.start":
                self.event.set()
            await send(message)

        await self.app(scope, receive, noting)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(infra, token_issuer):
    db = f"t_claims_up_{uuid.uuid4().hex[:10]}"
    settings = ClaimsSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=token_issuer.jwks(),
        staff_jwks_json=token_issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
        document_max_bytes=MAX_DOCUMENT,
        max_json_body_bytes=MAX_JSON,
    )
    app = Answered(create_api(settings))
    async with serve_http(app) as url, httpclient.async_client(base_url=url, timeout=60) as client:
        yield Api(client, app.event)


class Api:
    def __init__(self, client: httpx.AsyncClient, answered: asyncio.Event) -> None:
        self.client, self.answered = client, answered

    def streamed(self, head: bytes, filler_bytes: int, tail: bytes = b"") -> Streamed:
        self.answered.clear()
        return Streamed(head, filler_bytes, tail, self.answered)


class Streamed:
    """A body sent in chunks without a Content-Length (httpx: Transfer-Encoding: chunked), whose
    filler stops once the server has answered."""

    def __init__(self, head: bytes, filler_bytes: int, tail: bytes, answered: asyncio.Event) -> None:
        self.head, self.filler_bytes, self.tail, self.answered = head, filler_bytes, tail, answered
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.sent = len(self.head)
        yield self.head
        left = self.filler_bytes
        while left > 0 and not self.answered.is_set():
            chunk = b"\0" * min(CHUNK, left)
            self.sent += len(chunk)
            left -= len(chunk)
            yield chunk
            await asyncio.sleep(0)  # the server, in this event loop, reads what was sent
        self.sent += len(self.tail)
        yield self.tail


def document_form(api: Api, kind: str, boundary: str, filler_bytes: int) -> Streamed:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="ktp.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + PNG
    return api.streamed(head, filler_bytes, f"\r\n--{boundary}--\r\n".encode())


def form_headers(token_headers: dict[str, str], boundary: str) -> dict[str, str]:
    return {**token_headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_a_chunked_upload_past_the_limit_is_refused_without_reading_the_rest(api, token_issuer) -> None:
    m = Claimant()
    boundary = uuid.uuid4().hex
    body = document_form(api, "ktp", boundary, ENDLESS)
    resp = await api.client.post(
        "/v1/claims/documents", content=body, headers=form_headers(m.headers(token_issuer), boundary)
    )
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "file_too_large"
    assert body.sent < MAX_DOCUMENT + IN_FLIGHT, f"the server read {body.sent} bytes of an endless upload"


async def test_a_chunked_upload_within_the_limit_is_stored(api, token_issuer) -> None:
    m = Claimant()
    boundary = uuid.uuid4().hex
    body = document_form(api, "ktp", boundary, MAX_DOCUMENT - len(PNG) - 1)
    resp = await api.client.post(
        "/v1/claims/documents", content=body, headers=form_headers(m.headers(token_issuer), boundary)
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["size"] == MAX_DOCUMENT - 1


async def test_a_declared_length_past_the_limit_is_refused_before_reading(api, token_issuer) -> None:
    m = Claimant()
    resp = await api.client.post(
        "/v1/claims/documents",
        headers=m.headers(token_issuer),
        files={"file": ("ktp.png", PNG + b"\0" * (2 * MAX_DOCUMENT), "image/png")},
        data={"kind": "ktp"},
    )
    assert (resp.status_code, resp.json()["code"]) == (413, "file_too_large")


async def test_a_json_body_past_its_limit_is_refused_chunked_or_not(api, token_issuer) -> None:
    m = Claimant()
    headers = {**m.headers(token_issuer), "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    padding = b" " * (4 * MAX_JSON)
    chunked = api.streamed(b'{"reason": "resignation",', ENDLESS, b"}")
    resp = await api.client.post("/v1/claims", content=chunked, headers=headers)
    assert (resp.status_code, resp.json()["code"]) == (413, "request_too_large"), resp.text
    assert chunked.sent < MAX_JSON + IN_FLIGHT
    declared = await api.client.post(
        "/v1/claims", content=b'{"reason": "resignation"' + padding + b"}", headers=headers
    )
    assert (declared.status_code, declared.json()["code"]) == (413, "request_too_large")
