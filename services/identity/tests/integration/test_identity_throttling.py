"""Throttling by client address (login failures, reset requests, recovery attempts), through the HTTP API.

Requests come from the in-process ASGI client 127.0.0.1, configured here as a
trusted proxy, so X-Forwarded-For names the client; a peer that is not a
trusted proxy is throttled by its own address whatever header it sends.
"""

from __future__ import annotations

import uuid

import pytest

from jmo_shared.testing import distinct_addresses

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]


@pytest.fixture(scope="module")
def settings_overrides() -> dict:
    return {
        "trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"],
        "client_login_max_failures": 3,
        "client_reset_max_requests": 2,
        "client_recovery_max_attempts": 2,
    }


# TEST-NET-2: never a real client; each address once, so no test inherits another's refusals.
address = distinct_addresses("198.51.100")


def via(client_ip: str, proxy: str = "10.1.2.3") -> dict[str, str]:
    # What the edge proxy (10.1.2.3) forwards: the client it saw, then itself.
    return {"X-Forwarded-For": f"{client_ip}, {proxy}"}


def someone() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


async def login(api, headers: dict, email: str | None = None, password: str = "wrong-password-1"):
    return await api.post("/v1/auth/login", json={"email": email or someone(), "password": password}, headers=headers)


async def test_failed_logins_from_one_address_are_throttled_across_emails(api, enrol):
    person = await enrol()
    guesser, bystander = address(), address()
    for _ in range(3):
        assert (await login(api, via(guesser))).status_code == 401

    throttled = await login(api, via(guesser), person.email, person.password)
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["code"] == "too_many_attempts" and 0 < body["retry_after"] <= 900
    assert int(throttled.headers["retry-after"]) == body["retry_after"] and "minute" in body["detail"]

    # Another address, and the member themself, are not held back by it.
    assert (await login(api, via(bystander), person.email, person.password)).status_code == 200
    assert (await login(api, via(bystander))).status_code == 401


async def test_successful_logins_do_not_count(api, enrol):
    person = await enrol()
    office = address()
    for _ in range(5):
        assert (await login(api, via(office), person.email, person.password)).status_code == 200


async def test_a_forged_header_from_an_untrusted_peer_is_ignored(api_from):
    async with api_from(("203.0.113.9", 40000)) as outsider:
        for _ in range(3):
            assert (await login(outsider, via(address()))).status_code == 401
        # A new forged address each time, yet the peer itself is what counts.
        assert (await login(outsider, via(address()))).status_code == 429


async def test_password_reset_requests_are_throttled_by_address(api):
    sender = address()
    for _ in range(2):
        resp = await api.post("/v1/auth/password-reset", json={"email": someone()}, headers=via(sender))
        assert resp.status_code == 202
    resp = await api.post("/v1/auth/password-reset", json={"email": someone()}, headers=via(sender))
    assert resp.status_code == 429 and resp.json()["code"] == "too_many_attempts"
    assert (
        await api.post("/v1/auth/password-reset", json={"email": someone()}, headers=via(address()))
    ).status_code == 202


async def test_recovery_attempts_are_throttled_by_address(api):
    sender = address()
    form = {"nik": "3171011708450001", "birth_date": "1945-08-17", "channel": "phone", "contact": "081234567890"}
    files = {"selfie": ("s.jpg", b"not a photo", "image/jpeg")}
    for _ in range(2):
        resp = await api.post("/v1/accounts/recovery", data=form, files=files, headers=via(sender))
        assert resp.status_code == 422
    resp = await api.post("/v1/accounts/recovery", data=form, files=files, headers=via(sender))
    assert resp.status_code == 429 and resp.json()["retry_after"] > 0
