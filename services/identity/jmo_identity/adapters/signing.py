"""The ES256 key that signs access tokens, its published public keys (JWKS), and issuing tokens.

The private key comes from IDENTITY_SIGNING_KEY_PEM when set (production: a
mounted secret). Without it one key is generated once and kept in identity's
database, so restarts and replicas share it. Each key that has been current
is recorded by its public half; the JWKS publishes the current key and the
one before it, so tokens signed just before a rotation still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from pymongo.errors import DuplicateKeyError

from jmo_shared.auth import JwksVerifier, Principal, unauthorized
from jmo_shared.clock import Clock
from jmo_shared.face_assertion import FaceAssertion, claims_of
from jmo_shared.mongo import Database, update_by_id

SIGNING_KEYS = "signing_keys"  # public halves, by kid
SIGNING_SECRETS = "signing_secrets"  # the generated private key, when no PEM is configured
_GENERATED = "generated"
PUBLISHED_KEYS = 2  # current + previous


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_jwk: dict[str, Any]


def load_private_pem(pem: str) -> ec.EllipticCurvePrivateKey:
    # Environment variables often carry a PEM with literal "\n".
    key = serialization.load_pem_private_key(pem.replace("\\n", "\n").encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("IDENTITY_SIGNING_KEY_PEM must be a P-256 (ES256) private key")
    return key


def private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: a kid that any party can recompute from the public key."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def signing_key(private_key: ec.EllipticCurvePrivateKey) -> SigningKey:
    jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    kid = jwk_thumbprint(jwk)
    jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
    return SigningKey(kid=kid, private_key=private_key, public_jwk=jwk)


class KeyStore:
    def __init__(self, db: Database, env_pem: str | None, clock: Clock) -> None:
        self._db = db
        self._env_pem = env_pem
        self._clock = clock

    async def current(self) -> SigningKey:
        """The key this process signs with; recorded as the most recently active one."""
        if self._env_pem:
            key = signing_key(load_private_pem(self._env_pem))
        else:
            key = signing_key(load_private_pem(await self._generated_pem()))
        now = self._clock.now()
        await self._db[SIGNING_KEYS].update_one(
            {"_id": key.kid},
            {"$set": {"public_jwk": key.public_jwk, "last_active_at": now}, "$setOnInsert": {"first_active_at": now}},
            upsert=True,
        )
        return key

    async def _generated_pem(self) -> str:
        candidate = private_pem(ec.generate_private_key(ec.SECP256R1()))
        try:
            # $setOnInsert: the first process to get here decides the key for everyone.
            doc = await update_by_id(
                self._db[SIGNING_SECRETS],
                _GENERATED,
                {"$setOnInsert": {"private_pem": candidate, "created_at": self._clock.now()}},
                upsert=True,
            )
        except DuplicateKeyError:
            doc = await self._db[SIGNING_SECRETS].find_one({"_id": _GENERATED})
        assert doc is not None
        return doc["private_pem"]

    async def published(self, current: SigningKey) -> list[dict[str, Any]]:
        rows = await self._db[SIGNING_KEYS].find({}).sort("last_active_at", -1).limit(PUBLISHED_KEYS + 1).to_list()
        others = [r["public_jwk"] for r in rows if r["_id"] != current.kid]
        return [current.public_jwk, *others[: PUBLISHED_KEYS - 1]]


class Keyring:
    """The current signing key and the published JWKS, re-read from the database now and then."""

    def __init__(self, store: KeyStore, refresh_seconds: float = 30.0) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._current: SigningKey | None = None
        self._jwks: list[dict[str, Any]] = []
        self._loaded_at = 0.0

    async def load(self) -> None:
        self._current = await self._store.current()
        self._jwks = await self._store.published(self._current)
        self._loaded_at = time.monotonic()

    @property
    def current(self) -> SigningKey:
        if self._current is None:
            raise RuntimeError("keyring not loaded")
        return self._current

    async def jwks(self, max_age: float | None = None) -> dict[str, Any]:
        if time.monotonic() - self._loaded_at >= (self._refresh_seconds if max_age is None else max_age):
            self._jwks = await self._store.published(self.current)
            self._loaded_at = time.monotonic()
        return {"keys": list(self._jwks)}


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    jti: str


class AccessTokenIssuer:
    def __init__(self, keyring: Keyring, issuer: str, audience: str, ttl: timedelta, clock: Clock) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._clock = clock

    def issue(self, member_id: str, nik: str) -> IssuedAccessToken:
        key = self._keyring.current
        now = self._clock.now()
        jti = uuid.uuid4().hex
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": member_id,
            "nik": nik,
            "roles": ["member"],
            "typ": "access",
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
        }
        token = jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})
        return IssuedAccessToken(token=token, expires_in=int(self._ttl.total_seconds()), jti=jti)


class FaceAssertionIssuer:
    """Signs a face match as an assertion the other services verify with the published keys
    (jmo_shared.face_assertion): the same key as access tokens, another audience and type."""

    def __init__(self, keyring: Keyring, issuer: str) -> None:
        self._keyring = keyring
        self._issuer = issuer

    def sign(self, assertion: FaceAssertion) -> str:
        key = self._keyring.current
        return jwt.encode(
            claims_of(assertion, self._issuer),
            key.private_key,
            algorithm="ES256",
            headers={"kid": key.kid, "typ": "JWT"},
        )


class KeyringVerifier:
    """Identity checks member tokens against its own keys (not over HTTP against itself).

    A kid it does not know (a replica rotated the key) re-reads the published
    keys, at most every few seconds so garbage tokens cannot hammer the database.
    """

    def __init__(self, keyring: Keyring, issuer: str, audience: str, min_reload_seconds: float = 5.0) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._audience = audience
        self._min_reload = min_reload_seconds
        self._inner: JwksVerifier | None = None
        self._kids: set[str] = set()
        self._built_at = 0.0

    async def _build(self, max_age: float | None) -> None:
        jwks = await self._keyring.jwks(max_age=max_age)
        self._inner = JwksVerifier(None, self._issuer, self._audience, static_jwks=json.dumps(jwks))
        self._kids = {k["kid"] for k in jwks["keys"]}
        self._built_at = time.monotonic()

    async def verify(self, token: str) -> Principal:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError as exc:
            raise unauthorized("malformed token") from exc
        if self._inner is None:
            await self._build(max_age=None)
        elif kid not in self._kids and time.monotonic() - self._built_at >= self._min_reload:
            await self._build(max_age=0)
        assert self._inner is not None
        return await self._inner.verify(token)
