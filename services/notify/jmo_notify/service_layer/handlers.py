"""The events that matter to a member, each into one inbox entry and its deliveries.

Every handler runs in the idempotent consumer's transaction (jmo_shared.consumer): the
processed event id, the projection, the inbox entry and the pending deliveries commit
together, so a redelivered event changes nothing. The delivery loop sends them later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from jmo_shared.clock import Clock
from jmo_shared.consumer import Handler
from jmo_shared.events import (
    AccountRegistered,
    ClaimApproved,
    ClaimRejected,
    ClaimStatusChanged,
    ClaimSubmitted,
    CloudEvent,
    ContactChanged,
    EventData,
    PayoutFailed,
    PayoutSettled,
    ProfileUpdated,
)
from jmo_shared.events.claims import ClaimSlaBreached
from jmo_shared.events.helpdesk import ComplaintAnswered
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx
from jmo_shared.topics import PARTNER_BANKS

from ..adapters.deliveries import DeliveryStore
from ..adapters.store import NotifyStore
from ..domain import kinds as k
from ..domain.contacts import MemberContacts, apply_news, changes_between, merged
from ..domain.delivery import PENDING, delivery_id
from ..domain.formats import mask_account, mask_address
from ..domain.planning import PlannedDelivery, is_stale, plan_deliveries, plan_security_notice
from ..domain.templates import Message, render
from .metrics import NOTIFICATIONS, SKIPPED

log = get_logger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EventHandlers:
    def __init__(
        self,
        store: NotifyStore,
        deliveries: DeliveryStore,
        clock: Clock,
        sla_extra_days: int,
        sla_notify_max_level: int,
        max_age: timedelta = timedelta(hours=72),
        on_planned: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._deliveries = deliveries
        self._clock = clock
        self._sla_extra = timedelta(days=sla_extra_days)
        self._sla_max_level = sla_notify_max_level
        self._max_age = max_age
        # Wakes the delivery loop of this process (it still finds the rows only once committed).
        self._on_planned = on_planned or (lambda: None)

    def handlers(self) -> list[tuple[type[EventData], Handler]]:
        return [
            (AccountRegistered, self.on_account_registered),
            (ContactChanged, self.on_contact_changed),
            (ProfileUpdated, self.on_profile_updated),
            (ClaimSubmitted, self.on_claim_submitted),
            (ClaimApproved, self.on_claim_approved),
            (ClaimStatusChanged, self.on_claim_status_changed),
            (ClaimRejected, self.on_claim_rejected),
            (ClaimSlaBreached, self.on_claim_sla_breached),
            (PayoutSettled, self.on_payout_settled),
            (PayoutFailed, self.on_payout_failed),
            (ComplaintAnswered, self.on_complaint_answered),
        ]

    async def read_ahead(self, tx: Tx, batch: list[tuple[Any, CloudEvent]]) -> None:
        """The members' contacts and preferences and the claims a consumer batch's notices read, a query each."""
        member_ids = [member_id for data, _ in batch if (member_id := getattr(data, "member_id", None))]
        # on_payout_settled is the only handler that reads back a claim it noted.
        claim_ids = [data.claim_id for data, _ in batch if isinstance(data, PayoutSettled)]
        await self._store.read_ahead(tx, member_ids, claim_ids)

    def wanted(self) -> dict[type[EventData], Callable[[Any], bool]]:
        """The events a handler above would do nothing with, told apart before any transaction (most of
        a claim's status changes): the consumer skips them without recording them as processed."""
        return {
            ClaimStatusChanged: lambda data: data.status == "NEEDS_REVIEW",
            ClaimSlaBreached: lambda data: data.escalation_level <= self._sla_max_level,
        }

    # --- the member's contacts -------------------------------------------------

    async def on_account_registered(self, tx: Tx, data: AccountRegistered, event: CloudEvent) -> None:
        # Given at registration, not yet confirmed by a code: nothing but security notices goes there.
        await self._contact_news(tx, data.member_id, data.email, data.phone, False, data.registered_at)

    async def on_profile_updated(self, tx: Tx, data: ProfileUpdated, event: CloudEvent) -> None:
        # The member confirmed these in a face-matched pengkinian data update.
        await self._contact_news(
            tx, data.member_id, data.email, data.phone, data.data_update_completed, data.confirmed_at
        )

    async def _contact_news(
        self, tx: Tx, member_id: str, email: str | None, phone: str | None, confirmed: bool, at: datetime
    ) -> None:
        contacts = await self._store.contacts_in(tx, member_id) or MemberContacts(member_id)
        self._store.save_contacts(tx, apply_news(contacts, email, phone, confirmed, at))

    async def on_contact_changed(self, tx: Tx, data: ContactChanged, event: CloudEvent) -> None:
        """A security notice to the old and the new contact (always), then the new one is the member's."""
        contacts = await self._store.contacts_in(tx, data.member_id) or MemberContacts(data.member_id)
        changes = changes_between(contacts, data.email, data.phone)
        updated = contacts
        for change in changes:
            # Identity replaces a contact only once a code sent there was typed back: confirmed.
            if change.channel == "email":
                updated = MemberContacts(
                    updated.member_id, merged(None, change.new, True, data.changed_at), updated.phone
                )
            else:
                updated = MemberContacts(
                    updated.member_id, updated.email, merged(None, change.new, True, data.changed_at)
                )
        self._store.save_contacts(tx, updated)
        if not changes:
            return
        facts = {
            "changed_at": data.changed_at,
            "channels": [c.channel for c in changes],
            "new_contacts": ", ".join(mask_address(c.new) for c in changes),
            "restricted_until": data.restricted_until,
            "cause": data.cause,
        }
        planned = plan_security_notice(data.member_id, changes, self._clock.now())
        await self._notify(tx, event, data.member_id, k.SECURITY_CONTACT_CHANGED, facts, {}, planned=planned)

    # --- claims ------------------------------------------------------------------

    async def on_claim_submitted(self, tx: Tx, data: ClaimSubmitted, event: CloudEvent) -> None:
        self._store.note_claim(tx, data.claim_id, data.member_id, {"kpj": data.kpj, "reason": data.reason})
        facts = {"claim_id": data.claim_id, "kpj": data.kpj, "reason": data.reason, "sla_due_at": data.sla_due_at}
        await self._notify(tx, event, data.member_id, k.CLAIM_SUBMITTED, facts, {"claim_id": data.claim_id})

    async def on_claim_approved(self, tx: Tx, data: ClaimApproved, event: CloudEvent) -> None:
        # Not a message of its own (the money follows within minutes): what the "paid" one names.
        self._store.note_claim(
            tx,
            data.claim_id,
            data.member_id,
            {
                "kpj": data.kpj,
                "bank_code": data.bank_account.bank_code,
                "account_masked": mask_account(data.bank_account.account_number),
            },
        )

    async def on_claim_status_changed(self, tx: Tx, data: ClaimStatusChanged, event: CloudEvent) -> None:
        # The other moves have an event of their own (ClaimSubmitted, ClaimRejected, PayoutSettled, PayoutFailed)
        # or are steps the member need not hear about.
        if data.status != "NEEDS_REVIEW":
            return
        facts = {"claim_id": data.claim_id, "reason_code": data.reason_code}
        await self._notify(tx, event, data.member_id, k.CLAIM_NEEDS_REVIEW, facts, {"claim_id": data.claim_id})

    async def on_claim_rejected(self, tx: Tx, data: ClaimRejected, event: CloudEvent) -> None:
        facts = {"claim_id": data.claim_id, "reason_code": data.reason_code, "message": data.message}
        await self._notify(tx, event, data.member_id, k.CLAIM_REJECTED, facts, {"claim_id": data.claim_id})

    async def on_claim_sla_breached(self, tx: Tx, data: ClaimSlaBreached, event: CloudEvent) -> None:
        # One apology per late claim: the further escalations are internal.
        if data.escalation_level > self._sla_max_level:
            return
        facts = {
            "claim_id": data.claim_id,
            "sla_due_at": data.sla_due_at,
            "new_due_at": data.escalated_at + self._sla_extra,
        }
        await self._notify(tx, event, data.member_id, k.CLAIM_SLA_BREACHED, facts, {"claim_id": data.claim_id})

    # --- payout ------------------------------------------------------------------

    async def on_payout_settled(self, tx: Tx, data: PayoutSettled, event: CloudEvent) -> None:
        claim = await self._store.claim_in(tx, data.claim_id)
        facts = {
            "claim_id": data.claim_id,
            "gross_idr": data.gross_idr,
            "tax_idr": data.tax_idr,
            "net_idr": data.net_idr,
            "settled_at": data.settled_at,
            "bank_name": PARTNER_BANKS.get(data.bank_code, f"bank {data.bank_code}"),
            "account_masked": claim.get("account_masked") if claim.get("bank_code") == data.bank_code else None,
        }
        await self._notify(tx, event, data.member_id, k.CLAIM_PAID, facts, {"claim_id": data.claim_id})

    async def on_payout_failed(self, tx: Tx, data: PayoutFailed, event: CloudEvent) -> None:
        facts = {"claim_id": data.claim_id, "reason_code": data.reason_code}
        await self._notify(tx, event, data.member_id, k.PAYOUT_FAILED, facts, {"claim_id": data.claim_id})

    # --- helpdesk ------------------------------------------------------------------

    async def on_complaint_answered(self, tx: Tx, data: ComplaintAnswered, event: CloudEvent) -> None:
        facts = {"ticket": data.ticket, "answered_at": data.answered_at}
        await self._notify(tx, event, data.member_id, k.COMPLAINT_ANSWERED, facts, {"ticket": data.ticket})

    # --- one notice: the inbox entry and its deliveries ------------------------------

    async def _notify(
        self,
        tx: Tx,
        event: CloudEvent,
        member_id: str,
        kind: str,
        facts: dict[str, Any],
        refs: dict[str, str],
        planned: list[PlannedDelivery] | None = None,
    ) -> None:
        now = self._clock.now()
        prefs = await self._store.preferences_in(tx, member_id)
        message = render(kind, facts, prefs.language)
        if planned is None:
            contacts = await self._store.contacts_in(tx, member_id)
            planned, skipped = plan_deliveries(kind, member_id, contacts, prefs, now)
            for s in skipped:
                SKIPPED.labels(s.channel, kind, s.reason).inc()
        if is_stale(event.time, now, self._max_age):
            # Old news (a new consumer group reading the topics from their start, a long outage):
            # in the inbox, but no e-mail, SMS or push about something long past.
            for p in planned:
                SKIPPED.labels(p.channel, kind, "stale").inc()
            planned = []
        self._store.add_notification(
            tx,
            {
                "_id": event.id,
                "member_id": member_id,
                "kind": kind,
                "lang": prefs.language,
                "title": message.title,
                "body": message.body,
                "refs": refs,
                "event_type": event.type,
                "created_at": event.time,
                "applied_at": now,
                "read_at": None,
            },
        )
        self._deliveries.add(
            tx, [_delivery_doc(event.id, member_id, kind, prefs.language, message, p, now) for p in planned]
        )
        NOTIFICATIONS.labels(kind).inc()
        if planned:
            self._on_planned()


def _delivery_doc(
    notification_id: str, member_id: str, kind: str, lang: str, message: Message, p: PlannedDelivery, now: datetime
) -> dict[str, Any]:
    text = message.email_text(lang) if p.channel == k.EMAIL else message.sms
    return {
        "_id": delivery_id(notification_id, p.channel, p.recipient),
        "notification_id": notification_id,
        "member_id": member_id,
        "kind": kind,
        "channel": p.channel,
        "recipient": p.recipient,
        "destination": p.destination,
        "subject": message.title,
        "text": text,
        "lang": lang,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": p.not_before,
        "lease_until": EPOCH,
        "created_at": now,
    }
