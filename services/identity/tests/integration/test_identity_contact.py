"""E-mail and phone confirmed by one-time code, and changed, through the HTTP API.

Codes reach the member through identity's notification port; locally the
adapter stores each message in the `notifications` collection, read here.
"""

from __future__ import annotations

import uuid

import pytest

from jmo_shared.events import ContactChanged
from jmo_shared.topics import IDENTITY_EVENTS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]

CODES = "/v1/accounts/me/contact/verifications"
CONFIRM = "/v1/accounts/me/contact/verifications/confirm"
CHANGES = "/v1/accounts/me/contact/changes"


def e164(phone: str) -> str:
    return "+62" + phone[1:]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_registration_sends_a_code_to_the_email_and_the_phone(api, enrol, outbox):
    person = await enrol()

    email_code = await outbox.code(person.email, "confirm_contact")
    phone_code = await outbox.code(e164(person.phone), "confirm_contact")
    assert len(email_code) == 6 and email_code.isdigit() and len(phone_code) == 6
    stored = await outbox.messages(person.email)
    assert email_code in stored[0]["text"] and stored[0]["channel"] == "email"
    # Only the hash is kept with the challenge.
    challenge = await outbox.db["one_time_codes"].find_one({"member_id": person.member_id, "channel": "email"})
    assert email_code not in str(challenge) and challenge["code_hash"]

    me = (await api.get("/v1/accounts/me", headers=person.auth)).json()
    assert me["email_confirmed"] is False and me["phone_confirmed"] is False
    assert {p["channel"] for p in me["pending_confirmations"]} == {"email", "phone"}
    assert me["restricted_until"] is None


async def test_the_right_code_confirms_and_a_wrong_one_uses_a_try(api, enrol, outbox):
    person = await enrol()
    code = await outbox.code(person.email, "confirm_contact")

    bad = await api.post(CONFIRM, headers=person.auth, json={"channel": "email", "code": wrong(code)})
    assert bad.status_code == 422
    assert bad.json()["code"] == "code_invalid" and bad.json()["attempts_left"] == 4
    assert bad.json()["errors"][0]["field"] == "code"

    ok = await api.post(CONFIRM, headers=person.auth, json={"channel": "email", "code": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["email_confirmed"] is True and ok.json()["phone_confirmed"] is False

    again = await api.post(CONFIRM, headers=person.auth, json={"channel": "email", "code": code})
    assert again.status_code == 422 and again.json()["code"] == "code_already_used"
    resend = await api.post(CODES, headers=person.auth, json={"channel": "email"})
    assert resend.status_code == 409 and resend.json()["code"] == "contact_already_confirmed"

    phone_code = await outbox.code(e164(person.phone), "confirm_contact")
    phone = await api.post(CONFIRM, headers=person.auth, json={"channel": "phone", "code": phone_code})
    assert phone.status_code == 200 and phone.json()["phone_confirmed"] is True
    assert phone.json()["pending_confirmations"] == []


async def test_five_wrong_codes_use_the_code_up(api, enrol, outbox):
    person = await enrol()
    code = await outbox.code(e164(person.phone), "confirm_contact")
    for left in (4, 3, 2, 1, 0):
        resp = await api.post(CONFIRM, headers=person.auth, json={"channel": "phone", "code": wrong(code)})
        assert resp.json()["attempts_left"] == left
    spent = await api.post(CONFIRM, headers=person.auth, json={"channel": "phone", "code": code})
    assert spent.status_code == 422 and spent.json()["code"] == "code_attempts_exhausted"


async def test_a_new_code_waits_for_the_cool_down(api, enrol, outbox):
    person = await enrol()
    # Registration just sent one: asking again at once is refused, with the wait.
    soon = await api.post(CODES, headers=person.auth, json={"channel": "phone"})
    assert soon.status_code == 429 and soon.json()["code"] == "code_resend_too_soon"
    assert 0 < soon.json()["retry_after"] <= 60 and soon.headers["retry-after"]
    assert len(await outbox.messages(e164(person.phone))) == 1


async def test_codes_belong_to_their_member(api, enrol, outbox):
    alice, bob = await enrol(), await enrol()
    alices_code = await outbox.code(alice.email, "confirm_contact")
    resp = await api.post(CONFIRM, headers=bob.auth, json={"channel": "email", "code": alices_code})
    assert resp.status_code == 422  # Bob's own challenge, and Alice's code is not its code
    me = (await api.get("/v1/accounts/me", headers=alice.auth)).json()
    assert me["email_confirmed"] is False


async def test_changing_the_email_needs_the_password_and_a_code_to_the_new_address(api, enrol, outbox, tap):
    person = await enrol()
    events = await tap(IDENTITY_EVENTS)
    new_email = f"baru{uuid.uuid4().hex[:10]}@example.co.id"

    no_password = await api.post(
        CHANGES, headers=person.auth, json={"channel": "email", "value": new_email, "password": "not-my-password-1"}
    )
    assert no_password.status_code == 422 and no_password.json()["code"] == "current_password_wrong"
    bad = await api.post(
        CHANGES, headers=person.auth, json={"channel": "email", "value": "not an address", "password": person.password}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "invalid_email"

    sent = await api.post(
        CHANGES, headers=person.auth, json={"channel": "email", "value": new_email.upper(), "password": person.password}
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["sent_to"] == [new_email[:2] + "***@example.co.id"]
    # Until the code comes back the old address stays the account's.
    me = (await api.get("/v1/accounts/me", headers=person.auth)).json()
    assert me["email"] == person.email
    assert me["pending_confirmations"][0]["sent_to"].endswith("@example.co.id")

    code = await outbox.code(new_email, "confirm_contact")
    done = await api.post(CONFIRM, headers=person.auth, json={"channel": "email", "code": code})
    assert done.status_code == 200, done.text
    assert done.json()["email"] == new_email and done.json()["email_confirmed"] is True

    event = await events.find(lambda e: e.type == ContactChanged.event_type and e.subject == person.member_id)
    data = ContactChanged.model_validate(event.data)
    assert (data.email, data.phone, data.cause, data.restricted_until) == (
        new_email,
        e164(person.phone),
        "confirmation",
        None,
    )

    old = await api.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    assert old.status_code == 401
    new = await api.post("/v1/auth/login", json={"email": new_email, "password": person.password})
    assert new.status_code == 200


async def test_an_email_of_another_account_cannot_be_taken(api, enrol):
    alice, bob = await enrol(), await enrol()
    resp = await api.post(
        CHANGES, headers=bob.auth, json={"channel": "email", "value": alice.email, "password": bob.password}
    )
    assert resp.status_code == 409 and resp.json()["code"] == "email_taken"


async def test_contact_routes_need_a_member_token(api):
    resp = await api.post(CODES, json={"channel": "email"})
    assert resp.status_code == 401
    odd = await api.get("/v1/accounts/me", headers={"Authorization": "Bearer nonsense"})
    assert odd.status_code == 401
