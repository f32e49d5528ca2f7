"""Events of the risk service (topic risk.events, keyed by the flag's subject, so a
flag and its clearing stay in order).

The risk service watches the other services' events for fraud patterns across many
requests (stream rules on faust-streaming, docs/adr/0004) and publishes what it finds.
A flag's id is deterministic (rule + subject + window + claim), so a replay after a
restart never flags twice.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..topics import RISK_EVENTS
from .base import EventData


class RiskFlagged(EventData):
    event_type = "jht.risk.RiskFlagged.v1"
    topic = RISK_EVENTS
    key_field = "subject"
    summary = (
        "A stream rule saw a fraud pattern: the rule, its evidence (for officers, never for the member), "
        "the member and the claim where there is one. Claims routes an open flag's claim to NEEDS_REVIEW."
    )

    flag_id: str
    rule: str
    # What the rule counted (a hashed bank account, an employer, a NIK, a client address, a member).
    subject: str
    # Start of the window the rule counted in.
    window_start: datetime
    # Counts, thresholds and the events that tripped the rule (for officers only).
    evidence: dict = Field(default_factory=dict)
    member_id: str | None = None
    nik: str | None = None
    claim_id: str | None = None
    flagged_at: datetime

    def metric_detail(self) -> str:
        return self.rule


class RiskFlagCleared(EventData):
    event_type = "jht.risk.RiskFlagCleared.v1"
    topic = RISK_EVENTS
    key_field = "subject"
    summary = "An officer cleared a flag after checking it (audited in the risk service)."

    flag_id: str
    rule: str
    subject: str
    member_id: str | None = None
    claim_id: str | None = None
    cleared_by: str
    note: str = ""
    cleared_at: datetime

    def metric_detail(self) -> str:
        return self.rule


class ScreenedFlag(BaseModel):
    flag_id: str
    rule: str
    evidence: dict = Field(default_factory=dict)


class ClaimScreened(EventData):
    event_type = "jht.risk.ClaimScreened.v1"
    topic = RISK_EVENTS
    key_field = "member_id"
    summary = (
        "The risk rules that decide before payment (the bank-account rules) looked at a claim: its verdict, "
        "with the flags they raised (none: clean). Claims holding a claim for a verdict go on."
    )

    claim_id: str
    member_id: str
    flags: list[ScreenedFlag] = Field(default_factory=list)
    screened_at: datetime
