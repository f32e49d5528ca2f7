"""How the domain says no, without knowing it is answered over HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What kind of "no": the service layer maps it to a status code.
Kind = Literal["invalid", "conflict", "not_found", "unavailable", "too_many"]


@dataclass(frozen=True)
class Invalid:
    """One field the member must correct, with a stable machine code."""

    field: str
    code: str
    message: str


@dataclass
class Refusal(Exception):
    code: str
    detail: str
    kind: Kind = "invalid"
    errors: list[Invalid] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def refuse_if_invalid(errors: list[Invalid], detail: str = "some fields need correcting") -> None:
    if not errors:
        return
    # One error: its own code names the problem; several: the caller reads `errors`.
    code = errors[0].code if len(errors) == 1 else "validation_failed"
    raise Refusal(code=code, detail=errors[0].message if len(errors) == 1 else detail, errors=errors)
