"""Everything the running simulator holds, built in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jmo_shared.clock import Clock
from jmo_shared.mongo import Database

from ..adapters import repository as repo
from ..domain.behaviour import BehaviourBook
from .bank import Bank
from .statements import StatementBook


@dataclass
class BankState:
    db: Database
    clock: Clock
    book: BehaviourBook
    bank: Bank
    statements: StatementBook

    async def transfers_of_payout(self, payout_id: str) -> list[dict[str, Any]]:
        return await repo.transfers_of_payout(self.db, payout_id)
