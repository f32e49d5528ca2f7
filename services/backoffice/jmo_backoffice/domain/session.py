"""An officer's signed-in session: who, with which roles and staff token, until when.

The session lives on the server; the browser holds only its random id. A session ends
when it has been idle too long or has lived its maximum, whichever comes first. The
staff token it carries is short-lived and renewed while the session lasts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A staff token is renewed this long before it expires, so a request never carries one
# that dies on its way through the services.
TOKEN_RENEW_MARGIN = timedelta(seconds=60)


def new_secret() -> str:
    """An unguessable value for a session id or a CSRF token (256 bits)."""
    return secrets.token_urlsafe(32)


@dataclass
class Flash:
    """A message for the next page the officer sees (the result of a decision, a refusal)."""

    kind: str  # "ok" | "error"
    text: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class StaffSession:
    session_id: str
    user: str
    display_name: str
    roles: frozenset[str]
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    access_token: str = ""
    token_expires_at: datetime | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    flash: list[Flash] = field(default_factory=list)

    @classmethod
    def begin(cls, user: str, display_name: str, roles: frozenset[str], now: datetime) -> StaffSession:
        # A new id at every sign-in: an id planted before sign-in is never promoted (session fixation).
        return cls(
            session_id=new_secret(),
            user=user,
            display_name=display_name,
            roles=roles,
            csrf_token=new_secret(),
            created_at=now,
            last_seen_at=now,
        )

    def expired(self, now: datetime, idle: timedelta, lifetime: timedelta) -> bool:
        return now - self.last_seen_at > idle or now - self.created_at > lifetime

    def token_fresh(self, now: datetime) -> bool:
        return (
            bool(self.access_token)
            and self.token_expires_at is not None
            and now < self.token_expires_at - TOKEN_RENEW_MARGIN
        )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def take_flash(self) -> list[Flash]:
        shown, self.flash = self.flash, []
        return shown
