"""Refresh tokens: opaque, stored hashed, rotated on every use; reuse betrays a theft.

Every login starts a family. Each refresh spends the presented token and
issues its successor in the same family. A spent token presented again means
two parties hold the family (the member and a thief): the whole family is
revoked and both must log in again.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # A plain hash suffices: the token carries 256 random bits, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class StoredRefreshToken:
    token_hash: str
    family_id: str
    member_id: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class RefreshFamily:
    family_id: str
    member_id: str
    expires_at: datetime
    revoked_at: datetime | None


class RefreshDecision(enum.Enum):
    ROTATE = "rotate"
    REUSED = "reused"  # spent token presented again: revoke the family
    REVOKED = "revoked"  # logged out, or revoked after a reuse
    EXPIRED = "expired"


def decide_refresh(token: StoredRefreshToken, family: RefreshFamily, now: datetime) -> RefreshDecision:
    if family.revoked_at is not None:
        return RefreshDecision.REVOKED
    if token.used_at is not None:
        return RefreshDecision.REUSED
    if now >= token.expires_at or now >= family.expires_at:
        return RefreshDecision.EXPIRED
    return RefreshDecision.ROTATE
