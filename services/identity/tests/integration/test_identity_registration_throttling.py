"""Registration is not an open lookup: refused registrations are limited per client address and per NIK.

A refusal (not_in_registry, registry_mismatch) tells which NIK, KPJ, name and birth date go
together, so past a few of them the answer is 429 whatever the data. Requests come from the
in-process ASGI client 127.0.0.1, a trusted proxy here, so X-Forwarded-For names the client.
The tests wait for the registry projection in identity's database: asking to register before
it arrived would itself be a refusal.
"""

from __future__ import annotations

import re

import pytest

from jmo_shared.testing import distinct_addresses, eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]

ADDRESS_LIMIT = 3
NIK_LIMIT = 2


@pytest.fixture(scope="module")
def settings_overrides() -> dict:
    return {
        "trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"],
        "client_registration_max_refusals": ADDRESS_LIMIT,
        "registration_nik_max_refusals": NIK_LIMIT,
    }


# TEST-NET-3: never a real client; each address once, so no test inherits another's refusals.
address = distinct_addresses("203.0.113")


def via(client_ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"{client_ip}, 10.1.2.3"}


@pytest.fixture
def known(feed, outbox, people):
    """A person both registries know, once identity has projected them."""

    async def make():
        person = people(cards=1)
        await feed(*person.card_events(), person.person_event())

        async def projected() -> bool:
            doc = await outbox.db["registry"].find_one({"_id": person.nik}) or {}
            return bool(doc.get("cards") and doc.get("person"))

        await eventually(projected, timeout=90, interval=0.3, message="registry projection")
        return person

    return make


def codes(resp) -> dict[str, str]:
    return {e["field"]: e["code"] for e in resp.json()["errors"]}


def refusals(metrics: str) -> dict[str, float]:
    found = re.findall(r'^identity_registration_refusals_total\{reason="(\w+)"\} (\S+)$', metrics, re.MULTILINE)
    return {reason: float(value) for reason, value in found}


async def test_refused_registrations_from_one_address_are_throttled(api, known, people) -> None:
    member = await known()
    prober, bystander = address(), address()
    before = refusals((await api.get("/metrics")).text)
    # Guesses at NIKs the registries do not know: each one refused, and counted for the address.
    for _ in range(ADDRESS_LIMIT):
        resp = await api.post("/v1/accounts", json=people().registration(), headers=via(prober))
        assert resp.status_code == 422 and resp.json()["code"] == "not_in_registry"

    throttled = await api.post("/v1/accounts", json=member.registration(), headers=via(prober))
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["code"] == "too_many_attempts" and 0 < body["retry_after"] <= 3600
    assert int(throttled.headers["retry-after"]) == body["retry_after"] and "network" in body["detail"]
    assert body["errors"] == []  # nothing about the data

    # Another address is not held back by it: the member registers.
    assert (await api.post("/v1/accounts", json=member.registration(), headers=via(bystander))).status_code == 201
    after = refusals((await api.get("/metrics")).text)
    assert after["not_in_registry"] - before.get("not_in_registry", 0) >= ADDRESS_LIMIT
    assert after["client_address_limit"] - before.get("client_address_limit", 0) >= 1


async def test_refused_registrations_for_one_nik_are_throttled_across_addresses(api, known) -> None:
    member = await known()
    # Within the limit a member who mistyped is told which field to correct.
    typo = await api.post(
        "/v1/accounts", json=member.registration(full_name=member.full_name + " Putra"), headers=via(address())
    )
    assert typo.status_code == 422 and codes(typo) == {"full_name": "name_differs"}
    for _ in range(NIK_LIMIT - 1):
        wrong_date = member.birth_date.replace(year=member.birth_date.year - 1).isoformat()
        resp = await api.post("/v1/accounts", json=member.registration(birth_date=wrong_date), headers=via(address()))
        assert resp.status_code == 422 and codes(resp) == {"birth_date": "birth_date_differs"}

    # A new address does not help: the NIK has had its refusals for now, whatever the data.
    fresh = address()
    throttled = await api.post("/v1/accounts", json=member.registration(), headers=via(fresh))
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["code"] == "too_many_attempts" and 0 < body["retry_after"] <= 3600 and "NIK" in body["detail"]
    assert int(throttled.headers["retry-after"]) == body["retry_after"]
    assert "nik_limit" in refusals((await api.get("/metrics")).text)
    # The same address registers someone else: the NIK's limit is the NIK's alone.
    other = await known()
    assert (await api.post("/v1/accounts", json=other.registration(), headers=via(fresh))).status_code == 201


async def test_invalid_requests_and_successes_do_not_count(api, known) -> None:
    office = address()
    # Malformed requests are answered without a registry lookup: they tell nothing and count for nothing.
    for _ in range(ADDRESS_LIMIT + 1):
        resp = await api.post(
            "/v1/accounts",
            json={
                "nik": "123",
                "kpj": "x",
                "full_name": "A",
                "birth_date": "1990-01-01",
                "email": "a",
                "phone": "1",
                "password": "p",
            },
            headers=via(office),
        )
        assert resp.status_code == 422 and resp.json()["code"] == "validation_failed"
    for _ in range(ADDRESS_LIMIT + 1):
        member = await known()
        assert (await api.post("/v1/accounts", json=member.registration(), headers=via(office))).status_code == 201
