"""What the rules need from the other services' events, re-keyed by what each rule counts.

An event becomes zero or more signals; each signal is keyed by its subject (a member, a hashed
bank account, a KPJ card, an employer, a NIK, a client address), so every table that counts
one subject lives in one partition of the signals topic. Pure: no faust, no Kafka here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jmo_shared.events import (
    AccountRegistered,
    ClaimSubmitted,
    CloudEvent,
    FaceMatchRefused,
    MemberRegistered,
    PayoutSent,
    ProfileUpdated,
    parse_data,
)

from .rules import hash_account

# Signal kinds.
ACCOUNT_SET = "account_set"  # member:<id>   the member's (hashed) bank account from a confirmed data update
CLAIM = "claim"  # member:<id>               a claim submitted
ACCOUNT_CLAIM = "account_claim"  # account:<hash>  a claim to be paid into the account (forwarded from CLAIM)
ACCOUNT_CREDIT = "account_credit"  # account:<hash>  a credit transfer sent to the account
CARD_EMPLOYER = "card_employer"  # card:<kpj>  the employer that registered a card
CARD_CLAIM = "card_claim"  # card:<kpj>      a claim on the card (to find its employer)
EMPLOYER_CLAIM = "employer_claim"  # employer:<id>  a claim on one of the employer's cards (forwarded)
FACE_REFUSAL = "face_refusal"  # nik:<nik> / addr:<ip>
REGISTRATION = "registration"  # addr:<ip>


@dataclass(frozen=True)
class SignalData:
    kind: str
    key: str
    at: datetime
    event_id: str
    member_id: str | None = None
    nik: str | None = None
    claim_id: str | None = None
    value: str | None = None  # the hashed account, the employer id, the KPJ
    changed: bool = False


def signals_of(event: CloudEvent, account_key: bytes) -> list[SignalData]:
    data = parse_data(event)
    eid = event.id
    if isinstance(data, ClaimSubmitted):
        common = {
            "at": data.submitted_at,
            "event_id": eid,
            "member_id": data.member_id,
            "nik": data.nik,
            "claim_id": data.claim_id,
            "value": data.kpj,
        }
        return [
            SignalData(CLAIM, f"member:{data.member_id}", **common),
            SignalData(CARD_CLAIM, f"card:{data.kpj}", **common),
        ]
    if isinstance(data, ProfileUpdated) and data.bank_account is not None:
        account = hash_account(account_key, data.bank_account.bank_code, data.bank_account.account_number)
        return [
            SignalData(
                ACCOUNT_SET,
                f"member:{data.member_id}",
                data.bank_account.changed_at or data.confirmed_at,
                eid,
                member_id=data.member_id,
                nik=data.nik,
                value=account,
                changed=data.bank_account_changed,
            )
        ]
    if isinstance(data, PayoutSent):
        account = hash_account(account_key, data.creditor.bank_code, data.creditor.account_number)
        return [
            SignalData(
                ACCOUNT_CREDIT,
                f"account:{account}",
                data.sent_at,
                eid,
                member_id=data.member_id,
                claim_id=data.claim_id,
                value=account,
            )
        ]
    if isinstance(data, MemberRegistered):
        return [
            SignalData(
                CARD_EMPLOYER,
                f"card:{data.kpj}",
                datetime.combine(data.registered_on, datetime.min.time()),
                eid,
                nik=data.nik,
                value=data.employer_id,
            )
        ]
    if isinstance(data, FaceMatchRefused):
        out = [
            SignalData(FACE_REFUSAL, f"nik:{data.nik}", data.refused_at, eid, member_id=data.member_id, nik=data.nik)
        ]
        if data.client_address:
            out.append(
                SignalData(
                    FACE_REFUSAL,
                    f"addr:{data.client_address}",
                    data.refused_at,
                    eid,
                    member_id=data.member_id,
                    nik=data.nik,
                )
            )
        return out
    if isinstance(data, AccountRegistered) and data.client_address:
        return [
            SignalData(
                REGISTRATION,
                f"addr:{data.client_address}",
                data.registered_at,
                eid,
                member_id=data.member_id,
                nik=data.nik,
            )
        ]
    return []
