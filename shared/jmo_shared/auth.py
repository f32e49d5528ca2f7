"""Verifying the member's access token with identity's published keys (JWKS).

Tokens are short-lived and signed by identity with an asymmetric key; every
other service only needs the public half, fetched from
`/.well-known/jwks.json` and cached. An unknown `kid` refreshes the cache once,
so identity can rotate keys without logging anyone out.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx
import jwt
from jwt import PyJWK

from .errors import DomainError

ALGORITHMS = ["ES256", "RS256", "EdDSA"]


@dataclass(frozen=True)
class Principal:
    member_id: str
    nik: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    bank_code: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


def unauthorized(detail: str, code: str = "invalid_token") -> DomainError:
    return DomainError(code=code, detail=detail, status=401, headers={"WWW-Authenticate": "Bearer"})


class JwksVerifier:
    def __init__(
        self, jwks_url: str | None, issuer: str, audience: str, static_jwks: str | None = None, ttl: float = 300
    ) -> None:
        self._url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._ttl = ttl
        self._lock = asyncio.Lock()
        if static_jwks:
            self._load(json.loads(static_jwks))
            self._fetched_at = float("inf")

    def _load(self, jwks: dict) -> None:
        keys = {}
        for jwk in jwks.get("keys", []):
            try:
                keys[jwk["kid"]] = PyJWK(jwk)
            except Exception:  # a key type we cannot use is skipped, not fatal
                continue
        self._keys = keys

    async def _refresh(self, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._fetched_at < self._ttl:
                return
            if self._url is None:
                return
            async with httpx.AsyncClient(timeout=5) as client:
                resp = await client.get(self._url)
                resp.raise_for_status()
            self._load(resp.json())
            self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> PyJWK:
        if time.monotonic() - self._fetched_at >= self._ttl or kid not in self._keys:
            try:
                await self._refresh(force=kid not in self._keys)
            except httpx.HTTPError as exc:
                if kid not in self._keys:
                    raise DomainError(
                        code="auth_unavailable", detail=f"cannot fetch signing keys: {exc}", status=503
                    ) from exc
        if kid not in self._keys:
            raise unauthorized("token signed with an unknown key")
        return self._keys[kid]

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("malformed token") from exc
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("token expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized(f"invalid token: {exc}") from exc
        if claims.get("typ", "access") != "access":
            raise unauthorized("not an access token")
        roles = claims.get("roles") or []
        return Principal(
            member_id=str(claims["sub"]),
            nik=claims.get("nik"),
            roles=frozenset(roles if isinstance(roles, list) else [roles]),
            token_id=claims.get("jti"),
            bank_code=claims.get("bank_code"),
        )
