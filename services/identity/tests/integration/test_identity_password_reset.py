"""Password change (signed in) and reset by code (signed out, also the unlock path), through the HTTP API."""

from __future__ import annotations

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]

CHANGE = "/v1/accounts/me/password"
RESET = "/v1/auth/password-reset"
RESET_CONFIRM = "/v1/auth/password-reset/confirm"
NEW_PASSWORD = "gado-gado Rabu sore 7"


def e164(phone: str) -> str:
    return "+62" + phone[1:]


async def login(api, email: str, password: str):
    return await api.post("/v1/auth/login", json={"email": email, "password": password})


async def refresh(api, token: str):
    return await api.post("/v1/auth/refresh", json={"refresh_token": token})


async def confirm_email(api, person, outbox) -> None:
    code = await outbox.code(person.email, "confirm_contact")
    resp = await api.post(
        "/v1/accounts/me/contact/verifications/confirm", headers=person.auth, json={"channel": "email", "code": code}
    )
    assert resp.status_code == 200, resp.text


def comparable(resp) -> tuple:
    return resp.status_code, {k: v for k, v in resp.json().items() if k != "correlation_id"}


async def test_a_password_change_needs_the_current_one_and_ends_every_other_login(api, enrol):
    person = await enrol()
    other_device = (await login(api, person.email, person.password)).json()

    wrong = await api.post(
        CHANGE, headers=person.auth, json={"current_password": "not-the-password-9", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "current_password_wrong"
    weak = await api.post(
        CHANGE, headers=person.auth, json={"current_password": person.password, "new_password": "password123"}
    )
    assert weak.status_code == 422 and weak.json()["errors"][0] == {
        "field": "new_password",
        "code": "too_common",
        "message": "this password is too common; choose another",
    }
    same = await api.post(
        CHANGE, headers=person.auth, json={"current_password": person.password, "new_password": person.password}
    )
    assert same.status_code == 422 and same.json()["code"] == "password_unchanged"

    changed = await api.post(
        CHANGE, headers=person.auth, json={"current_password": person.password, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert fresh["access_token"] and fresh["refresh_token"]

    # Both earlier logins are over; the pair the change returned goes on.
    for token in (person.tokens["refresh_token"], other_device["refresh_token"]):
        ended = await refresh(api, token)
        assert ended.status_code == 401 and ended.json()["code"] == "refresh_token_revoked"
    assert (await refresh(api, fresh["refresh_token"])).status_code == 200
    assert (await login(api, person.email, person.password)).status_code == 401
    assert (await login(api, person.email, NEW_PASSWORD)).status_code == 200


async def test_reset_answers_alike_whether_or_not_the_account_exists(api, enrol, outbox):
    person = await enrol()
    await confirm_email(api, person, outbox)

    known = await api.post(RESET, json={"email": person.email})
    unknown = await api.post(RESET, json={"email": "nobody." + person.email})
    assert known.status_code == 202
    assert comparable(known) == comparable(unknown)
    assert await outbox.messages(person.email, "password_reset")
    assert not await outbox.messages("nobody." + person.email)


async def test_reset_codes_go_only_to_confirmed_contacts(api, enrol, outbox):
    person = await enrol()  # neither contact confirmed
    resp = await api.post(RESET, json={"email": person.email})
    assert resp.status_code == 202
    assert not await outbox.messages(person.email, "password_reset")
    assert not await outbox.messages(e164(person.phone), "password_reset")

    await confirm_email(api, person, outbox)
    await api.post(RESET, json={"email": person.email})
    assert len(await outbox.messages(person.email, "password_reset")) == 1
    assert not await outbox.messages(e164(person.phone), "password_reset")  # still unconfirmed


async def test_a_reset_sets_the_password_and_ends_every_session(api, enrol, outbox):
    person = await enrol()
    await confirm_email(api, person, outbox)
    await api.post(RESET, json={"email": person.email})
    code = await outbox.code(person.email, "password_reset")

    wrong = await api.post(
        RESET_CONFIRM,
        json={"email": person.email, "code": f"{(int(code) + 1) % 10**6:06d}", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "code_invalid"
    stranger = await api.post(
        RESET_CONFIRM, json={"email": "x." + person.email, "code": code, "new_password": NEW_PASSWORD}
    )
    assert comparable(stranger) == comparable(wrong)
    weak = await api.post(RESET_CONFIRM, json={"email": person.email, "code": code, "new_password": "12345678901"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"

    done = await api.post(RESET_CONFIRM, json={"email": person.email, "code": code, "new_password": NEW_PASSWORD})
    assert done.status_code == 204, done.text
    ended = await refresh(api, person.tokens["refresh_token"])
    assert ended.status_code == 401 and ended.json()["code"] == "refresh_token_revoked"
    assert (await login(api, person.email, NEW_PASSWORD)).status_code == 200
    reused = await api.post(
        RESET_CONFIRM, json={"email": person.email, "code": code, "new_password": "x" + NEW_PASSWORD}
    )
    assert reused.status_code == 422


async def test_the_lock_names_its_unlock_path_and_a_reset_lifts_it(api, enrol, outbox):
    person = await enrol()
    await confirm_email(api, person, outbox)
    for _ in range(5):
        assert (await login(api, person.email, "wrong-password-x")).status_code == 401
    locked = await login(api, person.email, person.password)
    assert locked.status_code == 423
    assert "/v1/auth/password-reset" in locked.json()["detail"] and locked.json()["unlock"] == "password_reset"

    # The lock also guards the password change: a stolen session cannot guess on around it.
    blocked = await api.post(
        CHANGE, headers=person.auth, json={"current_password": person.password, "new_password": NEW_PASSWORD}
    )
    assert blocked.status_code == 423

    assert (await api.post(RESET, json={"email": person.email})).status_code == 202
    code = await outbox.code(person.email, "password_reset")
    done = await api.post(RESET_CONFIRM, json={"email": person.email, "code": code, "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    assert (await login(api, person.email, NEW_PASSWORD)).status_code == 200


async def test_wrong_current_passwords_count_towards_the_lock(api, enrol):
    person = await enrol()
    for _ in range(5):
        resp = await api.post(
            CHANGE, headers=person.auth, json={"current_password": "guess-guess-1", "new_password": NEW_PASSWORD}
        )
        assert resp.status_code == 422
    assert (await login(api, person.email, person.password)).status_code == 423
