"""Staff tokens for the local stack: the key, its JWKS, and tokens the services' verifier accepts."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from jmo_local.services import process_env, process_specs
from jmo_local.staff import key_path, staff_jwks, staff_token
from jmo_shared.auth import JwksVerifier, TokenVerifier
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.settings import ServiceSettings


def test_the_key_is_made_once_private_and_keeps_its_kid(tmp_path: Path) -> None:
    first = json.loads(staff_jwks(tmp_path))
    second = json.loads(staff_jwks(tmp_path))
    assert first == second
    [jwk] = first["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in jwk  # the public half only
    assert stat.S_IMODE(key_path(tmp_path).stat().st_mode) == 0o600
    assert json.loads(staff_jwks(tmp_path / "other"))["keys"][0]["kid"] != jwk["kid"]


def services_verifier(staff_keys: str) -> TokenVerifier:
    """As every service builds it from the local stack's environment (STAFF_JWKS_JSON)."""
    settings = ServiceSettings()
    return TokenVerifier(
        JwksVerifier(None, settings.jwt_issuer, settings.jwt_audience),
        JwksVerifier(None, settings.staff_jwt_issuer, settings.staff_jwt_audience, static_jwks=staff_keys),
    )


async def test_a_staff_token_is_accepted_by_the_services_verifier_with_its_roles(tmp_path: Path) -> None:
    verifier = services_verifier(staff_jwks(tmp_path))
    principal = await verifier.verify(staff_token(tmp_path, ["ops", "officer"], "siti.ops"))
    assert principal.member_id == "siti.ops"
    assert principal.nik is None  # not a member: member-only routes refuse it
    assert principal.roles == frozenset({"ops", "officer"})


async def test_a_token_from_another_data_dir_is_refused(tmp_path: Path) -> None:
    verifier = services_verifier(staff_jwks(tmp_path / "stack"))
    with pytest.raises(DomainError) as refused:
        await verifier.verify(staff_token(tmp_path / "elsewhere", ["ops"], "mallory"))
    assert refused.value.kind is ErrorKind.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("roles", "sub", "ttl"),
    [([], "a", 60), (["member"], "a", 60), (["ops"], " ", 60), (["ops"], "a", 0), (["ops"], "a", 7200)],
)
def test_bad_requests_for_a_token_are_refused(tmp_path: Path, roles: list[str], sub: str, ttl: int) -> None:
    with pytest.raises(ValueError):
        staff_token(tmp_path, roles, sub, ttl)


def test_every_process_gets_the_staff_jwks_and_a_trace_dir(tmp_path: Path) -> None:
    specs = process_specs()
    envs = [process_env(s, specs, "127.0.0.1:9092", "mongodb://127.0.0.1:27017/", tmp_path) for s in specs]
    assert {e["STAFF_JWKS_JSON"] for e in envs} == {staff_jwks(tmp_path)}
    assert not any("JWKS_JSON" in e for e in envs)  # no static member key: members' come from identity
    assert {e["TRACE_FILE_DIR"] for e in envs} == {str(tmp_path / "traces")}
    assert all(e["JWKS_URL"].endswith("/.well-known/jwks.json") for e in envs)


def test_the_command_prints_a_token_with_the_expected_issuer_and_audience(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "jmo_local.staff_token",
            "--role",
            "officer",
            "--sub",
            "budi",
            "--ttl",
            "120",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    token = out.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    settings = ServiceSettings()
    assert (claims["iss"], claims["aud"], claims["sub"], claims["roles"]) == (
        settings.staff_jwt_issuer,
        settings.staff_jwt_audience,
        "budi",
        ["officer"],
    )
    assert claims["exp"] - claims["iat"] == 120
    assert jwt.get_unverified_header(token)["kid"] == json.loads(staff_jwks(tmp_path))["keys"][0]["kid"]
    assert "new staff signing key" in out.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "jmo_local.staff_token", "--role", "admin", "--sub", "x", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
