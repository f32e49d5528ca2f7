"""Handlers that keep the claims service's own copy of what it needs from other services."""

from __future__ import annotations

from jmo_shared.events import (
    AccountRegistered,
    BalanceChanged,
    CloudEvent,
    EmploymentEnded,
    FaceVerified,
    MemberRegistered,
    PersonRecorded,
    ProfileUpdated,
)
from jmo_shared.mongo import Tx

from ..adapters import projections as store


async def on_member_registered(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
    await store.card_registered(tx, data)


async def on_employment_ended(tx: Tx, data: EmploymentEnded, event: CloudEvent) -> None:
    await store.employment_ended(tx, data)


async def on_person_recorded(tx: Tx, data: PersonRecorded, event: CloudEvent) -> None:
    await store.person_recorded(tx, data)


async def on_account_registered(tx: Tx, data: AccountRegistered, event: CloudEvent) -> None:
    await store.account_registered(tx, data)


async def on_face_verified(tx: Tx, data: FaceVerified, event: CloudEvent) -> None:
    await store.face_verified(tx, data)


async def on_profile_updated(tx: Tx, data: ProfileUpdated, event: CloudEvent) -> None:
    await store.profile_updated(tx, data)


async def on_balances_changed(tx: Tx, items: list[tuple[BalanceChanged, CloudEvent]]) -> None:
    """A run of BalanceChanged at once (consumer.on_batch): a bulk posting announces thousands of cards."""
    await store.balances_changed(tx, [data for data, _ in items])


HANDLERS = (
    (MemberRegistered, on_member_registered),
    (EmploymentEnded, on_employment_ended),
    (PersonRecorded, on_person_recorded),
    (AccountRegistered, on_account_registered),
    (FaceVerified, on_face_verified),
    (ProfileUpdated, on_profile_updated),
)
# Each batch handler here makes a repeat change nothing by itself (a card's newest version is kept), so
# the consumer writes no processed ids for their events (bootstrap: on_batch(..., idempotent=True)).
BATCH_HANDLERS = ((BalanceChanged, on_balances_changed),)
