"""Recomputing a card pot after a change, and telling the others (BalanceChanged)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jmo_shared.events.balance import BalanceChanged
from jmo_shared.mongo import Tx

from ..adapters.repository import MERGE_SOURCES, BalanceRepository, card_from_doc, with_credits, with_increments
from ..domain.model import CardFigures, balance_sheet
from ..domain.returns import RateTable
from .calendar import Calendar


def _stored_key(doc: dict) -> tuple[int, int, int, int, int] | None:
    f = doc.get("figures")
    if not f:
        return None
    return (f["contributions_idr"], f["returns_idr"], f["balance_idr"], f["reserved_idr"], f["available_idr"])


@dataclass(frozen=True)
class _Change:
    """A card whose stored figures no longer match the computed ones."""

    doc: dict  # the card as read in this transaction
    figures: CardFigures
    bump: bool  # a key figure moved: a new version, announced; else only the status or crediting year


def _change(doc: dict, figures: CardFigures) -> _Change | None:
    changed = _stored_key(doc) != figures.key_figures()
    stale = doc.get("credited_through") != figures.credited_through or doc.get("status") != figures.status
    return _Change(doc, figures, bump=changed) if changed or stale else None


def _own_pot(doc: dict) -> bool:
    """Nothing merged into it and not merged itself: the card is its own pot, no look-up."""
    return not doc.get("merged_into") and doc.get(MERGE_SOURCES) == []


class FigureKeeper:
    """Keeps each card's stored figures equal to what the domain computes, emitting on every change."""

    def __init__(self, repo: BalanceRepository, rates: RateTable, clock: Calendar) -> None:
        self.repo = repo
        self.rates = rates
        self.clock = clock

    async def pot(
        self, tx: Tx, kpj: str, now: datetime | None = None, doc: dict | None = None
    ) -> dict[str, CardFigures]:
        """Current figures of the pot holding `kpj` (read in the transaction, nothing written).

        `doc`: the card `kpj` as already read in this transaction (not read again)."""
        now = now or self.clock.now()
        docs = await self._pot_docs(tx, kpj, doc)
        cards = [card_from_doc(d) for d in docs]
        return {f.kpj: f for f in balance_sheet(cards, self.rates, self.clock.day_of(now))}

    async def _pot_docs(self, tx: Tx, kpj: str, doc: dict | None = None) -> list[dict]:
        doc = doc or await self.repo.card_doc(tx, kpj)
        if doc is None:
            return []
        if _own_pot(doc):
            return [doc]
        return await self.repo.pot_docs(tx, doc.get("merged_into") or kpj)

    async def refresh(
        self,
        tx: Tx,
        kpjs: list[str],
        now: datetime | None = None,
        written: dict | None = None,
        increments: dict[str, dict[str, int]] | None = None,
    ) -> dict[str, CardFigures]:
        """Recompute the pots of these cards; store and announce every card whose figures changed.

        `written`: the first card as already read (or written and read) in this transaction.
        `increments`: kpj -> path -> amount to `$inc` on those cards (a hold, a withdrawal), written in the
        same update as their figures, which are computed as if the `$inc` were already applied.
        """
        now = now or self.clock.now()
        result: dict[str, CardFigures] = {}
        changes: list[_Change] = []
        seen: set[str] = set()
        for i, kpj in enumerate(kpjs):
            if kpj in seen:
                continue
            docs = await self._pot_docs(tx, kpj, written if i == 0 else None)
            seen.update(d["_id"] for d in docs)
            if increments:
                docs = [with_increments(d, increments.get(d["_id"])) for d in docs]
            changes += self._recompute(docs, now, result)
        await self._store(tx, changes, now, increments=increments)
        return result

    async def credit(
        self, tx: Tx, docs: dict[str, dict], credits: dict[str, dict[str, int]], now: datetime
    ) -> dict[str, CardFigures]:
        """Add contributions to cards (kpj -> period -> rupiah) and refresh their pots, as the ledger's
        runs need it: whatever the number of cards, the pots of merged ones cost two queries for all
        of them, and the credits and the figures are one write. Each card changed gets one new
        version and one BalanceChanged.

        `docs`: the credited cards as read in this transaction, before the credit (a card not there
        yet is created, unregistered: nothing to show or announce).
        """
        result: dict[str, CardFigures] = {}
        changes: list[_Change] = []
        for pot in await self._pots_of(tx, [docs[k] for k in credits if k in docs]):
            changes += self._recompute([with_credits(d, credits.get(d["_id"])) for d in pot], now, result)
        await self._store(tx, changes, now, credits)
        return result

    async def _pots_of(self, tx: Tx, docs: list[dict]) -> list[list[dict]]:
        """The pots holding these cards, each once, in the order of the cards."""
        roots = list(dict.fromkeys(d.get("merged_into") or d["_id"] for d in docs if not _own_pot(d)))
        shared = await self.repo.pots_docs(tx, roots, {d["_id"]: d for d in docs}) if roots else {}
        pots: list[list[dict]] = []
        seen: set[str] = set()
        for doc in docs:
            root = doc["_id"] if _own_pot(doc) else doc.get("merged_into") or doc["_id"]
            if root not in seen:
                seen.add(root)
                pots.append([doc] if _own_pot(doc) else shared[root])
        return pots

    def _recompute(self, docs: list[dict], now: datetime, result: dict[str, CardFigures]) -> list[_Change]:
        """The figures of one pot's cards (added to `result`) and the cards whose stored ones are out of date."""
        by_kpj = {d["_id"]: d for d in docs}
        sheet = balance_sheet([card_from_doc(d) for d in docs], self.rates, self.clock.day_of(now))
        result.update((f.kpj, f) for f in sheet)
        return [change for f in sheet if (change := _change(by_kpj[f.kpj], f)) is not None]

    async def _store(
        self,
        tx: Tx,
        changes: list[_Change],
        now: datetime,
        credits: dict[str, dict[str, int]] | None = None,
        increments: dict[str, dict[str, int]] | None = None,
    ) -> None:
        """Store the new figures with the credits and increments if any (one write for all), and announce
        each card whose key figures moved."""
        if not changes and not credits and not increments:
            return
        versions = await self.repo.store_figures(
            tx, [(c.doc, c.figures, c.bump) for c in changes], now, credits, increments
        )
        for change, version in zip(changes, versions):
            if change.bump:
                tx.emit(_changed_event(change.doc["nik"], change.figures, version, now))


def _changed_event(nik: str, f: CardFigures, version: int, now: datetime) -> BalanceChanged:
    return BalanceChanged(
        nik=nik,
        kpj=f.kpj,
        contributions_idr=f.contributions_idr,
        returns_idr=f.returns_idr,
        balance_idr=f.balance_idr,
        reserved_idr=f.reserved_idr,
        available_idr=f.available_idr,
        version=version,
        as_of=now,
    )
