"""Access tokens for staff (claims officers, operations) on the local stack.

Members get their tokens from identity; staff have no member account, so the
local stack keeps one ES256 staff signing key in its data directory, made on
first use, and hands its public half to every service through `STAFF_JWKS_JSON`
(services.process_env): the only key a staff role is taken from. `python -m jmo_local.staff_token` signs a token with
it. Production would use the organisation's identity provider instead: this
key is a local/test convenience and never leaves the data directory.

A token carries the staff issuer and audience every service checks
(STAFF_JWT_ISSUER, STAFF_JWT_AUDIENCE, as in jmo_shared.settings), `sub` = the staff member's name,
`roles`, and no `nik`: member-only routes refuse it (`not_a_member`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from jmo_shared.settings import ServiceSettings

STAFF_ROLES = ("officer", "ops")
KEY_FILE = Path("staff") / "signing-key.pem"
# Staff tokens are for one sitting at a console, not a session: an hour at most.
MAX_TTL_SECONDS = 3600


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def load_or_create_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The staff signing key in data_dir, generated (P-256, mode 0600) the first time.

    Created with O_EXCL, so two processes starting at once end up with the same key.
    """
    path = key_path(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: use its key
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise RuntimeError(f"{path} is not an EC private key")
    return loaded


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    return json.loads(ECAlgorithm.to_jwk(key.public_key()))


def key_id(key: ec.EllipticCurvePrivateKey) -> str:
    """RFC 7638 thumbprint of the public key: the same key always gets the same kid."""
    jwk = _public_jwk(key)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")
    return f"staff-{digest[:16]}"


def staff_jwks(data_dir: Path) -> str:
    """The JWKS document (JSON text) with the staff key's public half."""
    key = load_or_create_key(data_dir)
    jwk = _public_jwk(key)
    jwk.update({"kid": key_id(key), "use": "sig", "alg": "ES256"})
    return json.dumps({"keys": [jwk]})


def staff_token(
    data_dir: Path,
    roles: Iterable[str],
    sub: str,
    ttl_seconds: int = 600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """A signed access token for a staff member with the given roles."""
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in STAFF_ROLES]
    if not roles or unknown:
        raise ValueError(f"roles must be some of {STAFF_ROLES}, got {roles}")
    if not sub.strip():
        raise ValueError("sub (the staff member's name) must not be empty")
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl must be between 1 and {MAX_TTL_SECONDS} seconds")
    settings = ServiceSettings()  # STAFF_JWT_ISSUER / STAFF_JWT_AUDIENCE, exactly as the services read them
    key = load_or_create_key(data_dir)
    now = datetime.now(UTC)
    payload = {
        "iss": issuer or settings.staff_jwt_issuer,
        "aud": audience or settings.staff_jwt_audience,
        "sub": sub,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "roles": roles,
        "staff": True,
    }
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": key_id(key)})


# --- staff accounts for the back office's built-in sign-in (local stack only) --------------------

# Seeded once by `make run`: user name -> roles. Production signs staff in at the fund's identity provider.
SEEDED_ACCOUNTS = {"officer-1": ("officer",), "ops-1": ("ops",)}
ACCOUNTS_FILE = Path("staff") / "accounts.json"
PASSWORDS_FILE = Path("staff") / "passwords.json"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def seed_staff_accounts(data_dir: Path) -> tuple[Path, Path]:
    """officer-1 and ops-1 with random passwords, made once: the passwords in clear in
    `staff/passwords.json` (mode 0600, for the person running the stack), argon2id hashes and roles in
    `staff/accounts.json` (what the back office checks). Returns (accounts file, passwords file)."""
    from argon2 import PasswordHasher  # only the local run needs it here

    accounts, passwords = Path(data_dir) / ACCOUNTS_FILE, Path(data_dir) / PASSWORDS_FILE
    if accounts.exists() and passwords.exists():
        return accounts, passwords
    accounts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    hasher = PasswordHasher()
    clear = {user: base64.urlsafe_b64encode(os.urandom(18)).decode() for user in SEEDED_ACCOUNTS}
    hashed = {
        user: {
            "password_hash": hasher.hash(clear[user]),
            "roles": list(roles),
            "display_name": user.replace("-", " ").title(),
        }
        for user, roles in SEEDED_ACCOUNTS.items()
    }
    _write_private(accounts, json.dumps(hashed, indent=2))
    _write_private(passwords, json.dumps(clear, indent=2))
    return accounts, passwords
