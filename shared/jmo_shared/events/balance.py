"""Events of the balance service (topic balance.events).

BalanceChanged is keyed by NIK (a card has a balance before its holder has an
account); the reservation events are keyed by member id like the claim.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..topics import BALANCE_EVENTS
from .base import EventData


class BalanceChanged(EventData):
    event_type = "jht.balance.BalanceChanged.v1"
    topic = BALANCE_EVENTS
    key_field = "nik"
    summary = "The balance of one KPJ card after a change (state carried, with a version per card)."

    nik: str
    kpj: str
    contributions_idr: int
    returns_idr: int
    balance_idr: int
    reserved_idr: int
    available_idr: int
    version: int
    as_of: datetime


class BalanceReserved(EventData):
    event_type = "jht.balance.BalanceReserved.v1"
    topic = BALANCE_EVENTS
    key_field = "member_id"
    summary = "The amount of a submitted claim is held on the card until it is paid or released."

    claim_id: str
    member_id: str
    nik: str
    kpj: str
    amount_idr: int = Field(ge=0)
    balance_idr: int
    reserved_at: datetime


class BalanceReservationRejected(EventData):
    event_type = "jht.balance.BalanceReservationRejected.v1"
    topic = BALANCE_EVENTS
    key_field = "member_id"
    summary = "A claim's amount could not be held (no balance, another open claim, unknown card)."

    claim_id: str
    member_id: str
    kpj: str
    reason_code: str
    message: str

    def metric_detail(self) -> str:
        return self.reason_code


class BalanceDebited(EventData):
    event_type = "jht.balance.BalanceDebited.v1"
    topic = BALANCE_EVENTS
    key_field = "member_id"
    summary = "A paid claim's reservation became a debit of the card: the money left the fund."

    claim_id: str
    member_id: str
    kpj: str
    payout_id: str
    amount_idr: int
    balance_idr: int
    debited_at: datetime


class BalanceReleased(EventData):
    event_type = "jht.balance.BalanceReleased.v1"
    topic = BALANCE_EVENTS
    key_field = "member_id"
    summary = "A reservation was released (payout failed or claim rejected): the balance is whole again."

    claim_id: str
    member_id: str
    kpj: str
    amount_idr: int
    reason_code: str
    released_at: datetime


class MergedCard(BaseModel):
    kpj: str
    amount_idr: int = Field(ge=0)


class BalanceMerged(EventData):
    event_type = "jht.balance.BalanceMerged.v1"
    topic = BALANCE_EVENTS
    # Keyed like BalanceChanged, so the cards' changes and the merge stay in order.
    key_field = "nik"
    summary = "A member merged KPJ cards (penggabungan saldo): every source card's balance moved onto the target card."

    merge_id: str
    member_id: str
    nik: str
    target_kpj: str
    sources: list[MergedCard]
    target_balance_idr: int
    merged_at: datetime
