"""What a member reads: their balance per card, and their digital membership card.

Both read only this service's own database (one indexed query by NIK, no
session) and compute the figures on the spot, so they keep answering while
claims, payout or the broker are down, and the year's returns appear on
1 January without waiting for a job. The member's cards and the answers built
from them are kept in the read cache until the database reports a change
(read_cache.py), so a repeated read costs no database round trip at all.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from prometheus_client import Counter

from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found

from ..adapters.card_signing import CardSigner
from ..adapters.repository import BalanceRepository, card_from_doc
from ..domain.model import Card, balance_sheet, mask_nik, primary_card, total_idr
from ..domain.returns import RateTable
from .calendar import Calendar
from .read_cache import MemberEntry, MemberReadCache

READS = Counter(
    "balance_read_cache_total", "Member reads answered from the read cache (hit) or the database (miss)", ["outcome"]
)
_HIT, _MISS = READS.labels("hit"), READS.labels("miss")

# Answers kept per member: today's balance and card, and a few past days someone asked for.
MAX_ANSWERS = 8


def to_json(body: dict[str, Any]) -> bytes:
    """The bytes FastAPI's JSONResponse would send for this body."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class BalanceViews:
    def __init__(
        self, repo: BalanceRepository, rates: RateTable, clock: Calendar, programs: list[str], cache: MemberReadCache
    ) -> None:
        self.repo = repo
        self.rates = rates
        self.clock = clock
        self.programs = programs
        self.cache = cache

    async def _member(self, nik: str) -> MemberEntry:
        entry = self.cache.get(nik)
        if entry is not None:
            _HIT.inc()
        else:
            _MISS.inc()
            ticket = self.cache.ticket()
            docs = await self.repo.card_docs_of(nik)
            cards = [card_from_doc(d) for d in docs if d.get("registered")]
            entry = self.cache.put(ticket, nik, cards, [d["_id"] for d in docs])
        return entry

    @staticmethod
    def _remember(entry: MemberEntry, key: tuple, body: Any) -> Any:
        if len(entry.answers) >= MAX_ANSWERS:
            entry.answers.clear()
        entry.answers[key] = body
        return body

    async def balance_json(self, nik: str, as_of: date | None = None) -> bytes:
        today = self.clock.today()
        day = as_of or today
        if day > today:
            message = "as_of cannot be in the future: returns are credited only for completed years"
            raise DomainError(
                code="as_of_in_future",
                detail=message,
                kind=ErrorKind.INVALID,
                errors=[FieldError("as_of", "as_of_in_future", message)],
            )
        entry = await self._member(nik)
        # Holds describe the present: today's answer differs from the same day asked as a past one.
        key = ("balance", day, day == today)
        cached = entry.answers.get(key)
        if cached is not None:
            return cached
        return self._remember(entry, key, to_json(self._balance(entry.cards, day, include_holds=day == today)))

    async def balance(self, nik: str, as_of: date | None = None) -> dict[str, Any]:
        return json.loads(await self.balance_json(nik, as_of))

    def _balance(self, cards: list[Card], day: date, include_holds: bool) -> dict[str, Any]:
        sheet = balance_sheet(cards, self.rates, day, include_holds=include_holds)
        return {
            "total_idr": total_idr(sheet),
            "as_of": day.isoformat(),
            "cards": [
                {
                    "kpj": f.kpj,
                    "employer": f.employer,
                    "contributions_idr": f.contributions_idr,
                    "returns_idr": f.returns_idr,
                    "withdrawn_idr": f.withdrawn_idr,
                    "balance_idr": f.balance_idr,
                    "reserved_idr": f.reserved_idr,
                    "available_idr": f.available_idr,
                    "status": f.status,
                    "merged_into": f.merged_into,
                    "returns_credited_through": f.credited_through,
                }
                for f in sheet
            ],
        }

    async def card_json(self, nik: str, signer: CardSigner) -> bytes:
        now = self.clock.now()
        today = self.clock.day_of(now)
        entry = await self._member(nik)
        key = ("card", today)
        card = entry.answers.get(key)
        if card is None:
            card = self._remember(entry, key, self._card(entry.cards, nik, today))
        if not card:
            raise not_found("membership card", code="card_not_found")
        # Signed on every read: the QR carries the time it was shown (iat).
        qr = signer.sign(
            {"kpj": card["kpj"], "name": card["full_name"], "nik_masked": card["nik_masked"], "status": card["status"]},
            now=now,
        )
        return to_json({**card, "qr": qr})

    async def card(self, nik: str, signer: CardSigner) -> dict[str, Any]:
        return json.loads(await self.card_json(nik, signer))

    def _card(self, cards: list[Card], nik: str, today: date) -> dict[str, Any]:
        primary = primary_card(cards, today)
        if primary is None:
            return {}
        others = sorted(c.kpj for c in cards if c.kpj != primary.kpj and c.root_on(today) == c.kpj)
        return {
            "kpj": primary.kpj,
            "full_name": primary.full_name,
            "nik_masked": mask_nik(nik),
            "programs": list(self.programs),
            "status": primary.status_on(today),
            "employer": primary.employer_name,
            "cards": others,
        }
