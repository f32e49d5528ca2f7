"""Events of the payout service.

PayoutInitiated, PayoutSettled and PayoutFailed go to payout.events (for our
own services); PayoutSent goes only to the member's bank's topic,
`payout.bank.<bank_code>`, and carries a pain.001-like credit transfer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..topics import PAYOUT_EVENTS, bank_topic
from .base import EventData

Rail = Literal["BI_FAST", "SKN", "RTGS"]


class PayoutInitiated(EventData):
    event_type = "jht.payout.PayoutInitiated.v1"
    topic = PAYOUT_EVENTS
    key_field = "member_id"
    summary = "A payout was computed (gross, PPh 21, net, rail) and sent to the member's bank."

    payout_id: str
    claim_id: str
    member_id: str
    gross_idr: int
    tax_idr: int
    net_idr: int
    rail: Rail
    bank_code: str
    external_id: str
    initiated_at: datetime

    def metric_detail(self) -> str:
        return self.rail


class Amount(BaseModel):
    amount_idr: int = Field(ge=0)
    currency: Literal["IDR"] = "IDR"


class Party(BaseModel):
    name: str
    account_number: str
    bank_code: str


class PayoutSent(EventData):
    event_type = "jht.payout.PayoutSent.v1"
    topic = None  # payout.bank.<bank_code>
    key_field = "payout_id"
    summary = "A credit transfer instruction (pain.001-like) for one partner bank; the bank executes it once per end_to_end_id."

    payout_id: str
    claim_id: str
    member_id: str
    message_id: str
    end_to_end_id: str
    external_id: str
    partner_reference_no: str = Field(max_length=64)
    rail: Rail
    instructed_amount: Amount
    gross_idr: int
    tax_idr: int
    net_idr: int
    debtor: Party
    creditor: Party
    remittance_info: str = Field(max_length=140)
    requested_execution_date: date
    notify_url: str | None = None
    sent_at: datetime

    @property
    def bank_topic(self) -> str:
        return bank_topic(self.creditor.bank_code)


class PayoutSettled(EventData):
    event_type = "jht.payout.PayoutSettled.v1"
    topic = PAYOUT_EVENTS
    key_field = "member_id"
    summary = "The member's bank credited the account: the claim is paid."

    payout_id: str
    claim_id: str
    member_id: str
    gross_idr: int
    tax_idr: int
    net_idr: int
    bank_code: str
    bank_reference: str
    settled_at: datetime


class PayoutFailed(EventData):
    event_type = "jht.payout.PayoutFailed.v1"
    topic = PAYOUT_EVENTS
    key_field = "member_id"
    summary = "The bank rejected the transfer or it timed out; the reservation is released."

    payout_id: str
    claim_id: str
    member_id: str
    reason_code: str
    bank_reason: str = ""
    failed_at: datetime

    def metric_detail(self) -> str:
        return self.reason_code


class BankPayoutStatus(EventData):
    event_type = "jht.bank.PayoutStatusReported.v1"
    topic = None  # bank.status.<bank_code>
    key_field = "payout_id"
    summary = "A partner bank's report of a transfer's result (pain.002-like), on its status topic or by signed HTTP."

    payout_id: str
    end_to_end_id: str
    bank_code: str
    status: Literal["ACSC", "RJCT"]  # ISO 20022: settled / rejected
    reason_code: str | None = None
    reason: str = ""
    bank_reference: str
    reported_at: datetime
