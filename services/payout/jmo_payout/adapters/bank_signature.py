"""Verifying a partner bank's signed notification (the scheme: jmo_shared.bank_signature).

The timestamp is inside the signature and must be recent, so a captured report
cannot be replayed later.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from jmo_shared.bank_signature import BANK_CODE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from jmo_shared.errors import DomainError, ErrorKind

__all__ = ["signature", "verify_bank_signature", "parse_timestamp"]


def _refused(code: str, detail: str) -> DomainError:
    return DomainError(code=code, detail=detail, kind=ErrorKind.UNAUTHENTICATED)


def parse_timestamp(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _refused("invalid_timestamp", "X-Timestamp must be an RFC 3339 date-time") from exc
    if at.tzinfo is None:
        raise _refused("invalid_timestamp", "X-Timestamp must carry a UTC offset")
    return at


def verify_bank_signature(
    headers: Mapping[str, str],
    raw_body: bytes,
    secrets: Mapping[str, str | Sequence[str]],
    now: datetime,
    max_skew: timedelta,
) -> str:
    """The verified bank code, or an UNAUTHENTICATED DomainError. `headers` must be case-insensitive (lower-case keys).

    A bank has one secret, or two while it rotates: a report signed with either verifies.
    """
    bank_code = headers.get(BANK_CODE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not bank_code or not timestamp or not given:
        raise _refused("invalid_signature", "X-Bank-Code, X-Timestamp and X-Signature are required")
    given = given.strip().lower()
    # An unknown bank gets the same answer as a wrong signature: do not tell a prober which codes exist.
    # Every secret is tried (no early exit), so the time taken does not say which one matched.
    candidates = secrets.get(bank_code, ())
    if isinstance(candidates, str):  # one secret, not its characters
        candidates = (candidates,)
    matches = [hmac.compare_digest(signature(secret, timestamp, raw_body), given) for secret in candidates]
    if not any(matches):
        raise _refused("invalid_signature", "signature does not verify")
    at = parse_timestamp(timestamp)
    if abs(now - at) > max_skew:
        raise _refused("stale_timestamp", f"X-Timestamp is more than {int(max_skew.total_seconds())} s from our clock")
    return bank_code
