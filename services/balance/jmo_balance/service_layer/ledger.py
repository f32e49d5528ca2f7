"""The membership feed (core.membership.events): cards, contributions, ended employment."""

from __future__ import annotations

from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.upstream import ContributionPosted, EmploymentEnded, MemberRegistered
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.repository import BalanceRepository
from .figures import FigureKeeper

log = get_logger(__name__)


class LedgerHandlers:
    def __init__(self, repo: BalanceRepository, figures: FigureKeeper) -> None:
        self.repo = repo
        self.figures = figures

    async def member_registered(self, tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        now = self.figures.clock.now()
        card = await self.repo.register(
            tx, data.kpj,
            {"kpj": data.kpj, "nik": data.nik, "full_name": data.full_name,
             "birth_date": data.birth_date.isoformat(), "employer_id": data.employer_id,
             "employer_name": data.employer_name, "registered_on": data.registered_on.isoformat()},
            now,
        )
        # Contributions that arrived first are already on the card: they count from now on.
        await self.figures.refresh(tx, [data.kpj], now, written=card)

    async def contribution_posted(self, tx: Tx, data: ContributionPosted, event: CloudEvent) -> None:
        now = self.figures.clock.now()
        row = {"amount_idr": data.employer_idr + data.worker_idr, "employer_idr": data.employer_idr,
               "worker_idr": data.worker_idr, "wage_idr": data.wage_idr, "posted_at": data.posted_at,
               "event_id": event.id}
        card = await self.repo.add_contribution(tx, data.kpj, data.period, row, now)
        if card is None:
            log.info("contribution_already_posted", kpj=data.kpj, period=data.period, event_id=event.id)
            return
        await self.figures.refresh(tx, [data.kpj], now, written=card)

    async def employment_ended(self, tx: Tx, data: EmploymentEnded, event: CloudEvent) -> None:
        now = self.figures.clock.now()
        card = await self.repo.mark_ended(tx, data.kpj, data.ended_on, data.cause, now)
        # The status is not part of BalanceChanged; store it with the figures for the views.
        await self.figures.refresh(tx, [data.kpj], now, written=card)
