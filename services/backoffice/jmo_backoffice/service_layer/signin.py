"""Signing officers in and out, keeping their sessions, and the staff token each request carries.

Locally (`signin=local`) a password is checked against the staff accounts file and the
back office signs the staff token itself; with `signin=oidc` the fund's identity provider
authenticates the officer (authorization code + PKCE) and its access token is the staff
token. Either way the services verify the token and take the roles from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from jmo_shared.auth import JwksVerifier
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError
from jmo_shared.logging import get_logger

from ..adapters.oidc import OidcClient, OidcError
from ..adapters.sessions import SessionStore
from ..adapters.staff import STAFF_ROLES, StaffAccount, StaffAccounts, StaffTokenIssuer
from ..domain.pkce import PendingSignIn, safe_next
from ..domain.session import Flash, StaffSession

log = get_logger(__name__)


class SignInRefused(Exception):
    """Wrong user name or password, a locked name, or a provider answer that cannot be used."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SignedOut(Exception):
    """The session's token cannot be renewed: the officer must sign in again."""


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta


class FailureCounter:
    """Failed sign-ins per user name in this process; past the limit the name is locked for a while."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self._limit = limit
        self._window = window
        self._failures: dict[str, list[datetime]] = defaultdict(list)

    def locked(self, user: str, now: datetime) -> bool:
        recent = [at for at in self._failures.get(user, []) if now - at < self._window]
        self._failures[user] = recent
        return len(recent) >= self._limit

    def failed(self, user: str, now: datetime) -> None:
        self._failures[user].append(now)

    def succeeded(self, user: str) -> None:
        self._failures.pop(user, None)


class SignIn:
    def __init__(
        self,
        sessions: SessionStore,
        clock: Clock,
        policy: SessionPolicy,
        *,
        accounts: StaffAccounts | None = None,
        issuer: StaffTokenIssuer | None = None,
        oidc: OidcClient | None = None,
        staff_keys: JwksVerifier | None = None,
        failures: FailureCounter | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._policy = policy
        self._accounts = accounts
        self._issuer = issuer
        self._oidc = oidc
        self._staff_keys = staff_keys
        self._failures = failures or FailureCounter(5, timedelta(minutes=15))

    @property
    def mode(self) -> str:
        return "oidc" if self._oidc is not None else "local"

    # --- sessions ---------------------------------------------------------------

    def _expires_at(self, session: StaffSession) -> datetime:
        return min(session.last_seen_at + self._policy.idle, session.created_at + self._policy.lifetime)

    async def save(self, session: StaffSession) -> None:
        await self._sessions.save(session, self._expires_at(session))

    async def current(self, session_id: str | None) -> StaffSession | None:
        """The session of this cookie, if it is still alive (its idle time restarts)."""
        if not session_id:
            return None
        session = await self._sessions.get(session_id)
        now = self._clock.now()
        if session is None:
            return None
        if session.expired(now, self._policy.idle, self._policy.lifetime):
            await self._sessions.delete(session_id)
            return None
        session.last_seen_at = now
        return session

    async def sign_out(self, session: StaffSession) -> None:
        await self._sessions.delete(session.session_id)
        log.info("staff_signed_out", user=session.user)

    async def token(self, session: StaffSession) -> str:
        """The session's staff token, renewed when it is about to expire."""
        now = self._clock.now()
        if session.token_fresh(now):
            return session.access_token
        if self._issuer is not None:
            account = StaffAccount(session.user, session.display_name, session.roles)
            session.access_token, session.token_expires_at = self._issuer.issue(account, now)
        elif self._oidc is not None and session.refresh_token:
            try:
                tokens = await self._oidc.refresh(session.refresh_token)
            except OidcError as exc:
                raise SignedOut() from exc
            self._take_tokens(session, tokens, now)
        else:
            raise SignedOut()
        await self.save(session)
        return session.access_token

    # --- local sign-in ------------------------------------------------------------

    async def with_password(self, user: str, password: str) -> StaffSession:
        if self._accounts is None or self._issuer is None:
            raise SignInRefused("local_signin_disabled")
        now = self._clock.now()
        user = user.strip()
        if self._failures.locked(user, now):
            log.warning("staff_signin_locked", user=user)
            raise SignInRefused("locked")
        account = self._accounts.check(user, password)
        if account is None:
            self._failures.failed(user, now)
            log.info("staff_signin_refused", user=user)
            raise SignInRefused("bad_credentials")
        self._failures.succeeded(user)
        session = StaffSession.begin(account.user, account.display_name, account.roles, now)
        session.access_token, session.token_expires_at = self._issuer.issue(account, now)
        await self.save(session)
        log.info("staff_signed_in", user=user, roles=sorted(account.roles), via="password")
        return session

    # --- OpenID Connect -------------------------------------------------------------

    async def start_oidc(self, next_path: str | None) -> str:
        if self._oidc is None:
            raise SignInRefused("oidc_disabled")
        pending = PendingSignIn.start(safe_next(next_path))
        await self._sessions.put_pending(pending, self._clock.now())
        try:
            return await self._oidc.authorization_url(pending)
        except OidcError as exc:
            log.warning("oidc_unavailable", error=str(exc))
            raise SignInRefused("provider_unavailable") from exc

    async def finish_oidc(self, state: str, code: str) -> tuple[StaffSession, str]:
        if self._oidc is None:
            raise SignInRefused("oidc_disabled")
        now = self._clock.now()
        pending = await self._sessions.take_pending(state, now)
        if pending is None:
            raise SignInRefused("unknown_state")
        try:
            tokens = await self._oidc.exchange(pending, code)
        except OidcError as exc:
            log.warning("oidc_exchange_failed", error=str(exc))
            raise SignInRefused("provider_refused") from exc
        id_token = tokens.get("id_token")
        if id_token:
            # Received straight from the token endpoint over TLS (OIDC Core 3.1.3.7): its nonce is what matters.
            claims = jwt.decode(id_token, options={"verify_signature": False})
            if claims.get("nonce") != pending.nonce:
                raise SignInRefused("nonce_mismatch")
        if self._staff_keys is None:
            raise SignInRefused("oidc_disabled")
        try:
            principal = await self._staff_keys.verify(tokens["access_token"])
        except DomainError as exc:
            log.warning("oidc_token_refused", error=exc.detail)
            raise SignInRefused("provider_refused") from exc
        roles = principal.roles & STAFF_ROLES
        if not roles:
            raise SignInRefused("no_staff_role")
        name = jwt.decode(tokens["access_token"], options={"verify_signature": False}).get("name")
        session = StaffSession.begin(principal.member_id, str(name or principal.member_id), frozenset(roles), now)
        self._take_tokens(session, tokens, now)
        await self.save(session)
        log.info("staff_signed_in", user=session.user, roles=sorted(roles), via="oidc")
        return session, pending.next_path

    @staticmethod
    def _take_tokens(session: StaffSession, tokens: dict, now: datetime) -> None:
        session.access_token = tokens["access_token"]
        session.token_expires_at = now + timedelta(seconds=int(tokens.get("expires_in", 300)))
        session.refresh_token = tokens.get("refresh_token", session.refresh_token)
        session.id_token = tokens.get("id_token", session.id_token)


def flash(session: StaffSession, kind: str, text: str, **details: str) -> None:
    session.flash.append(Flash(kind=kind, text=text, details={k: str(v) for k, v in details.items()}))
