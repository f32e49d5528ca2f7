"""What a caller and the log see when a request fails: the correlation id of a 500, and 401/503
details in our own words (a library's message is logged, never answered)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI
from pymongo.errors import DuplicateKeyError

from jmo_shared.auth import JwksVerifier
from jmo_shared.http import CurrentMember, create_app
from jmo_shared.logging import configure_logging
from jmo_shared.testing import TokenIssuer

LogLines = Callable[[], list[dict]]


@contextmanager
def service_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[LogLines]:
    """The services' logging configuration for a while; yields a reader of the JSON lines written so far.
    Entered inside the test: pytest's captured stdout is the test's own only there."""
    root_handlers = logging.getLogger().handlers[:]
    configure_logging("test", "INFO")
    # Loggers must not keep this configuration (and the captured stdout) after the test.
    structlog.configure(cache_logger_on_first_use=False)
    try:
        yield lambda: [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        logging.getLogger().handlers[:] = root_handlers


def _app(error: Exception | None = None, verifier: JwksVerifier | None = None) -> FastAPI:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        assert error is not None
        raise error

    @router.get("/mine")
    async def mine(member: CurrentMember) -> dict:
        return {"member_id": member.member_id}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.verifier = verifier
        yield

    return create_app(title="t", description="t", lifespan=lifespan, routers=[router])


async def _get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path, headers=headers)


@pytest.mark.parametrize(
    "error",
    [RuntimeError("pool exhausted at 0x7f3a"), DuplicateKeyError("E11000 nik_1")],
    ids=["unhandled", "database"],
)
@pytest.mark.parametrize("sent", ["caller-chose-this-id", None], ids=["callers_id", "new_id"])
async def test_a_500_carries_its_correlation_id_in_body_header_and_log(
    capsys: pytest.CaptureFixture[str], error: Exception, sent: str | None
) -> None:
    with service_logs(capsys) as log_lines:
        resp = await _get(_app(error), "/boom", {"X-Correlation-ID": sent} if sent else None)
        lines = log_lines()

    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "internal_error"
    cid = resp.headers.get("x-correlation-id")
    assert cid and body.get("correlation_id") == cid and cid == (sent or cid)
    assert str(error) not in resp.text  # what went wrong is for the log
    logged = [line for line in lines if line["event"] == "unhandled_error"]
    assert len(logged) == 1 and logged[0].get("correlation_id") == cid
    assert logged[0]["level"] == "error" and logged[0]["error_type"] == type(error).__name__
    request_line = next(line for line in lines if line["event"] == "http_request")
    assert (request_line["status"], request_line["correlation_id"]) == (500, cid)


def _forged(trusted: TokenIssuer) -> str:
    impostor = TokenIssuer()
    impostor.kid = trusted.kid  # a key id we trust, signed with another key
    return impostor.token("m-1", "3171011506900001")


REFUSED_TOKENS: dict[str, Callable[[TokenIssuer], str]] = {
    "wrong_audience": lambda trusted: trusted.token("m-1", "3171011506900001", aud="jmo-backoffice"),
    "wrong_issuer": lambda trusted: trusted.token("m-1", "3171011506900001", iss="someone-else"),
    "expiry_not_a_time": lambda trusted: trusted.token("m-1", "3171011506900001", exp="tomorrow"),
    "forged_signature": _forged,
}


@pytest.mark.parametrize("case", sorted(REFUSED_TOKENS))
async def test_a_refused_token_is_answered_in_our_words_and_the_reason_is_logged(
    capsys: pytest.CaptureFixture[str], case: str
) -> None:
    trusted = TokenIssuer()
    verifier = JwksVerifier(None, trusted.issuer, trusted.audience, static_jwks=trusted.jwks())
    token = REFUSED_TOKENS[case](trusted)

    with service_logs(capsys) as log_lines:
        resp = await _get(_app(verifier=verifier), "/mine", {"Authorization": f"Bearer {token}"})
        lines = log_lines()

    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    body = resp.json()
    assert body["code"] == "invalid_token"
    assert body["detail"] == "the token is not valid; log in again"
    refused = [line for line in lines if line["event"] == "token_refused"]
    assert len(refused) == 1 and refused[0]["level"] == "info"
    assert refused[0]["reason"] and refused[0]["reason"] not in resp.text


async def test_unreachable_signing_keys_are_a_503_in_our_words(capsys: pytest.CaptureFixture[str]) -> None:
    verifier = JwksVerifier("http://127.0.0.1:1/.well-known/jwks.json", "jmo-identity", "jmo-mobile")
    token = TokenIssuer().token("m-1", "3171011506900001")

    with service_logs(capsys) as log_lines:
        resp = await _get(_app(verifier=verifier), "/mine", {"Authorization": f"Bearer {token}"})
        lines = log_lines()

    assert resp.status_code == 503
    body = resp.json()
    assert body["code"] == "auth_unavailable"
    assert body["detail"] == "tokens cannot be checked right now; try again in a moment"
    failed = [line for line in lines if line["event"] == "jwks_fetch_failed"]
    assert len(failed) == 1 and failed[0]["level"] == "warning" and failed[0]["error"]
    assert failed[0]["error"] not in body["detail"]
