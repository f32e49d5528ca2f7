"""Request and answer bodies of the officers' flag API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.paging import Page


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """An answer model's examples, as the OpenAPI document shows them (checked against the model in tests)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# A member's bank account changed two hours before their claim, the flag still open.
FLAG_EXAMPLE: dict[str, Any] = {
    "flag_id": "3f9c1e7a5b2d4c8e9a0b1c2d3e4f5a6b",
    "rule": "account_changed_before_claim",
    "why": "A bank account changed shortly before a claim is the classic account-takeover pattern: the money is "
    "redirected just before it leaves.",
    "subject": "member:0f4c2a9e8b7d4c1a9e3f5b6d7c8a9e0f",
    "window_start": "2026-03-02T00:10:00+00:00",
    "evidence": {
        "account_changed_at": "2026-03-02T00:10:00+00:00",
        "claim_submitted_at": "2026-03-02T02:15:00+00:00",
        "hours_between": 2.1,
        "window_hours": 72,
    },
    "member_id": "0f4c2a9e8b7d4c1a9e3f5b6d7c8a9e0f",
    "nik": "3174011506850001",
    "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
    "flagged_at": "2026-03-02T02:15:01+00:00",
    "status": "open",
    "cleared_by": None,
    "cleared_at": None,
    "note": "",
}
_CLEARED = {
    "status": "cleared",
    "cleared_by": "officer-7",
    "cleared_at": "2026-03-04T03:30:00+00:00",
    "note": "Called the member: the new account is their own salary account at BCA.",
}


class FlagAnswer(BaseModel):
    model_config = _examples(FLAG_EXAMPLE)

    flag_id: str
    rule: str
    # Why the rule exists (for officers; the member never sees a rule or its evidence).
    why: str
    subject: str
    window_start: str
    evidence: dict
    member_id: str | None
    nik: str | None
    claim_id: str | None
    flagged_at: str
    status: str  # open | cleared
    cleared_by: str | None
    cleared_at: str | None
    note: str


class FlagDetail(FlagAnswer):
    model_config = _examples(
        FLAG_EXAMPLE
        | _CLEARED
        | {
            "audit": [
                {"officer_id": "officer-7", "action": "view_flag", "at": "2026-03-04T03:21:00+00:00"},
                {
                    "officer_id": "officer-7",
                    "action": "clear_flag",
                    "at": "2026-03-04T03:30:00+00:00",
                    "outcome": "applied",
                    "note": _CLEARED["note"],
                    "rule": "account_changed_before_claim",
                    "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
                },
            ]
        }
    )

    # Every officer action on this flag, oldest first.
    audit: list[dict]


class FlagPage(Page[FlagAnswer]):
    """Flags, newest first, one page at a time."""

    model_config = _examples({"items": [FLAG_EXAMPLE], "page": 1, "page_size": 20, "total": 1})


class ClearRequest(BaseModel):
    # Why the officer cleared it (kept in the audit and on the flag; the member does not see it).
    note: str = Field(min_length=1, max_length=1000)


class ClearAnswer(FlagAnswer):
    model_config = _examples(FLAG_EXAMPLE | _CLEARED | {"repeated": False})

    # True when this repeats the officer's own earlier clearing (a retry): nothing changed.
    repeated: bool
