"""The payout use cases bound to the database and context (built by bootstrap)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jmo_shared.auth import Principal
from jmo_shared.events import BankPayoutStatus, ClaimApproved
from jmo_shared.events.envelope import CloudEvent
from jmo_shared.mongo import Database, Tx

from ..adapters.repository import ensure_indexes
from . import handlers, notifications, queries
from .context import PayoutContext


@dataclass(frozen=True)
class Payouts:
    db: Database
    ctx: PayoutContext

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db)

    # Consumer handlers: (tx, data, event), writing only through tx.
    async def on_claim_approved(self, tx: Tx, data: ClaimApproved, event: CloudEvent) -> None:
        await handlers.initiate_payout(tx, data, self.ctx)

    async def on_bank_status(self, tx: Tx, data: BankPayoutStatus, event: CloudEvent) -> None:
        await handlers.on_bank_status(tx, data, self.ctx)

    async def receive_bank_notification(
        self, raw_body: bytes, headers: Mapping[str, str]
    ) -> notifications.NotificationAnswer:
        return await notifications.receive_bank_notification(self.db, raw_body, headers, self.ctx)

    async def time_out_overdue(self) -> int:
        return await handlers.time_out_overdue(self.db, self.ctx)

    async def payout_of_claim(self, member: Principal, claim_id: str) -> queries.PayoutView:
        return await queries.payout_of_claim(self.db, member, claim_id)

    async def payout_by_id(self, member: Principal, payout_id: str) -> queries.PayoutView:
        return await queries.payout_by_id(self.db, member, payout_id)
