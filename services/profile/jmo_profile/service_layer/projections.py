"""The worker's handlers: project the feeds and identity's events into the profile.

Events arrive at least once and, between topics, in any order. Redeliveries are
dropped by the idempotent consumer; each handler writes only the fields its
event owns (so a card's ending may come before its registration), and a record
older than the one stored (by event time) does not overwrite it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jmo_shared.events import (
    AccountRegistered,
    CloudEvent,
    ContactChanged,
    EmploymentEnded,
    FaceVerified,
    MemberRegistered,
    PersonRecorded,
)
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.repository import Store

log = get_logger(__name__)


def _is_stale(stored_at: datetime | None, event: CloudEvent) -> bool:
    # MongoDB keeps milliseconds: compare at that precision so a redelivered twin is not "newer".
    if stored_at is None:
        return False
    return stored_at > event.time.replace(microsecond=event.time.microsecond // 1000 * 1000)


async def on_member_registered(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
    store = Store.of(tx)
    card = await store.card(data.kpj) or {}
    if _is_stale(card.get("registered_event_at"), event):
        log.info("stale_event_skipped", type=event.type, kpj=data.kpj)
        return
    await store.set_card_fields(
        data.kpj,
        {
            "nik": data.nik,
            "full_name": data.full_name,
            "birth_date": data.birth_date.isoformat(),
            "employer_id": data.employer_id,
            "employer_name": data.employer_name,
            "registered_on": data.registered_on.isoformat(),
            "registered_event_at": event.time,
        },
    )


async def on_employment_ended(tx: Tx, data: EmploymentEnded, event: CloudEvent) -> None:
    store = Store.of(tx)
    card = await store.card(data.kpj) or {}
    if _is_stale(card.get("ended_event_at"), event):
        log.info("stale_event_skipped", type=event.type, kpj=data.kpj)
        return
    fields: dict[str, Any] = {
        "ended_on": data.ended_on.isoformat(),
        "end_cause": data.cause,
        "letter_date": data.letter_date.isoformat(),
        "ended_event_at": event.time,
    }
    if data.nik:
        fields["nik"] = data.nik
    await store.set_card_fields(data.kpj, fields)


async def on_person_recorded(tx: Tx, data: PersonRecorded, event: CloudEvent) -> None:
    store = Store.of(tx)
    person = await store.person(data.nik) or {}
    if _is_stale((person.get("ktp") or {}).get("recorded_at"), event):
        log.info("stale_event_skipped", type=event.type)
        return
    # The KTP photo belongs to identity's face matching; profile keeps no biometrics.
    ktp = {
        "full_name": data.full_name,
        "birth_place": data.birth_place,
        "birth_date": data.birth_date.isoformat(),
        "sex": data.sex,
        "kk_number": data.kk_number,
        "address": data.address.model_dump(),
        "recorded_at": event.time,
    }
    await store.set_person_fields(data.nik, {"ktp": ktp}, now=event.time)


async def on_account_registered(tx: Tx, data: AccountRegistered, event: CloudEvent) -> None:
    store = Store.of(tx)
    person = await store.person(data.nik) or {}
    account = person.get("account") or {}
    if account.get("member_id") not in (None, data.member_id):
        log.warning("account_replaced", nik_suffix=data.nik[-4:], old=account.get("member_id"), new=data.member_id)
    if _is_stale(account.get("event_at"), event):
        return
    await store.set_person_fields(
        data.nik,
        {
            "member_id": data.member_id,
            "account": {
                "member_id": data.member_id,
                "full_name": data.full_name,
                "email": data.email,
                "phone": data.phone,
                "kpj_numbers": data.kpj_numbers,
                "registered_at": data.registered_at,
                "event_at": event.time,
            },
        },
        now=event.time,
    )


async def on_face_verified(tx: Tx, data: FaceVerified, event: CloudEvent) -> None:
    await Store.of(tx).save_face_verification(
        data.verification_id,
        {
            "member_id": data.member_id,
            "nik": data.nik,
            "purpose": data.purpose,
            "score": data.score,
            "threshold": data.threshold,
            "model_version": data.model_version,
            "verified_at": data.verified_at,
            "expires_at": data.expires_at,
        },
    )


async def on_contact_changed(tx: Tx, data: ContactChanged, event: CloudEvent) -> None:
    """A confirmed new e-mail/phone; after an account recovery, also a hold on bank-account changes."""
    store = Store.of(tx)
    person = await store.person(data.nik) or {}
    account = person.get("account") or {}
    fields: dict[str, Any] = {}
    if not _is_stale(account.get("contact_event_at"), event):
        fields.update(
            {"account.email": data.email, "account.phone": data.phone, "account.contact_event_at": event.time}
        )
    held = (person.get("restrictions") or {}).get("bank_account_change_until")
    # Holds only lengthen: a later plain confirmation (no restricted_until) must not lift one.
    if data.restricted_until is not None and (held is None or data.restricted_until > held):
        fields["restrictions.bank_account_change_until"] = data.restricted_until
        fields["restrictions.cause"] = data.cause
    if fields:
        await store.set_person_fields(data.nik, fields, now=event.time)
