"""Request and answer bodies of the officers' flag API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FlagAnswer(BaseModel):
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
    # Every officer action on this flag, oldest first.
    audit: list[dict]


class FlagPage(BaseModel):
    items: list[FlagAnswer]
    page: int
    page_size: int
    total: int


class ClearRequest(BaseModel):
    # Why the officer cleared it (kept in the audit and on the flag; the member does not see it).
    note: str = Field(min_length=1, max_length=1000)


class ClearAnswer(FlagAnswer):
    # True when this repeats the officer's own earlier clearing (a retry): nothing changed.
    repeated: bool
