"""Year-end crediting: when a year ends, every card's returns for it are announced.

The views compute returns on read, so members see them on 1 January anyway;
this job makes the stored figures and BalanceChanged (what claims projects)
follow, one card per transaction, without a burst of events from one process.
"""

from __future__ import annotations

import asyncio

from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.repository import BalanceRepository
from .figures import FigureKeeper

log = get_logger(__name__)


class YearEndCrediting:
    def __init__(
        self, db: Database, repo: BalanceRepository, figures: FigureKeeper, interval_seconds: float, batch: int = 200
    ) -> None:
        self.db = db
        self.repo = repo
        self.figures = figures
        self.interval = interval_seconds
        self.batch = batch

    async def run_once(self) -> int:
        """Credit every card not yet credited through last year; returns how many were refreshed."""
        last_year = self.figures.clock.today().year - 1
        done = 0
        seen: set[str] = set()
        while True:
            # A card the sheet does not show yet (registered in the future) stays due: skip it this round.
            due = [k for k in await self.repo.crediting_due(last_year, self.batch + len(seen)) if k not in seen]
            if not due:
                return done
            seen.update(due)
            for kpj in due:

                async def work(tx: Tx, kpj: str = kpj) -> None:
                    await self.figures.refresh(tx, [kpj])

                await self.db.transaction(work)
                done += 1

    async def run(self) -> None:
        while True:
            try:
                credited = await self.run_once()
                if credited:
                    log.info("year_end_credited", cards=credited)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: try again next round
                log.warning("year_end_crediting_retry", error=str(exc))
            await asyncio.sleep(self.interval)
