"""What a member may read about their own payouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from jmo_shared.auth import Principal
from jmo_shared.errors import not_found
from jmo_shared.mongo import Database

from ..adapters.repository import PayoutRepository


class PayoutView(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payout_id": "3f6c2a9e-8b1d-4c7e-9a52-6d0e4f1b7c38",
                    "claim_id": "b2e7c1d4-5a9f-4e83-8c16-0f4d2a7e9b51",
                    "status": "SETTLED",
                    "gross_idr": 62500000,
                    "tax_idr": 625000,
                    "net_idr": 61875000,
                    "rail": "BI_FAST",
                    "bank_code": "014",
                    "external_id": "202603022216445428766345",
                    "sent_at": "2026-03-02T03:20:11Z",
                    "settled_at": "2026-03-02T03:20:14Z",
                    "failed_at": None,
                    "reason_code": None,
                    "tax_regime": "lump_sum_final",
                },
            ]
        }
    )

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
