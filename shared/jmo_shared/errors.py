"""Errors the caller can act on.

A `DomainError` says "no" with a stable machine code and a kind: what sort of no
it is (the request breaks a rule, names something that does not exist, conflicts
with the current state, ...). The domain and service layers say only that; the HTTP
entrypoint (jmo_shared.http) alone turns a kind into a status code and an RFC 9457
problem+json answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the request breaks a rule of the domain or has a bad field
    BAD_REQUEST = "bad_request"  # a protocol part is missing or malformed (e.g. no Idempotency-Key)
    UNAUTHENTICATED = "unauthenticated"  # no valid credentials
    FORBIDDEN = "forbidden"  # valid credentials that may not do this
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # the current state does not allow it (already done, in flight, changed meanwhile)
    TOO_LARGE = "too_large"
    LOCKED = "locked"  # the resource is locked for a while (an account after repeated failed logins)
    RATE_LIMITED = "rate_limited"
    UPSTREAM_FAILED = "upstream_failed"  # a system we depend on answered wrongly
    UNAVAILABLE = "unavailable"  # a system we depend on is away: try again later


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class DomainError(Exception):
    code: str
    detail: str
    kind: ErrorKind = ErrorKind.INVALID
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def not_found(what: str, code: str = "not_found") -> DomainError:
    return DomainError(code=code, detail=f"{what} not found", kind=ErrorKind.NOT_FOUND)


def conflict(code: str, detail: str) -> DomainError:
    return DomainError(code=code, detail=detail, kind=ErrorKind.CONFLICT)


def field_error(field_name: str, code: str, message: str, kind: ErrorKind = ErrorKind.INVALID) -> DomainError:
    return DomainError(code=code, detail=message, kind=kind, errors=[FieldError(field_name, code, message)])
