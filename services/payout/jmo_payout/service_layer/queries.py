"""What a member may read about their own payouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from jmo_shared.auth import Principal
from jmo_shared.errors import not_found
from jmo_shared.mongo import Database

from ..adapters.repository import PayoutRepository


class PayoutView(BaseModel):
    payout_id: str
    claim_id: str
    status: str
    gross_idr: int
    tax_idr: int
    net_idr: int
    rail: str | None
    bank_code: str
    external_id: str
    sent_at: datetime | None
    settled_at: datetime | None
    failed_at: datetime | None = None
    reason_code: str | None = None
    tax_regime: str | None = None


def _view(doc: dict[str, Any]) -> PayoutView:
    return PayoutView(
        payout_id=doc["_id"],
        claim_id=doc["claim_id"],
        status=doc["status"],
        gross_idr=doc["gross_idr"],
        tax_idr=doc["tax_idr"],
        net_idr=doc["net_idr"],
        rail=doc.get("rail"),
        bank_code=doc["bank_code"],
        external_id=doc["external_id"],
        sent_at=doc.get("sent_at"),
        settled_at=doc.get("settled_at"),
        failed_at=doc.get("failed_at"),
        reason_code=doc.get("failure_code"),
        tax_regime=doc.get("tax_regime"),
    )


async def payout_of_claim(db: Database, member: Principal, claim_id: str) -> PayoutView:
    doc = await PayoutRepository(db).for_member(member.member_id, member.nik, claim_id=claim_id)
    if doc is None:
        raise not_found("payout", code="payout_not_found")
    return _view(doc)


async def payout_by_id(db: Database, member: Principal, payout_id: str) -> PayoutView:
    doc = await PayoutRepository(db).for_member(member.member_id, member.nik, _id=payout_id)
    if doc is None:
        raise not_found("payout", code="payout_not_found")
    return _view(doc)
