"""Recomputing a card pot after a change, and telling the others (BalanceChanged)."""

from __future__ import annotations

from datetime import datetime

from jmo_shared.events.balance import BalanceChanged
from jmo_shared.mongo import Tx

from ..adapters.repository import MERGE_SOURCES, BalanceRepository, card_from_doc
from ..domain.model import CardFigures, balance_sheet
from ..domain.returns import RateTable
from .calendar import Calendar


def _stored_key(doc: dict) -> tuple[int, int, int, int, int] | None:
    f = doc.get("figures")
    if not f:
        return None
    return (f["contributions_idr"], f["returns_idr"], f["balance_idr"], f["reserved_idr"], f["available_idr"])


class FigureKeeper:
    """Keeps each card's stored figures equal to what the domain computes, emitting on every change."""

    def __init__(self, repo: BalanceRepository, rates: RateTable, clock: Calendar) -> None:
        self.repo = repo
        self.rates = rates
        self.clock = clock

    async def pot(self, tx: Tx, kpj: str, now: datetime | None = None) -> dict[str, CardFigures]:
        """Current figures of the pot holding `kpj` (read in the transaction, nothing written)."""
        now = now or self.clock.now()
        docs = await self._pot_docs(tx, kpj)
        cards = [card_from_doc(d) for d in docs]
        return {f.kpj: f for f in balance_sheet(cards, self.rates, self.clock.day_of(now))}

    async def _pot_docs(self, tx: Tx, kpj: str, doc: dict | None = None) -> list[dict]:
        doc = doc or await self.repo.card_doc(tx, kpj)
        if doc is None:
            return []
        if not doc.get("merged_into") and doc.get(MERGE_SOURCES) == []:
            return [doc]  # nothing merged into it: the card is its own pot, no look-up
        return await self.repo.pot_docs(tx, doc.get("merged_into") or kpj)

    async def refresh(self, tx: Tx, kpjs: list[str], now: datetime | None = None,
                      written: dict | None = None) -> dict[str, CardFigures]:
        """Recompute the pots of these cards; store and announce every card whose figures changed.

        `written`: the first card as the caller just wrote and read it in this transaction.
        """
        now = now or self.clock.now()
        result: dict[str, CardFigures] = {}
        seen: set[str] = set()
        for i, kpj in enumerate(kpjs):
            if kpj in seen:
                continue
            docs = await self._pot_docs(tx, kpj, written if i == 0 else None)
            seen.update(d["_id"] for d in docs)
            by_kpj = {d["_id"]: d for d in docs}
            sheet = balance_sheet([card_from_doc(d) for d in docs], self.rates, self.clock.day_of(now))
            for figures in sheet:
                doc = by_kpj[figures.kpj]
                changed = _stored_key(doc) != figures.key_figures()
                stale = doc.get("credited_through") != figures.credited_through or doc.get("status") != figures.status
                if changed or stale:
                    version = await self.repo.store_figures(tx, doc, figures, bump=changed, now=now)
                    if changed:
                        tx.emit(_changed_event(doc["nik"], figures, version, now))
                result[figures.kpj] = figures
        return result


def _changed_event(nik: str, f: CardFigures, version: int, now: datetime) -> BalanceChanged:
    return BalanceChanged(
        nik=nik, kpj=f.kpj, contributions_idr=f.contributions_idr, returns_idr=f.returns_idr,
        balance_idr=f.balance_idr, reserved_idr=f.reserved_idr, available_idr=f.available_idr,
        version=version, as_of=now,
    )
