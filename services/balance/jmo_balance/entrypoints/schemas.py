"""The HTTP shapes of the balance API (the mobile gateway's contract, v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from jmo_shared.face_assertion import VERIFICATION_ID_MAX_LENGTH

Kpj = Annotated[str, StringConstraints(pattern=r"^\d{11}$")]


class BalanceCard(BaseModel):
    kpj: str
    employer: str
    contributions_idr: int
    returns_idr: int
    withdrawn_idr: int = Field(description="Paid claims debited from the card")
    balance_idr: int = Field(description="contributions + returns - withdrawn")
    reserved_idr: int = Field(description="Held for an open claim")
    available_idr: int
    status: str = Field(description="active | ended | merged")
    merged_into: str | None = None
    returns_credited_through: int | None = Field(None, description="Last year whose returns are credited")


class Balance(BaseModel):
    total_idr: int
    as_of: str = Field(description="YYYY-MM-DD: the figures as at that day")
    cards: list[BalanceCard]


class MergeCreate(BaseModel):
    kpj_numbers: list[Kpj] = Field(
        min_length=1, max_length=20, description="The cards to merge; the first one receives the money when active"
    )
    verification_id: str = Field(
        min_length=1,
        max_length=VERIFICATION_ID_MAX_LENGTH,
        description="A face verification made for purpose balance_merge, as identity answered it, unchanged",
    )


class MergeAccepted(BaseModel):
    merge_id: str
    status: str


class MovedBalance(BaseModel):
    kpj: str
    amount_idr: int


class Merge(BaseModel):
    merge_id: str
    status: str
    target_kpj: str
    source_kpjs: list[str]
    moved: list[MovedBalance]
    target_balance_idr: int
    requested_at: datetime
    completed_at: datetime | None = None


class MembershipCard(BaseModel):
    kpj: str = Field(description="The primary card: the latest merge target, else the most recent active card")
    full_name: str
    nik_masked: str
    programs: list[str]
    status: str
    employer: str
    cards: list[str] = Field(description="The member's other KPJ numbers that still hold their own balance")
    qr: str = Field(description="Compact JWS (EdDSA) over kpj, name, nik_masked, status, iat; keys at /v1/card/keys")


class Jwks(BaseModel):
    keys: list[dict[str, Any]]
