"""Login, tokens, the lock after failures, refresh rotation and reuse detection, the JWKS."""

from __future__ import annotations

import json

import pytest

from jmo_identity.entrypoints.api import create_api
from jmo_shared.auth import JwksVerifier
from jmo_shared.errors import DomainError

pytestmark = [
    pytest.mark.integration,
    # The API loads the face engine at start; insightface calls a deprecated skimage API.
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]


@pytest.fixture
async def member(api, feed, people, register_when_known):
    person = people()
    await feed(*person.card_events(), person.person_event())
    resp = await register_when_known(person.registration())
    assert resp.status_code == 201, resp.text
    person.member_id = resp.json()["member_id"]
    return person


async def login(api, email, password):
    return await api.post("/v1/auth/login", json={"email": email, "password": password})


def comparable(resp) -> tuple:
    body = {k: v for k, v in resp.json().items() if k != "correlation_id"}
    return resp.status_code, body, resp.headers.get("www-authenticate")


async def test_login_issues_an_es256_token_that_the_jwks_verifies(api, member, identity_settings):
    resp = await login(api, member.email.upper(), member.password)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600 and body["refresh_token"]

    jwks = (await api.get("/.well-known/jwks.json")).json()
    verifier = JwksVerifier(
        None, identity_settings.jwt_issuer, identity_settings.jwt_audience, static_jwks=json.dumps(jwks)
    )
    principal = await verifier.verify(body["access_token"])
    assert principal.member_id == member.member_id and principal.nik == member.nik
    assert principal.roles == frozenset({"member"}) and principal.token_id

    import jwt

    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 600
    assert all("d" not in k for k in jwks["keys"])  # never the private half


async def test_a_token_from_another_issuer_is_refused(api, member, identity_settings):
    from jmo_shared.testing import TokenIssuer

    forged = TokenIssuer().headers(member.member_id, member.nik)
    resp = await api.post(
        "/v1/biometrics/verifications",
        headers=forged,
        files={"selfie": ("s.jpg", b"x", "image/jpeg")},
        data={"purpose": "claim"},
    )
    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"


async def test_wrong_password_and_unknown_email_answer_alike(api, member):
    wrong = await login(api, member.email, "not-the-password-1")
    unknown = await login(api, "nobody." + member.email, "not-the-password-1")
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    assert comparable(wrong) == comparable(unknown)


async def test_five_failures_lock_the_login_for_a_while(api, member):
    for _ in range(5):
        assert (await login(api, member.email, "wrong-password-x")).status_code == 401

    locked = await login(api, member.email, member.password)  # even the right password waits
    assert locked.status_code == 423
    problem = locked.json()
    assert problem["code"] == "account_locked" and "minute" in problem["detail"]
    assert 0 < problem["retry_after"] <= 900
    assert int(locked.headers["retry-after"]) == problem["retry_after"]


async def test_an_unknown_email_locks_the_same_way(api):
    email = "ghost-lock@example.com"
    for _ in range(5):
        assert (await login(api, email, "wrong-password-x")).status_code == 401
    assert (await login(api, email, "wrong-password-x")).json()["code"] == "account_locked"


async def test_a_success_clears_earlier_failures(api, member):
    for _ in range(4):
        await login(api, member.email, "wrong-password-x")
    assert (await login(api, member.email, member.password)).status_code == 200
    for _ in range(4):
        await login(api, member.email, "wrong-password-x")
    assert (await login(api, member.email, member.password)).status_code == 200


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(api, member):
    first = (await login(api, member.email, member.password)).json()

    second = await api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    third = (await api.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})).json()

    # The spent first token again: a thief or a replay. The whole login ends.
    reused = await api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
    newest = await api.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert newest.status_code == 401 and newest.json()["code"] == "refresh_token_revoked"

    # Another login (another family) is untouched.
    other = (await login(api, member.email, member.password)).json()
    assert (await api.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 200


async def test_logout_ends_the_family(api, member):
    tokens = (await login(api, member.email, member.password)).json()
    rotated = (await api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()

    out = await api.post("/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    assert out.status_code == 204
    after = await api.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401 and after.json()["code"] == "refresh_token_revoked"
    # Logging out twice, or with a token we never issued, is not an error.
    assert (await api.post("/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})).status_code == 204
    assert (await api.post("/v1/auth/logout", json={"refresh_token": "never-issued"})).status_code == 204


async def test_an_unknown_refresh_token_is_refused(api):
    resp = await api.post("/v1/auth/refresh", json={"refresh_token": "never-issued"})
    assert resp.status_code == 401 and resp.json()["code"] == "invalid_refresh_token"


async def test_a_restart_keeps_the_signing_key(api, member, identity_settings, run_app):
    token = (await login(api, member.email, member.password)).json()["access_token"]
    async with run_app(create_api(identity_settings)) as restarted:
        jwks = (await restarted.get("/.well-known/jwks.json")).json()
    verifier = JwksVerifier(
        None, identity_settings.jwt_issuer, identity_settings.jwt_audience, static_jwks=json.dumps(jwks)
    )
    assert (await verifier.verify(token)).member_id == member.member_id


async def test_a_configured_pem_key_becomes_current_and_the_previous_stays_published(
    api, member, identity_settings, run_app
):
    from cryptography.hazmat.primitives.asymmetric import ec

    from jmo_identity.adapters.signing import private_pem

    old_token = (await login(api, member.email, member.password)).json()["access_token"]
    pem = private_pem(ec.generate_private_key(ec.SECP256R1()))
    rotated_settings = identity_settings.model_copy(update={"signing_key_pem": pem})
    async with run_app(create_api(rotated_settings)) as rotated:
        new_token = (await login(rotated, member.email, member.password)).json()["access_token"]
        jwks = (await rotated.get("/.well-known/jwks.json")).json()
    assert len(jwks["keys"]) == 2
    verifier = JwksVerifier(
        None, identity_settings.jwt_issuer, identity_settings.jwt_audience, static_jwks=json.dumps(jwks)
    )
    assert (await verifier.verify(old_token)).member_id == member.member_id
    assert (await verifier.verify(new_token)).member_id == member.member_id
    with pytest.raises(DomainError):
        await verifier.verify(new_token[:-4] + "AAAA")
