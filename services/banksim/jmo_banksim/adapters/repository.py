"""The simulated bank's books: accounts and the transfers it received (MongoDB database "banksim")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from jmo_shared.mongo import Database, Tx

ACCOUNTS = "accounts"
TRANSFERS = "transfers"

RECEIVED = "RECEIVED"  # waiting for its execution time
IGNORED = "IGNORED"  # the "silent" behaviour: never executed, never answered
# Once executed, a transfer has its Decision's status (domain/transfer.py): ACSC or RJCT.
_NOT_IGNORED = (RECEIVED, "ACSC", "RJCT")


def account_id(bank_code: str, account_number: str) -> str:
    return f"{bank_code}:{account_number}"


def transfer_id(bank_code: str, end_to_end_id: str) -> str:
    # One transfer per (bank, end_to_end_id): a redelivered instruction finds it and credits nothing more.
    return f"{bank_code}:{end_to_end_id}"


async def ensure_indexes(db: Database) -> None:
    await db[TRANSFERS].create_index([("status", 1), ("notified_at", 1)], name="unfinished")
    await db[TRANSFERS].create_index("payout_id", name="by_payout")
    await db[TRANSFERS].create_index([("bank_code", 1), ("status", 1), ("executed_at", 1)], name="booked_by_day")


async def open_account(db: Database, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The account, and whether this call opened it."""
    try:
        await db[ACCOUNTS].insert_one(doc)
        return doc, True
    except DuplicateKeyError:
        existing = await db[ACCOUNTS].find_one({"_id": doc["_id"]})
        assert existing is not None
        return existing, False


async def get_account(db: Database | Tx, bank_code: str, account_number: str) -> dict[str, Any] | None:
    session = db.session if isinstance(db, Tx) else None
    return await db[ACCOUNTS].find_one({"_id": account_id(bank_code, account_number)}, session=session)


async def insert_transfer(db: Database, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    try:
        await db[TRANSFERS].insert_one(doc)
        return doc, True
    except DuplicateKeyError:
        existing = await db[TRANSFERS].find_one({"_id": doc["_id"]})
        assert existing is not None
        return existing, False


async def get_transfer(db: Database | Tx, doc_id: str) -> dict[str, Any] | None:
    session = db.session if isinstance(db, Tx) else None
    return await db[TRANSFERS].find_one({"_id": doc_id}, session=session)


async def credit(tx: Tx, bank_code: str, account_number: str, entry: dict[str, Any]) -> None:
    await tx[ACCOUNTS].update_one(
        {"_id": account_id(bank_code, account_number)},
        {"$inc": {"balance_idr": entry["amount_idr"]}, "$push": {"transactions": entry}},
        session=tx.session,
    )


async def mark_executed(tx: Tx, doc_id: str, fields: dict[str, Any]) -> bool:
    result = await tx[TRANSFERS].update_one({"_id": doc_id, "status": RECEIVED}, {"$set": fields}, session=tx.session)
    return result.modified_count == 1


async def mark_notified(db: Database, doc_id: str, at: datetime, outcome: str, copies: int) -> None:
    await db[TRANSFERS].update_one(
        {"_id": doc_id}, {"$set": {"notified_at": at, "notify_outcome": outcome}, "$inc": {"notifications": copies}}
    )


async def unfinished(db: Database) -> list[dict[str, Any]]:
    """Transfers a restart must pick up: not executed yet, or executed but not yet reported."""
    # One equality query per status a transfer can have besides IGNORED, each served by the `unfinished`
    # index: with `status: {$ne: IGNORED}` SecantusDB scanned every transfer the bank ever received.
    found: list[dict[str, Any]] = []
    for status in _NOT_IGNORED:
        found += await db[TRANSFERS].find({"status": status, "notified_at": None}).to_list()
    return sorted(found, key=lambda doc: doc["received_at"])


async def transfers_of_payout(db: Database, payout_id: str) -> list[dict[str, Any]]:
    return await db[TRANSFERS].find({"payout_id": payout_id}).sort("received_at", 1).to_list()


BOOKED = "ACSC"  # an executed credit transfer: the only kind a statement lists


async def booked_between(db: Database, bank_code: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    cursor = (
        db[TRANSFERS]
        .find({"bank_code": bank_code, "status": BOOKED, "executed_at": {"$gte": start, "$lt": end}})
        .sort("executed_at", 1)
    )
    return await cursor.to_list()


async def booked_total_before(db: Database, bank_code: str, before: datetime) -> int:
    rows = await (
        await db[TRANSFERS].aggregate(
            [
                {"$match": {"bank_code": bank_code, "status": BOOKED, "executed_at": {"$lt": before}}},
                {"$group": {"_id": None, "total": {"$sum": "$amount_idr"}}},
            ]
        )
    ).to_list()
    return int(rows[0]["total"]) if rows else 0
