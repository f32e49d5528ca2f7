"""MongoDB storage of payouts and of every bank report (the audit trail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_shared.mongo import Database, Tx

from ..domain.model import BankReport, Payout, PayoutStatus

PAYOUTS = "payouts"
BANK_REPORTS = "bank_reports"


async def ensure_indexes(db: Database) -> None:
    payouts = db[PAYOUTS]
    # Exactly one payout per claim, whatever the bus redelivers.
    await payouts.create_index("claim_id", unique=True, name="one_payout_per_claim")
    await payouts.create_index("external_id", unique=True, name="external_id_unique")
    await payouts.create_index([("member_id", 1), ("claim_id", 1)], name="member_claim")
    await payouts.create_index([("status", 1), ("sent_at", 1)], name="in_flight_by_age")
    await db[BANK_REPORTS].create_index([("payout_id", 1), ("received_at", 1)], name="reports_of_payout")


def to_domain(doc: dict[str, Any]) -> Payout:
    return Payout(
        payout_id=doc["_id"],
        claim_id=doc["claim_id"],
        member_id=doc["member_id"],
        bank_code=doc["bank_code"],
        end_to_end_id=doc["end_to_end_id"],
        gross_idr=doc["gross_idr"],
        tax_idr=doc["tax_idr"],
        net_idr=doc["net_idr"],
        rail=doc.get("rail"),
        status=PayoutStatus(doc["status"]),
        sent_at=doc.get("sent_at"),
        settled_at=doc.get("settled_at"),
        failed_at=doc.get("failed_at"),
        failure_code=doc.get("failure_code"),
        failure_reason=doc.get("failure_reason", ""),
        bank_reference=doc.get("bank_reference"),
    )


def to_document(payout: Payout) -> dict[str, Any]:
    """A new payout as stored: what it pays, the ids the bank sees, how it was sent or why not."""
    claim, tax, ids, creditor = payout.claim, payout.tax, payout.ids, payout.creditor
    assert claim is not None and tax is not None and ids is not None and creditor is not None, "a new payout"
    doc: dict[str, Any] = {
        "_id": payout.payout_id,
        "correlation_id": payout.correlation_id,
        "claim_id": claim.claim_id,
        "member_id": claim.member_id,
        "nik": claim.nik,
        "kpj": claim.kpj,
        "reason": claim.reason,
        "gross_idr": tax.gross_idr,
        "tax_idr": tax.tax_idr,
        "net_idr": tax.net_idr,
        "tax_regime": tax.regime,
        "has_npwp": tax.has_npwp,
        "entitlement_date": claim.entitlement_date.isoformat(),
        "bank_code": creditor.bank_code,
        "creditor": {"name": creditor.name, "account_number": creditor.account_number, "bank_code": creditor.bank_code},
        "external_id": ids.external_id,
        "end_to_end_id": ids.end_to_end_id,
        "message_id": ids.message_id,
        "partner_reference_no": ids.partner_reference_no,
        "status": payout.status.value,
        "rail": payout.rail,
        "sent_at": payout.sent_at,
        "created_at": payout.created_at,
        "updated_at": payout.created_at,
    }
    if payout.instruction is not None:
        doc["transfer"] = payout.instruction
    if payout.status is PayoutStatus.FAILED:
        doc.update(failed_at=payout.failed_at, failure_code=payout.failure_code, failure_reason=payout.failure_reason)
    return doc


def final_fields(payout: Payout, now: datetime) -> dict[str, Any]:
    return {
        "status": payout.status.value,
        "settled_at": payout.settled_at,
        "failed_at": payout.failed_at,
        "failure_code": payout.failure_code,
        "failure_reason": payout.failure_reason,
        "bank_reference": payout.bank_reference,
        "updated_at": now,
    }


class PayoutRepository:
    """Reads and writes inside one transaction (a Tx) or, for reads and audit rows, outside one."""

    def __init__(self, source: Tx | Database) -> None:
        self._source = source
        self._session: AsyncClientSession | None = source.session if isinstance(source, Tx) else None

    async def get(self, payout_id: str) -> dict[str, Any] | None:
        return await self._source[PAYOUTS].find_one({"_id": payout_id}, session=self._session)

    async def by_claim(self, claim_id: str) -> dict[str, Any] | None:
        return await self._source[PAYOUTS].find_one({"claim_id": claim_id}, session=self._session)

    async def add(self, payout: Payout) -> None:
        await self._source[PAYOUTS].insert_one(to_document(payout), session=self._session)

    async def save_final(self, payout: Payout, now: datetime) -> bool:
        """Move an in-flight payout to its final state; False if it was no longer in flight."""
        result = await self._source[PAYOUTS].update_one(
            {"_id": payout.payout_id, "status": PayoutStatus.SENT.value},
            {"$set": final_fields(payout, now)},
            session=self._session,
        )
        return result.modified_count == 1

    async def record_report(self, report: BankReport, channel: str, outcome: str, received_at: datetime) -> None:
        await self._source[BANK_REPORTS].insert_one(
            {
                "payout_id": report.payout_id,
                "end_to_end_id": report.end_to_end_id,
                "bank_code": report.bank_code,
                "status": report.status,
                "reason_code": report.reason_code,
                "reason": report.reason,
                "bank_reference": report.bank_reference,
                "reported_at": report.reported_at,
                "received_at": received_at,
                "channel": channel,
                "outcome": outcome,
            },
            session=self._session,
        )

    async def overdue_ids(self, sent_before: datetime, limit: int) -> list[str]:
        cursor = (
            self._source[PAYOUTS]
            .find(
                {"status": PayoutStatus.SENT.value, "sent_at": {"$lte": sent_before}},
                {"_id": 1},
                session=self._session,
            )
            .sort("sent_at", 1)
            .limit(limit)
        )
        return [doc["_id"] async for doc in cursor]

    async def for_member(self, member_id: str, nik: str | None, **match: Any) -> dict[str, Any] | None:
        query: dict[str, Any] = {"member_id": member_id, **match}
        if nik is not None:
            query["nik"] = nik
        return await self._source[PAYOUTS].find_one(query, session=self._session)
