"""Local staff sign-in: the accounts file (argon2 hashes) and the staff token issuer (the staff key).

Locally the back office is the staff identity provider: after checking a password it
signs a short-lived token with the staff key, whose public half every service trusts
through STAFF_JWKS_JSON (deploy/local/jmo_local/staff.py makes the key and seeds the
accounts). In production the fund's identity provider issues the tokens (OIDC) and
none of this is configured.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

STAFF_ROLES = frozenset({"officer", "ops"})

_hasher = PasswordHasher()
# Checked when the user name is unknown, so that an unknown name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class StaffAccount:
    user: str
    display_name: str
    roles: frozenset[str]


class StaffAccounts:
    """`{"officer-1": {"password_hash": "$argon2id$...", "roles": ["officer"], "display_name": "..."}}`, read
    at each sign-in (a reseeded file needs no restart)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    def _load(self) -> dict[str, dict]:
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def check(self, user: str, password: str) -> StaffAccount | None:
        entry = self._load().get(user)
        stored = entry["password_hash"] if entry else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if entry is None:
            return None
        roles = frozenset(entry.get("roles", [])) & STAFF_ROLES
        if not roles:
            return None
        return StaffAccount(user=user, display_name=entry.get("display_name") or user, roles=roles)


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 thumbprint of the public key, as the local stack names the staff key (jmo_local.staff)."""
    jwk = json.loads(ECAlgorithm.to_jwk(public_key))
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")
    return f"staff-{digest[:16]}"


class StaffTokenIssuer:
    def __init__(self, key_file: Path, issuer: str, audience: str, ttl: timedelta) -> None:
        loaded = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{key_file} is not an EC private key")
        self._key = loaded
        self._kid = key_id(loaded.public_key())
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl

    def issue(self, account: StaffAccount, now: datetime) -> tuple[str, datetime]:
        expires = now + self.ttl
        payload = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": account.user,
            "iat": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "roles": sorted(account.roles),
            "staff": True,
            "name": account.display_name,
        }
        return jwt.encode(payload, self._key, algorithm="ES256", headers={"kid": self._kid}), expires
