"""Sign-in: PKCE (RFC 7636), the OIDC authorization code flow against a fake provider, and local staff tokens."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from backoffice_fakes import NOW, FakeServices, app_on_fakes, settings_for
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from jmo_backoffice.adapters.oidc import OidcClient, OidcConfig
from jmo_backoffice.adapters.sessions import MemorySessions
from jmo_backoffice.adapters.staff import StaffAccount, StaffTokenIssuer
from jmo_backoffice.domain.pkce import PendingSignIn, s256_challenge, safe_next
from jmo_backoffice.service_layer.signin import SessionPolicy, SignIn, SignInRefused
from jmo_shared.auth import JwksVerifier, TokenVerifier

ISSUER = "https://sso.bpjsketenagakerjaan.test/realms/staff"


def test_s256_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636, appendix B.
    assert (
        s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_a_pending_sign_in_has_a_fresh_verifier_state_and_nonce() -> None:
    first, second = PendingSignIn.start(), PendingSignIn.start()
    assert 43 <= len(first.verifier) <= 128 and re.fullmatch(r"[A-Za-z0-9_-]+", first.verifier)
    assert len({first.state, second.state, first.nonce, second.nonce, first.verifier, second.verifier}) == 6


def test_the_authorization_url_asks_for_a_code_with_an_s256_challenge() -> None:
    pending = PendingSignIn.start("/queue")
    url = pending.authorization_url(
        f"{ISSUER}/protocol/openid-connect/auth",
        "jmo-backoffice",
        "https://backoffice.test/signin/oidc/callback",
        "openid profile",
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.scheme == "https" and parts.path.endswith("/auth")
    assert query == {
        "response_type": "code",
        "client_id": "jmo-backoffice",
        "redirect_uri": "https://backoffice.test/signin/oidc/callback",
        "scope": "openid profile",
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": s256_challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    assert pending.verifier not in url
    exchange = pending.token_request("the-code", "jmo-backoffice", "https://backoffice.test/signin/oidc/callback")
    assert exchange["code_verifier"] == pending.verifier and exchange["grant_type"] == "authorization_code"


@pytest.mark.parametrize(
    "given, kept",
    [
        ("/claims/C1?x=1", "/claims/C1?x=1"),
        ("//evil.test/", "/"),
        ("https://evil.test/", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_returned_to(given, kept) -> None:
    assert safe_next(given) == kept


class FakeProvider:
    """An OpenID provider: discovery, and a token endpoint that checks the PKCE verifier."""

    def __init__(self, roles: list[str]) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.roles = roles
        self.challenges: dict[str, tuple[str, str]] = {}  # code -> (challenge, nonce)
        self.exchanges: list[dict[str, str]] = []

    def jwks(self) -> str:
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        return json.dumps({"keys": [{**jwk, "kid": "idp-1", "alg": "ES256", "use": "sig"}]})

    def authorize(self, url: str) -> str:
        """The provider signs the officer in and sends the browser back with a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["code_challenge_method"] == "S256"
        self.challenges["code-1"] = (query["code_challenge"], query["nonce"])
        return f"/signin/oidc/callback?code=code-1&state={query['state']}"

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                },
            )
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.exchanges.append(form)
        challenge, nonce = self.challenges.pop(form.get("code", ""), (None, None))
        if challenge is None or s256_challenge(form.get("code_verifier", "")) != challenge:
            return httpx.Response(400, json={"error": "invalid_grant"})
        now = datetime.now(UTC)  # PyJWT checks iat against the real time
        access = jwt.encode(
            {
                "iss": "jmo-staff",
                "aud": "jmo-backend",
                "sub": "siti.officer",
                "iat": now,
                "exp": now + timedelta(minutes=5),
                "typ": "access",
                "roles": self.roles,
                "name": "Siti (officer)",
            },
            self.key,
            algorithm="ES256",
            headers={"kid": "idp-1"},
        )
        id_token = jwt.encode(
            {
                "iss": ISSUER,
                "aud": "jmo-backoffice",
                "sub": "siti.officer",
                "nonce": nonce,
                "iat": now,
                "exp": now + timedelta(minutes=5),
            },
            self.key,
            algorithm="ES256",
        )
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "id_token": id_token,
                "expires_in": 300,
                "refresh_token": "r1",
                "token_type": "Bearer",
            },
        )


def oidc_signin(provider: FakeProvider, clock) -> tuple[SignIn, MemorySessions]:
    sessions = MemorySessions()
    client = OidcClient(
        OidcConfig(
            issuer=ISSUER, client_id="jmo-backoffice", redirect_uri="https://backoffice.test/signin/oidc/callback"
        ),
        transport=httpx.MockTransport(provider.handler),
    )
    keys = JwksVerifier(None, "jmo-staff", "jmo-backend", static_jwks=provider.jwks())
    policy = SessionPolicy(timedelta(minutes=30), timedelta(hours=8))
    return SignIn(sessions, clock, policy, oidc=client, staff_keys=keys), sessions


class _Clock:
    def now(self):
        return NOW


async def test_the_oidc_flow_signs_an_officer_in_with_the_providers_token() -> None:
    provider = FakeProvider(["officer"])
    signin, _ = oidc_signin(provider, _Clock())
    url = await signin.start_oidc("/claims/C1")
    callback = parse_qs(urlsplit(provider.authorize(url)).query)
    session, next_path = await signin.finish_oidc(callback["state"][0], callback["code"][0])
    assert (session.user, session.roles, session.display_name, next_path) == (
        "siti.officer",
        frozenset({"officer"}),
        "Siti (officer)",
        "/claims/C1",
    )
    assert provider.exchanges[0]["code_verifier"] and "client_id" in provider.exchanges[0]
    assert await signin.token(session) == session.access_token
    # The state is spent: the same callback again is refused.
    with pytest.raises(SignInRefused, match="unknown_state"):
        await signin.finish_oidc(callback["state"][0], callback["code"][0])


async def test_a_provider_account_without_a_staff_role_is_refused() -> None:
    provider = FakeProvider(["member"])
    signin, _ = oidc_signin(provider, _Clock())
    callback = parse_qs(urlsplit(provider.authorize(await signin.start_oidc(None))).query)
    with pytest.raises(SignInRefused):
        await signin.finish_oidc(callback["state"][0], callback["code"][0])


def test_the_sign_in_page_offers_the_provider_when_oidc_is_set(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        signin="oidc",
        oidc_issuer=ISSUER,
        oidc_client_id="jmo-backoffice",
        oidc_redirect_uri="https://backoffice.test/signin/oidc/callback",
        oidc_authorization_endpoint=f"{ISSUER}/auth",
        oidc_token_endpoint=f"{ISSUER}/token",
        staff_jwks_url=f"{ISSUER}/certs",
    )
    with TestClient(
        app_on_fakes(settings, FakeServices()), base_url="https://backoffice.test", follow_redirects=False
    ) as client:
        page = client.get("/signin?next=/queue")
        assert 'href="/signin/oidc?next=/queue"' in page.text and 'name="password"' not in page.text
        go = client.get("/signin/oidc?next=/queue")
        assert go.status_code == 302
        query = parse_qs(urlsplit(go.headers["location"]).query)
        assert go.headers["location"].startswith(f"{ISSUER}/auth?")
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43


async def test_local_staff_tokens_carry_the_local_stacks_kid_and_the_services_accept_them(tmp_path: Path) -> None:
    from jmo_local.staff import key_id as local_key_id
    from jmo_local.staff import key_path, load_or_create_key, staff_jwks

    load_or_create_key(tmp_path)
    issuer = StaffTokenIssuer(key_path(tmp_path), "jmo-staff", "jmo-backend", timedelta(minutes=15))
    token, _ = issuer.issue(StaffAccount("officer-1", "Officer One", frozenset({"officer"})), datetime.now(UTC))
    assert jwt.get_unverified_header(token)["kid"] == local_key_id(load_or_create_key(tmp_path))
    verifier = TokenVerifier(
        JwksVerifier(None, "jmo-identity", "jmo-mobile", static_jwks='{"keys": []}'),
        JwksVerifier(None, "jmo-staff", "jmo-backend", static_jwks=staff_jwks(tmp_path)),
    )
    principal = await verifier.verify(token)
    assert principal.member_id == "officer-1" and principal.roles == frozenset({"officer"}) and principal.nik is None


def test_the_built_in_sign_in_refuses_to_run_deployed(tmp_path: Path) -> None:
    from jmo_backoffice.bootstrap import build

    with pytest.raises(RuntimeError, match="local runs only"):
        build(settings_for(tmp_path, environment="production"), in_memory=True)


def test_make_runs_seeded_accounts_sign_in_with_their_written_passwords_and_are_made_once(tmp_path: Path) -> None:
    from jmo_backoffice.adapters.staff import StaffAccounts
    from jmo_local.staff import seed_staff_accounts

    accounts_file, passwords_file = seed_staff_accounts(tmp_path)
    passwords = json.loads(passwords_file.read_text())
    assert set(passwords) == {"officer-1", "ops-1"}
    assert passwords_file.stat().st_mode & 0o777 == 0o600 and accounts_file.stat().st_mode & 0o777 == 0o600
    stored = accounts_file.read_text()
    assert passwords["officer-1"] not in stored and "$argon2id$" in stored
    accounts = StaffAccounts(accounts_file)
    assert accounts.check("officer-1", passwords["officer-1"]).roles == frozenset({"officer"})
    assert accounts.check("ops-1", passwords["ops-1"]).roles == frozenset({"ops"})
    assert accounts.check("officer-1", passwords["ops-1"]) is None and accounts.check("nobody", "x") is None
    seed_staff_accounts(tmp_path)
    assert json.loads(passwords_file.read_text()) == passwords
