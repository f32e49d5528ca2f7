"""MongoDB storage of the balance service: cards, contributions, ledger, holds, merges.

Dates are stored as ISO strings (BSON has no date type; ISO strings sort right).
Writes take the transaction's session: every change goes through Database.transaction.

Every query filters only on the fields of one index, and finer conditions are
checked in Python: SecantusDB (the local server) scans the whole collection for
a filter with any field outside the index, and for every $or.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, DeleteOne, InsertOne, UpdateOne

from jmo_shared.mongo import Database, Tx, duplicate_key_raised

from ..domain.merges import Verification
from ..domain.model import MERGED, Card, CardFigures
from ..domain.reservations import OPEN, Reservation
from ..domain.returns import MonthFlow, parse_period

CARDS = "cards"
CONTRIBUTIONS = "contributions"
LEDGER = "ledger"
RESERVATIONS = "reservations"
OPEN_CLAIMS = "open_claims"
VERIFICATIONS = "verifications"
MERGES = "merges"


# The cards merged into a card, kept on the card itself (every new card starts with none), so
# the common case (a card nobody merged into) needs no look-up of its pot. A card stored before
# this field existed has none and its pot is looked up by `merged_into`.
MERGE_SOURCES = "merge_sources"
NEW_CARD = {"reserved_idr": 0, "version": 0, MERGE_SOURCES: []}

# What card_from_doc reads: the stored figures, versions and audit fields stay on the server.
VIEW_FIELDS = {
    f: 1
    for f in (
        "nik",
        "registered",
        "full_name",
        "employer_name",
        "registered_on",
        "ended_on",
        "merged_into",
        "merged_on",
        "flows",
        "reserved_idr",
    )
}


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def card_from_doc(doc: dict[str, Any]) -> Card:
    flows = {
        parse_period(period): MonthFlow(f.get("c", 0), f.get("d", 0)) for period, f in (doc.get("flows") or {}).items()
    }
    return Card(
        kpj=doc["_id"],
        nik=doc.get("nik") if doc.get("registered") else None,
        full_name=doc.get("full_name", ""),
        employer_name=doc.get("employer_name", ""),
        registered_on=_day(doc.get("registered_on")),
        ended_on=_day(doc.get("ended_on")),
        merged_into=doc.get("merged_into"),
        merged_on=_day(doc.get("merged_on")),
        flows=flows,
        reserved_idr=doc.get("reserved_idr", 0),
    )


def _figures_fields(figures: CardFigures, version: int, now: datetime) -> dict[str, Any]:
    """What a card keeps of its last computed figures (the views and BalanceChanged's version)."""
    return {
        "figures": {
            "contributions_idr": figures.contributions_idr,
            "returns_idr": figures.returns_idr,
            "withdrawn_idr": figures.withdrawn_idr,
            "balance_idr": figures.balance_idr,
            "reserved_idr": figures.reserved_idr,
            "available_idr": figures.available_idr,
        },
        "credited_through": figures.credited_through,
        "status": figures.status,
        "figures_at": now,
        "version": version,
    }


def posted_periods(doc: dict[str, Any] | None) -> set[str]:
    """The months a card had a contribution for: each one $inc'ed `flows.{period}.c` in the transaction
    that stored its contributions row (even a zero one), and nothing else writes `c`."""
    return {period for period, f in ((doc or {}).get("flows") or {}).items() if "c" in f}


def with_credits(doc: dict[str, Any], months: dict[str, int] | None) -> dict[str, Any]:
    """The card as store_figures' credits will leave it (`months`: period -> rupiah added to
    `flows.{period}.c`), to compute its figures before writing them in the same update."""
    return with_increments(doc, credit_increments(months))


def credit_increments(months: dict[str, int] | None) -> dict[str, int]:
    """Contributions (period -> rupiah) as the card's increments (`flows.{period}.c`)."""
    return {f"flows.{period}.c": amount for period, amount in (months or {}).items()}


def hold_increments(delta_idr: int) -> dict[str, int]:
    """A hold placed (positive) or released (negative) as the card's increments."""
    return {"reserved_idr": delta_idr}


def withdrawal_increments(period: str, amount_idr: int, hold_idr: int) -> dict[str, int]:
    """A settled payout as the card's increments: the month's withdrawal, and its hold gone."""
    return {f"flows.{period}.d": amount_idr, "reserved_idr": -hold_idr}


def with_increments(doc: dict[str, Any], increments: dict[str, int] | None) -> dict[str, Any]:
    """The card as a `$inc` of `increments` (dotted paths, e.g. `flows.2026-01.d`) will leave it, without
    touching `doc`: its figures are computed from this and written in the same update as the `$inc`."""
    if not increments:
        return doc
    out = dict(doc)
    for path, amount in increments.items():
        *parents, leaf = path.split(".")
        node = out
        for key in parents:
            child = dict(node.get(key) or {})  # copied on the way down: `doc` stays as read
            node[key] = child
            node = child
        node[leaf] = int(node.get(leaf) or 0) + amount
    return out


def card_updates(
    credits: dict[str, dict[str, int]],
    figures: dict[str, dict[str, Any]],
    now: datetime,
    increments: dict[str, dict[str, int]] | None = None,
) -> dict[str, dict[str, Any]]:
    """One update per card (kpj -> update): its credits (kpj -> period -> rupiah), its other
    `increments` (kpj -> path -> amount: a hold, a withdrawal) and its new figures together. A credited
    card not there yet is created unregistered (an upsert): its money waits there and counts once
    MemberRegistered comes (register keeps the flows). A card only incremented is not created.
    """
    updates: dict[str, dict[str, Any]] = {}
    for kpj, months in credits.items():
        fields = {"updated_at": now, **figures.get(kpj, {})}
        inc = credit_increments(months)
        for path, amount in (increments or {}).get(kpj, {}).items():
            inc[path] = inc.get(path, 0) + amount
        updates[kpj] = {
            "$inc": inc,
            "$set": fields,
            "$setOnInsert": {k: v for k, v in {"registered": False, **NEW_CARD}.items() if k not in fields},
        }
    for kpj, inc in (increments or {}).items():
        if kpj not in updates and inc:
            updates[kpj] = {"$inc": dict(inc), "$set": {"updated_at": now, **figures.get(kpj, {})}}
    updates.update((kpj, {"$set": fields}) for kpj, fields in figures.items() if kpj not in updates)
    return updates


def reservation_from_doc(doc: dict[str, Any] | None) -> Reservation | None:
    if doc is None:
        return None
    return Reservation(
        claim_id=doc["_id"],
        member_id=doc.get("member_id", ""),
        nik=doc.get("nik", ""),
        kpj=doc.get("kpj", ""),
        amount_idr=doc.get("amount_idr", 0),
        status=doc["status"],
    )


async def ensure_indexes(db: Database) -> None:
    await db[CARDS].create_index("nik", name="by_nik")
    await db[CARDS].create_index("merged_into", name="by_merge_target", sparse=True)
    await db[CARDS].create_index([("registered", ASCENDING), ("credited_through", ASCENDING)], name="crediting_due")
    # The idempotency of the ledger: one contribution per card and month, whatever the event id.
    await db[CONTRIBUTIONS].create_index(
        [("kpj", ASCENDING), ("period", ASCENDING)], unique=True, name="one_per_card_period"
    )
    await db[LEDGER].create_index([("kpj", ASCENDING), ("at", DESCENDING)], name="by_card")
    await db[RESERVATIONS].create_index("kpj", name="by_card")
    await db[RESERVATIONS].create_index("nik", name="by_nik")
    await db[VERIFICATIONS].create_index("expires_at", name="expired_ttl", expireAfterSeconds=7 * 24 * 3600)
    await db[MERGES].create_index("nik", name="by_nik")


class BalanceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads outside a transaction (the API's balance and card views) ---------

    async def card_docs_of(self, nik: str) -> list[dict[str, Any]]:
        """The member's card documents, with only what the views read (one indexed query, no session)."""
        return await self.db[CARDS].find({"nik": nik}, VIEW_FIELDS).to_list()

    async def merge_of(self, merge_id: str, nik: str) -> dict[str, Any] | None:
        doc = await self.db[MERGES].find_one({"_id": merge_id})
        return doc if doc is not None and doc.get("nik") == nik else None

    async def crediting_due(self, before_year: int, limit: int) -> list[str]:
        docs = (
            await self.db[CARDS]
            .find({"registered": True, "credited_through": {"$lt": before_year}}, {"_id": 1})
            .limit(limit)
            .to_list()
        )
        return [d["_id"] for d in docs]

    # --- cards --------------------------------------------------------------

    # Card writes of the figures are staged (Tx.stage: a consumer batch's cards in one write): every read
    # of the cards here goes through the Tx or sends them first, and every other card write does too.

    async def card_doc(self, tx: Tx, kpj: str) -> dict[str, Any] | None:
        return await tx.find_one_by_id(CARDS, kpj)

    async def pot_docs(self, tx: Tx, root: str) -> list[dict[str, Any]]:
        """The root card and every card merged into it."""
        await tx.flush_staged(CARDS)
        root_doc = await tx[CARDS].find_one({"_id": root}, session=tx.session)
        merged = await tx[CARDS].find({"merged_into": root}, session=tx.session).to_list()
        return ([root_doc] if root_doc else []) + merged

    async def cards_by_kpj(self, tx: Tx, kpjs: list[str]) -> dict[str, dict[str, Any]]:
        await tx.flush_staged(CARDS)
        docs = await tx[CARDS].find({"_id": {"$in": kpjs}}, session=tx.session).to_list()
        return {d["_id"]: d for d in docs}

    async def pots_docs(self, tx: Tx, roots: list[str], known: dict[str, dict[str, Any]]) -> dict[str, list[dict]]:
        """The pots rooted at these cards (the root, then every card merged into it), two queries at
        most whatever their number. `known`: cards already read in this transaction (not read again)."""
        missing = [r for r in roots if r not in known]
        found = await self.cards_by_kpj(tx, missing) if missing else {}
        pots = {r: [doc] if (doc := known.get(r) or found.get(r)) else [] for r in roots}
        await tx.flush_staged(CARDS)
        members = await tx[CARDS].find({"merged_into": {"$in": roots}}, session=tx.session).to_list()
        for doc in members:
            pots[doc["merged_into"]].append(doc)
        return pots

    # SecantusDB answers findAndModify by scanning the whole collection even for an _id filter
    # (measured: 20 ms with 100 cards, 80 ms with 3,000), while update_one and find_one by _id
    # stay constant: so every card write here is an update followed, where the caller needs
    # the result, by a find of the same _id (or of many, by _id $in) in the same transaction.

    async def register(self, tx: Tx, kpj: str, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Record the card's holder and employer; returns the card as it is now."""
        await self._before_card_write(tx, kpj)
        await tx[CARDS].update_one(
            {"_id": kpj},
            {"$set": {**fields, "registered": True, "updated_at": now}, "$setOnInsert": {"flows": {}, **NEW_CARD}},
            upsert=True,
            session=tx.session,
        )
        return await self.card_doc(tx, kpj)

    async def insert_contributions(self, tx: Tx, rows: list[tuple[str, str, dict[str, Any]]], now: datetime) -> None:
        """Store the contributions rows of months the cards had none for (the caller read the cards in
        this transaction: see posted_periods). One insert for all, ordered: a row that is there after
        all breaks the unique (kpj, period) index and is raised, never skipped, so no month counts twice.
        (An insert is also far cheaper here than an upsert on that index: ~0.4 ms against ~1 ms each.)
        """
        if rows:
            with duplicate_key_raised():
                await tx[CONTRIBUTIONS].insert_many(
                    [{"kpj": kpj, "period": period, **row, "recorded_at": now} for kpj, period, row in rows],
                    ordered=True,
                    session=tx.session,
                )

    async def mark_ended(self, tx: Tx, kpj: str, ended_on: date, cause: str, now: datetime) -> dict[str, Any]:
        await self._before_card_write(tx, kpj)
        await tx[CARDS].update_one(
            {"_id": kpj},
            {
                "$set": {"ended_on": ended_on.isoformat(), "end_cause": cause, "updated_at": now},
                "$setOnInsert": {"registered": False, "flows": {}, **NEW_CARD},
            },
            upsert=True,
            session=tx.session,
        )
        return await self.card_doc(tx, kpj)

    async def store_figures(
        self,
        tx: Tx,
        changes: list[tuple[dict[str, Any], CardFigures, bool]],
        now: datetime,
        credits: dict[str, dict[str, int]] | None = None,
        increments: dict[str, dict[str, int]] | None = None,
    ) -> list[int]:
        """Keep cards' last computed figures, and add `credits` (kpj -> period -> rupiah) to their months
        and `increments` (kpj -> path -> amount) to their other counters: one update per card, one bulk
        write for all. Returns each changed card's version after.

        `changes`: (the card as read in this transaction, its figures, whether its version moves). A
        concurrent change to a card makes this transaction conflict and retry, so its version + 1 is
        the next version.
        """
        versions = [int(doc.get("version") or 0) + (1 if bump else 0) for doc, _, bump in changes]
        fields = {
            doc["_id"]: _figures_fields(figures, version, now) for (doc, figures, _), version in zip(changes, versions)
        }
        for kpj, update in card_updates(credits or {}, fields, now, increments).items():
            tx.forget_read_ahead(CARDS, kpj)
            tx.stage(CARDS, UpdateOne({"_id": kpj}, update, upsert="$setOnInsert" in update))
        return versions

    async def _before_card_write(self, tx: Tx, kpj: str) -> None:
        """A card written directly: the staged card writes go first, and its read-ahead copy is stale."""
        tx.forget_read_ahead(CARDS, kpj)
        await tx.flush_staged(CARDS)

    async def merge_cards(
        self, tx: Tx, target: str, sources: list[str], merge_id: str, now: datetime, day: date
    ) -> None:
        marks = {
            "merged_into": target,
            "merged_on": day.isoformat(),
            "merged_at": now,
            "merge_id": merge_id,
            "status": MERGED,
            "updated_at": now,
        }
        # Cards merged earlier into a source follow it, so a pot is always one level deep.
        for kpj in [target, *sources]:
            await self._before_card_write(tx, kpj)
        earlier = await tx[CARDS].find({"merged_into": {"$in": sources}}, {"_id": 1}, session=tx.session).to_list()
        await tx[CARDS].update_many({"merged_into": {"$in": sources}}, {"$set": marks}, session=tx.session)
        await tx[CARDS].update_many({"_id": {"$in": sources}}, {"$set": marks}, session=tx.session)
        await tx[CARDS].update_one(
            {"_id": target},
            {"$addToSet": {MERGE_SOURCES: {"$each": sources + [d["_id"] for d in earlier]}}},
            session=tx.session,
        )

    # --- ledger -------------------------------------------------------------

    async def add_ledger_entry(self, tx: Tx, entry_id: str, entry: dict[str, Any]) -> bool:
        if await tx.find_one_by_id(LEDGER, entry_id, {"_id": 1}):
            return False
        tx.stage(LEDGER, InsertOne({"_id": entry_id, **entry}))
        return True

    # --- reservations -------------------------------------------------------

    async def read_ahead(
        self, tx: Tx, claim_ids: list[str], niks: list[str], ledger_ids: list[str], kpjs: list[str]
    ) -> None:
        """A consumer batch's holds, open-claim slots, the ledger entries it may add and the cards it holds
        or debits (its own, and those of the holds read), a query each (each taken once, see Tx.read_ahead)."""
        holds = await tx.read_ahead(RESERVATIONS, claim_ids)
        await tx.read_ahead(OPEN_CLAIMS, niks)
        await tx.read_ahead(LEDGER, ledger_ids)
        await tx.read_ahead(CARDS, [*kpjs, *(hold["kpj"] for hold in holds.values() if hold)])

    async def reservation(self, tx: Tx, claim_id: str) -> dict[str, Any] | None:
        return await tx.find_one_by_id(RESERVATIONS, claim_id)

    async def open_claim_of(self, tx: Tx, nik: str) -> str | None:
        doc = await tx.find_one_by_id(OPEN_CLAIMS, nik)
        return doc["claim_id"] if doc else None

    async def record_reservation(self, tx: Tx, claim_id: str, row: dict[str, Any]) -> None:
        tx.forget_read_ahead(RESERVATIONS, claim_id)
        tx.forget_read_ahead(OPEN_CLAIMS, row["nik"])
        # Staged, as the other writes of holds below: their reads go through the Tx.
        tx.stage(RESERVATIONS, InsertOne({"_id": claim_id, **row}))
        if row["status"] == OPEN:
            tx.stage(OPEN_CLAIMS, InsertOne({"_id": row["nik"], "claim_id": claim_id, "at": row["at"]}))

    async def close_reservation(self, tx: Tx, claim_id: str, nik: str, fields: dict[str, Any]) -> None:
        """Close an open hold (the caller checked it is open, in this transaction)."""
        tx.forget_read_ahead(RESERVATIONS, claim_id)
        tx.forget_read_ahead(OPEN_CLAIMS, nik)
        tx.stage(RESERVATIONS, UpdateOne({"_id": claim_id}, {"$set": fields}))
        # The member's open-claim slot, if it is still this claim's: one _id look-up, no read first.
        tx.stage(OPEN_CLAIMS, DeleteOne({"_id": nik, "claim_id": claim_id}))

    async def held_kpjs(self, tx: Tx, kpjs: list[str]) -> set[str]:
        await tx.flush_staged(RESERVATIONS)
        docs = (
            await tx[RESERVATIONS].find({"kpj": {"$in": kpjs}}, {"kpj": 1, "status": 1}, session=tx.session).to_list()
        )
        return {d["kpj"] for d in docs if d.get("status") == OPEN}

    # --- face verifications and merges --------------------------------------

    async def save_verification(self, tx: Tx, row: dict[str, Any]) -> None:
        await tx[VERIFICATIONS].update_one({"_id": row["_id"]}, {"$set": row}, upsert=True, session=tx.session)

    async def verification(self, tx: Tx, verification_id: str) -> Verification | None:
        doc = await tx[VERIFICATIONS].find_one({"_id": verification_id}, session=tx.session)
        if doc is None:
            return None
        return Verification(
            verification_id=doc["_id"],
            member_id=doc["member_id"],
            nik=doc["nik"],
            purpose=doc["purpose"],
            expires_at=doc["expires_at"],
            used_by=doc.get("used_by"),
        )

    async def use_verification(self, tx: Tx, verification_id: str, merge_id: str) -> None:
        await tx[VERIFICATIONS].update_one(
            {"_id": verification_id}, {"$set": {"used_by": merge_id}}, session=tx.session
        )

    async def merge(self, tx: Tx, merge_id: str) -> dict[str, Any] | None:
        return await tx[MERGES].find_one({"_id": merge_id}, session=tx.session)

    async def insert_merge(self, tx: Tx, row: dict[str, Any]) -> None:
        await tx[MERGES].insert_one(row, session=tx.session)
