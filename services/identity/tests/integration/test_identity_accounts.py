"""Registration against the registries, through the HTTP API, fed by real Kafka events."""

from __future__ import annotations

import pytest

from jmo_shared.events import AccountRegistered
from jmo_shared.testing import eventually
from jmo_shared.topics import IDENTITY_EVENTS

pytestmark = [
    pytest.mark.integration,
    # The API loads the face engine at start; insightface calls a deprecated skimage API.
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]


def codes(resp) -> dict[str, str]:
    return {e["field"]: e["code"] for e in resp.json()["errors"]}


async def test_a_member_known_to_both_registries_registers_and_accountregistered_is_emitted(
    api, feed, people, register_when_known, tap
):
    person = people()
    events = await tap(IDENTITY_EVENTS)
    # Population record first, cards after, one card twice: the projection copes with any order.
    await feed(person.person_event(), *person.card_events(), person.card_events()[1])

    # Registering with the last card: the cards share a partition (keyed by NIK), so once it is
    # known every card before it is too, and AccountRegistered can carry them all.
    # The worker may have applied the first card but not yet the last (they can come in two batches).
    resp = await register_when_known(
        person.registration(kpj=person.kpjs[-1], full_name=f"  {person.full_name.upper()} "),
        wait_for=("not_in_registry", "registry_mismatch"),
    )

    assert resp.status_code == 201, resp.text
    member_id = resp.json()["member_id"]
    assert len(member_id) == 32 and int(member_id, 16) >= 0
    event = await events.find(lambda e: e.type == AccountRegistered.event_type and e.data["member_id"] == member_id)
    data = AccountRegistered.model_validate(event.data)
    assert data.nik == person.nik
    assert data.kpj_numbers == sorted(person.kpjs)
    assert data.full_name == person.full_name  # the KTP's spelling, not what was typed
    assert data.email == person.email and data.phone == "+62" + person.phone[1:]


async def test_each_field_that_differs_from_the_registries_is_named(api, feed, people, register_when_known):
    person = people()
    await feed(*person.card_events(), person.person_event())

    resp = await register_when_known(
        person.registration(
            kpj="00000000000",
            full_name=person.full_name + " Putra",
            birth_date=person.birth_date.replace(year=person.birth_date.year - 1).isoformat(),
        )
    )

    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "registry_mismatch"
    assert codes(resp) == {
        "kpj": "kpj_not_registered_to_nik",
        "full_name": "name_differs",
        "birth_date": "birth_date_differs",
    }
    assert person.full_name not in resp.text  # registry values are never echoed


@pytest.mark.parametrize(
    ("field", "wrong", "code"),
    [("kpj", "00000000000", "kpj_not_registered_to_nik"), ("full_name", "Someone Else", "name_differs")],
)
async def test_a_single_mismatch_names_only_that_field(api, feed, people, register_when_known, field, wrong, code):
    person = people()
    await feed(*person.card_events(), person.person_event())
    resp = await register_when_known(person.registration(**{field: wrong}))
    assert resp.status_code == 422 and resp.json()["code"] == "registry_mismatch"
    assert codes(resp) == {field: code}


async def test_birth_date_mismatch(api, feed, people, register_when_known):
    person = people()
    await feed(*person.card_events(), person.person_event())
    # Same day and month the NIK encodes, another year: only the registries can tell.
    resp = await register_when_known(
        person.registration(birth_date=person.birth_date.replace(year=person.birth_date.year - 100).isoformat())
    )
    assert resp.status_code == 422 and codes(resp) == {"birth_date": "birth_date_differs"}


async def test_an_unknown_nik_is_not_in_registry(api, people):
    resp = await api.post("/v1/accounts", json=people().registration())
    assert resp.status_code == 422 and resp.json()["code"] == "not_in_registry"
    assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [
        ("nik", "unknown_to_membership_registry"),
        ("nik", "unknown_to_population_registry"),
    ]


async def test_membership_alone_is_not_enough(api, feed, people):
    person = people()
    await feed(*person.card_events())

    async def only_population_missing():
        resp = await api.post("/v1/accounts", json=person.registration())
        return [e["code"] for e in resp.json()["errors"]] == ["unknown_to_population_registry"] and resp

    resp = await eventually(only_population_missing, timeout=90, interval=0.5)
    assert resp.status_code == 422 and resp.json()["code"] == "not_in_registry"


async def test_a_nik_with_an_account_answers_account_exists(api, feed, people, register_when_known):
    person = people()
    await feed(*person.card_events(), person.person_event())
    assert (await register_when_known(person.registration())).status_code == 201

    again = await api.post("/v1/accounts", json=person.registration(email="other." + person.email))
    assert again.status_code == 409 and again.json()["code"] == "account_exists"


async def test_an_email_with_an_account_answers_email_taken(api, feed, people, register_when_known):
    first, second = people(), people()
    await feed(*first.card_events(), first.person_event(), *second.card_events(), second.person_event())
    assert (await register_when_known(first.registration())).status_code == 201

    resp = await register_when_known(second.registration(email=first.email.upper()))
    assert resp.status_code == 409 and resp.json()["code"] == "email_taken"
    assert codes(resp) == {"email": "email_taken"}


async def test_malformed_fields_are_all_reported_before_any_registry_lookup(api, people):
    person = people()
    resp = await api.post(
        "/v1/accounts",
        json=person.registration(
            nik="1234567890123456", phone="021-555-1234", email="not-an-email", password=person.nik
        ),
    )
    assert resp.status_code == 422 and resp.json()["code"] == "validation_failed"
    found = {(e["field"], e["code"]) for e in resp.json()["errors"]}
    assert {
        ("nik", "invalid_nik"),
        ("phone", "invalid_phone"),
        ("email", "invalid_email"),
        ("password", "all_digits"),
    } <= found


@pytest.mark.parametrize(
    ("password", "code"),
    [("short-1", "too_short"), ("12345678901234", "all_digits"), ("qwerty12345", "too_common")],
)
async def test_password_rules_answer_with_their_codes(api, people, password, code):
    resp = await api.post("/v1/accounts", json=people().registration(password=password))
    assert resp.status_code == 422
    assert ("password", code) in {(e["field"], e["code"]) for e in resp.json()["errors"]}


async def test_a_password_containing_the_nik_or_email_is_refused(api, people):
    person = people()
    for password, code in ((f"x{person.nik}x", "contains_nik"), (person.email.split("@")[0] + "-x!", "contains_email")):
        resp = await api.post("/v1/accounts", json=person.registration(password=password))
        assert ("password", code) in {(e["field"], e["code"]) for e in resp.json()["errors"]}


async def test_a_body_that_is_not_json_is_a_422_problem(api):
    resp = await api.post("/v1/accounts", content=b"{nope", headers={"content-type": "application/json"})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_failed"
    resp = await api.post("/v1/accounts", json={"nik": "3171011708450001", "birth_date": "17-08-1945"})
    assert resp.status_code == 422
    assert {"kpj", "birth_date", "password"} <= {e["field"] for e in resp.json()["errors"]}


async def test_operational_endpoints_and_openapi(api, worker):
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await eventually(lambda: _ready(api), timeout=30)
    assert ready["checks"] == {"mongodb": True, "kafka": True}
    assert (await eventually(lambda: _ready(worker), timeout=30))["status"] == "ready"
    assert "http_requests_total" in (await api.get("/metrics")).text
    assert "consumer_events_total" in (await worker.get("/metrics")).text
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/accounts",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/.well-known/jwks.json",
        "/v1/biometrics/verifications",
    } <= set(paths)


async def _ready(client):
    resp = await client.get("/readyz")
    return resp.json() if resp.status_code == 200 else None
