"""Writes of the worker's projections, inside the consumer's transaction.

Events arrive at least once and in any order between topics: every write is an
upsert of the part the event owns, and state-carrying events (BalanceChanged,
ProfileUpdated) only replace older state. A look before a conditional write
avoids upsert duplicate-key errors, which would abort the transaction.
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne

from jmo_shared.events import (
    AccountRegistered,
    BalanceChanged,
    EmploymentEnded,
    FaceVerified,
    MemberRegistered,
    PersonRecorded,
    ProfileUpdated,
)
from jmo_shared.mongo import Tx

from .codec import iso
from .collections import CARDS, FACE_VERIFICATIONS, MEMBERS


async def _set(tx: Tx, collection: str, _id: str, fields: dict[str, Any]) -> None:
    await tx[collection].update_one({"_id": _id}, {"$set": fields}, upsert=True, session=tx.session)


async def card_registered(tx: Tx, e: MemberRegistered) -> None:
    await _set(
        tx,
        CARDS,
        e.kpj,
        {
            "nik": e.nik,
            "registered_on": iso(e.registered_on),
            "employer_id": e.employer_id,
            "employer_name": e.employer_name,
            "full_name": e.full_name,
            "birth_date": iso(e.birth_date),
        },
    )


async def employment_ended(tx: Tx, e: EmploymentEnded) -> None:
    fields: dict[str, Any] = {
        "employment": {"ended_on": iso(e.ended_on), "cause": e.cause, "letter_date": iso(e.letter_date)},
    }
    # Older producers leave the NIK out; MemberRegistered fills it in whenever it comes.
    if e.nik:
        fields["nik"] = e.nik
    await _set(tx, CARDS, e.kpj, fields)


async def person_recorded(tx: Tx, e: PersonRecorded) -> None:
    await _set(
        tx,
        MEMBERS,
        e.nik,
        {
            "person": {
                "full_name": e.full_name,
                "birth_date": iso(e.birth_date),
                "birth_place": e.birth_place,
                "sex": e.sex,
                "kk_number": e.kk_number,
            },
        },
    )


async def account_registered(tx: Tx, e: AccountRegistered) -> None:
    await _set(tx, MEMBERS, e.nik, {"member_id": e.member_id, "account_registered_at": e.registered_at})


async def face_verified(tx: Tx, e: FaceVerified) -> None:
    await _set(
        tx,
        FACE_VERIFICATIONS,
        e.verification_id,
        {
            "member_id": e.member_id,
            "nik": e.nik,
            "purpose": e.purpose,
            "score": e.score,
            "verified_at": e.verified_at,
            "expires_at": e.expires_at,
        },
    )


async def profile_updated(tx: Tx, e: ProfileUpdated) -> bool:
    """Keep the newest confirmed update; returns False when this one is older."""
    doc = await tx[MEMBERS].find_one({"_id": e.nik}, {"profile.confirmed_at": 1}, session=tx.session)
    known = ((doc or {}).get("profile") or {}).get("confirmed_at")
    if known is not None and known >= e.confirmed_at:
        return False
    account = e.bank_account.model_dump() if e.bank_account else None
    await _set(
        tx,
        MEMBERS,
        e.nik,
        {
            "member_id": e.member_id,
            "profile": {
                "update_id": e.update_id,
                "data_update_completed": e.data_update_completed,
                "full_name": e.full_name,
                "npwp": e.npwp,
                "bank_account": account,
                "confirmed_at": e.confirmed_at,
            },
        },
    )
    return True


async def balances_changed(tx: Tx, events: list[BalanceChanged]) -> int:
    """The newest balance of each card of a run of events: one read and one bulk write, whatever
    the run's length (a bulk posting announces thousands of cards). Returns the cards updated."""
    newest: dict[str, BalanceChanged] = {}
    for e in events:
        if e.kpj not in newest or e.version > newest[e.kpj].version:
            newest[e.kpj] = e
    known = {
        d["_id"]: ((d.get("balance") or {}).get("version"))
        for d in await tx[CARDS]
        .find({"_id": {"$in": list(newest)}}, {"balance.version": 1}, session=tx.session)
        .to_list()
    }
    writes = [
        UpdateOne(
            {"_id": kpj},
            {
                "$set": {
                    "nik": e.nik,
                    "balance": {
                        "balance_idr": e.balance_idr,
                        "available_idr": e.available_idr,
                        "reserved_idr": e.reserved_idr,
                        "version": e.version,
                        "as_of": e.as_of,
                    },
                }
            },
            upsert=True,
        )
        for kpj, e in newest.items()
        if known.get(kpj) is None or known[kpj] < e.version
    ]
    if writes:
        await tx[CARDS].bulk_write(writes, ordered=True, session=tx.session)
    return len(writes)
