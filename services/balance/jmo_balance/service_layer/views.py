"""What a member reads: their balance per card, and their digital membership card.

Both read only this service's own database (one indexed query by NIK) and
compute the figures on the spot, so they keep answering while claims or payout
are down, and the year's returns appear on 1 January without waiting for a job.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jmo_shared.errors import DomainError, FieldError, not_found

from ..adapters.card_signing import CardSigner
from ..adapters.repository import BalanceRepository
from ..domain.model import balance_sheet, mask_nik, primary_card, total_idr
from ..domain.returns import RateTable
from .calendar import Calendar


class BalanceViews:
    def __init__(self, repo: BalanceRepository, rates: RateTable, clock: Calendar, programs: list[str]) -> None:
        self.repo = repo
        self.rates = rates
        self.clock = clock
        self.programs = programs

    async def balance(self, nik: str, as_of: date | None = None) -> dict[str, Any]:
        today = self.clock.today()
        day = as_of or today
        if day > today:
            message = "as_of cannot be in the future: returns are credited only for completed years"
            raise DomainError(code="as_of_in_future", detail=message, status=422,
                              errors=[FieldError("as_of", "as_of_in_future", message)])
        cards = await self.repo.cards_of(nik)
        # Holds describe the present; a past day shows the balance without them.
        sheet = balance_sheet(cards, self.rates, day, include_holds=day == today)
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

    async def card(self, nik: str, signer: CardSigner) -> dict[str, Any]:
        now = self.clock.now()
        today = self.clock.day_of(now)
        cards = await self.repo.cards_of(nik)
        primary = primary_card(cards, today)
        if primary is None:
            raise not_found("membership card", code="card_not_found")
        status = primary.status_on(today)
        nik_masked = mask_nik(nik)
        others = sorted(c.kpj for c in cards if c.kpj != primary.kpj and c.root_on(today) == c.kpj)
        qr = signer.sign(
            {"kpj": primary.kpj, "name": primary.full_name, "nik_masked": nik_masked, "status": status}, now=now
        )
        return {
            "kpj": primary.kpj,
            "full_name": primary.full_name,
            "nik_masked": nik_masked,
            "programs": list(self.programs),
            "status": status,
            "employer": primary.employer_name,
            "cards": others,
            "qr": qr,
        }
