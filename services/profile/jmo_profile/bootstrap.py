"""The one place the profile service is put together from its settings. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.events import (
    AccountRegistered,
    ContactChanged,
    EmploymentEnded,
    FaceVerified,
    MemberRegistered,
    PersonRecorded,
)
from jmo_shared.face_assertion import FaceAssertionReader
from jmo_shared.runtime import Runtime
from jmo_shared.topics import CORE_MEMBERSHIP, IDENTITY_EVENTS, POPULATION_RECORDS

from .adapters import inquiry_attempts
from .adapters.bank_inquiry import HttpBankInquiry
from .adapters.inquiry_attempts import InquiryAttempts
from .adapters.repository import ensure_indexes
from .service_layer import projections
from .service_layer.ports import BankInquiry
from .service_layer.updates import ProfileUpdates
from .settings import ProfileSettings


@dataclass
class ProfileService:
    settings: ProfileSettings
    runtime: Runtime
    clock: Clock
    bank: BankInquiry
    updates: ProfileUpdates

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.runtime.db)
        await inquiry_attempts.ensure_indexes(self.runtime.db)

    def consumers(self) -> list[IdempotentConsumer]:
        # One group for every feed the profile projects: fewer connections on a small machine,
        # and the handlers touch disjoint fields, so their order across topics does not matter.
        consumer = self.runtime.consumer("projection", topics=[CORE_MEMBERSHIP, POPULATION_RECORDS, IDENTITY_EVENTS])
        return [
            consumer.on(MemberRegistered, projections.on_member_registered)
            .on(EmploymentEnded, projections.on_employment_ended)
            .on(PersonRecorded, projections.on_person_recorded)
            .on(AccountRegistered, projections.on_account_registered)
            .on(FaceVerified, projections.on_face_verified)
            .on(ContactChanged, projections.on_contact_changed)
        ]


def build(
    settings: ProfileSettings | None = None, clock: Clock | None = None, bank: BankInquiry | None = None
) -> ProfileService:
    settings = settings or ProfileSettings()
    runtime = Runtime(settings)
    clock = clock or SystemClock()
    bank = bank or HttpBankInquiry(settings.bank_inquiry_url, settings.bank_inquiry_timeout_seconds)
    inquiries = InquiryAttempts(
        runtime.db, settings.bank_inquiry_max_per_member, timedelta(seconds=settings.bank_inquiry_window_seconds)
    )
    updates = ProfileUpdates(
        runtime.db, clock, bank, settings.bank_account_lengths, FaceAssertionReader(runtime.verifier), inquiries
    )
    return ProfileService(settings=settings, runtime=runtime, clock=clock, bank=bank, updates=updates)
