"""Errors the caller can act on.

A `DomainError` becomes an RFC 9457 problem+json answer with a stable machine
code; raising one from a handler is how every service says "no" to a caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    status: int = 422
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def not_found(what: str, code: str = "not_found") -> DomainError:
    return DomainError(code=code, detail=f"{what} not found", status=404)


def conflict(code: str, detail: str) -> DomainError:
    return DomainError(code=code, detail=detail, status=409)


def field_error(field_name: str, code: str, message: str, status: int = 422) -> DomainError:
    return DomainError(code=code, detail=message, status=status, errors=[FieldError(field_name, code, message)])
