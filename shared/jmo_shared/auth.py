"""Verifying access tokens: members' with identity's published keys, staff's with the staff issuer's.

Member tokens are short-lived and signed by identity with an asymmetric key;
every other service only needs the public half, fetched from
`/.well-known/jwks.json` and cached. An unknown `kid` refreshes the cache once,
so identity can rotate keys without logging anyone out. Static keys (JWKS_JSON)
are trusted besides the fetched ones.

Officers and operators sign in with the fund's staff identity provider, another
issuer with keys of its own (STAFF_JWKS_URL and/or STAFF_JWKS_JSON). `TokenVerifier`
takes a staff role (officer, ops) only from a token signed by one of those keys for
the staff issuer and audience; a member token claiming one is stripped of it, so a
member key (identity's, or one that leaked) can never make an officer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace

import httpx
import jwt
from jwt import PyJWK

from . import httpclient
from .errors import DomainError, ErrorKind
from .logging import get_logger

log = get_logger(__name__)

ALGORITHMS = ["ES256", "RS256", "EdDSA"]
STAFF_ROLES = frozenset({"officer", "ops"})


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
    return DomainError(code=code, detail=detail, kind=ErrorKind.UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})


class JwksVerifier:
    """Keys fetched from `jwks_url` (refreshed every `ttl`, or at once for an unknown kid) plus
    `static_jwks`, which are added to them and kept across refreshes (a staff key besides
    identity's member keys); a static key wins over a fetched one with the same kid."""

    # After a failed fetch, wait this long before trying again: a JWKS endpoint that is down
    # must not cost every request a connection attempt.
    RETRY_AFTER_FAILURE = 30.0
    # An unknown kid forces a fetch; after one that did not find it, the next waits this long
    # (forged kids are free to send).
    MIN_FORCED_INTERVAL = 5.0

    def __init__(
        self, jwks_url: str | None, issuer: str, audience: str, static_jwks: str | None = None, ttl: float = 300
    ) -> None:
        self._url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._static: dict[str, PyJWK] = self._parse(json.loads(static_jwks)) if static_jwks else {}
        self._fetched: dict[str, PyJWK] = {}
        self._keys: dict[str, PyJWK] = dict(self._static)
        self._ttl = ttl
        # Monotonic time of the next scheduled refresh (never, without a URL).
        self._next_fetch = 0.0 if jwks_url else float("inf")
        self._last_forced = float("-inf")
        self._lock = asyncio.Lock()

    @staticmethod
    def _parse(jwks: dict) -> dict[str, PyJWK]:
        keys = {}
        for jwk in jwks.get("keys", []):
            try:
                keys[jwk["kid"]] = PyJWK(jwk)
            except Exception:  # a key type we cannot use is skipped, not fatal
                continue
        return keys

    def _load(self, jwks: dict) -> None:
        self._fetched = self._parse(jwks)
        self._keys = {**self._fetched, **self._static}

    async def _refresh(self, force: bool = False) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._url is None:
                return
            if force:
                if now - self._last_forced < self.MIN_FORCED_INTERVAL:
                    return
            elif now < self._next_fetch:
                return
            try:
                async with httpclient.async_client(timeout=5) as client:
                    resp = await client.get(self._url)
                    resp.raise_for_status()
                self._load(resp.json())
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks_fetch_failed", url=self._url, error=str(exc), error_type=type(exc).__name__)
                self._next_fetch = now + min(self.RETRY_AFTER_FAILURE, self._ttl)
                if force:
                    self._last_forced = now
                raise httpx.HTTPError(str(exc)) from exc
            self._next_fetch = time.monotonic() + self._ttl

    async def _key(self, kid: str) -> PyJWK:
        if kid not in self._keys or time.monotonic() >= self._next_fetch:
            try:
                await self._refresh(force=kid not in self._keys)
            except httpx.HTTPError as exc:
                if kid not in self._keys:
                    # Why the fetch failed is in the log (jwks_fetch_failed), not in the answer.
                    raise DomainError(
                        code="auth_unavailable",
                        detail="tokens cannot be checked right now; try again in a moment",
                        kind=ErrorKind.UNAVAILABLE,
                    ) from exc
        if kid not in self._keys:
            # A fetch that did not find the kid: the next forced one waits (a rotation's new kid is found).
            self._last_forced = time.monotonic()
            raise unauthorized("token signed with an unknown key")
        return self._keys[kid]

    def knows(self, kid: str) -> bool:
        """Whether a key with this kid is in hand (no fetch)."""
        return kid in self._keys

    async def has_key(self, kid: str) -> bool:
        """Whether this kid is one of the trusted keys, fetching them if it is not in hand yet."""
        try:
            await self._key(kid)
        except DomainError:
            return False
        return True

    async def decode(self, token: str, *, audience: str, typ: str, verify_exp: bool = True) -> dict:
        """The claims of a token signed by a trusted key for `audience`, of type `typ` (401 otherwise)."""
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
                audience=audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"], "verify_exp": verify_exp},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("token expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            # PyJWT's sentence names what a forger got wrong: it is for our log, not for the caller.
            log.info("token_refused", reason=str(exc), error_type=type(exc).__name__)
            raise unauthorized("the token is not valid; log in again") from exc
        if claims.get("typ", "access") != typ:
            raise unauthorized(f"not a token of type {typ}")
        return claims

    async def verify(self, token: str) -> Principal:
        claims = await self.decode(token, audience=self._audience, typ="access")
        roles = claims.get("roles") or []
        return Principal(
            member_id=str(claims["sub"]),
            nik=claims.get("nik"),
            roles=frozenset(roles if isinstance(roles, list) else [roles]),
            token_id=claims.get("jti"),
            bank_code=claims.get("bank_code"),
        )


class TokenVerifier:
    """Member tokens through identity's keys, staff tokens through the staff issuer's (see the module doc)."""

    def __init__(self, members: JwksVerifier, staff: JwksVerifier | None = None) -> None:
        self.members = members
        self.staff = staff

    async def _is_staff_key(self, kid: str) -> bool:
        if self.staff is None:
            return False
        if self.staff.knows(kid):
            return True
        if self.members.knows(kid):
            return False
        # Known to neither: the staff provider may have rotated (a member key rotation is found by
        # the member verifier's own refresh). A fetch that fails leaves it to the member verifier.
        return await self.staff.has_key(kid)

    async def verify(self, token: str) -> Principal:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError as exc:
            raise unauthorized("malformed token") from exc
        if await self._is_staff_key(kid):
            assert self.staff is not None
            principal = await self.staff.verify(token)
            roles = principal.roles & STAFF_ROLES
            if not roles:
                raise unauthorized("a staff token without a staff role")
            # Staff act on members' data, never as a member: no NIK, only staff roles.
            return replace(principal, nik=None, roles=roles)
        principal = await self.members.verify(token)
        return replace(principal, roles=principal.roles - STAFF_ROLES)

    async def decode(self, token: str, *, audience: str, typ: str, verify_exp: bool = True) -> dict:
        """Other tokens of identity's (face assertions): the member keys only."""
        return await self.members.decode(token, audience=audience, typ=typ, verify_exp=verify_exp)
