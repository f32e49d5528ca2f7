"""Projecting the upstream feeds into identity's registry (consumer handlers).

Both feeds arrive at least once and in any order between topics: each handler
only sets its own part of the NIK's document, so any order ends in the same state.
"""

from __future__ import annotations

from jmo_shared.events import CloudEvent, MemberRegistered, PersonRecorded
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.registry_store import RegistryStore

log = get_logger(__name__)


def registry_handlers(store: RegistryStore):
    async def member_registered(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        await store.record_card(
            nik=data.nik,
            kpj=data.kpj,
            full_name=data.full_name,
            birth_date=data.birth_date,
            employer_id=data.employer_id,
            employer_name=data.employer_name,
            registered_on=data.registered_on,
            at=event.time,
            session=tx.session,
        )

    async def person_recorded(tx: Tx, data: PersonRecorded, event: CloudEvent) -> None:
        person = {
            "full_name": data.full_name,
            "birth_date": data.birth_date.isoformat(),
            "birth_place": data.birth_place,
            "sex": data.sex,
            "kk_number": data.kk_number,
            "address": data.address.model_dump(),
        }
        photo_ok = await store.record_person(
            nik=data.nik, person=person, photo_b64=data.photo_jpeg_b64, at=event.time, session=tx.session
        )
        if not photo_ok:
            # The record is still worth having; face checks answer no_reference_photo until a good one comes.
            log.warning("ktp_photo_undecodable", event_id=event.id)

    return member_registered, person_recorded
