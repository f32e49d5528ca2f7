"""The membership feed (core.membership.events): cards, contributions, ended employment."""

from __future__ import annotations

from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.upstream import ContributionPosted, EmploymentEnded, MemberRegistered
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.repository import BalanceRepository, posted_periods
from ..domain.contributions import Posting, card_credits, new_postings
from .figures import FigureKeeper

log = get_logger(__name__)


class LedgerHandlers:
    def __init__(self, repo: BalanceRepository, figures: FigureKeeper) -> None:
        self.repo = repo
        self.figures = figures

    async def member_registered(self, tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        now = self.figures.clock.now()
        card = await self.repo.register(
            tx,
            data.kpj,
            {
                "kpj": data.kpj,
                "nik": data.nik,
                "full_name": data.full_name,
                "birth_date": data.birth_date.isoformat(),
                "employer_id": data.employer_id,
                "employer_name": data.employer_name,
                "registered_on": data.registered_on.isoformat(),
            },
            now,
        )
        # Contributions that arrived first are already on the card: they count from now on.
        await self.figures.refresh(tx, [data.kpj], now, written=card)

    async def contributions_posted(self, tx: Tx, items: list[tuple[ContributionPosted, CloudEvent]]) -> None:
        """A run of ContributionPosted (consecutive in one fetched batch, one transaction; a card's events
        keep their order, as they are all in its member's partition) in three commands
        whatever its length (two more when it touches merged cards): its cards read, the rows of their
        new months inserted, the credits and the pots' figures written. One new version and one
        BalanceChanged per changed card, not per event. A run of one is the single-event path (the
        consumer retries a refused run one event at a time).

        A card and month counts once, whatever the event id: the first posting stands, a repeat later
        in the run or of a month the card already had is logged and left out.
        """
        now = self.figures.clock.now()
        postings = [Posting(data.kpj, data.period, data.employer_idr + data.worker_idr) for data, _ in items]
        docs = await self.repo.cards_by_kpj(tx, list(dict.fromkeys(p.kpj for p in postings)))
        new = new_postings(postings, {kpj: posted_periods(doc) for kpj, doc in docs.items()})
        _log_already_posted(items, sorted(set(range(len(items))) - set(new)))
        if not new:
            return
        await self.repo.insert_contributions(
            tx, [(postings[i].kpj, postings[i].period, _contribution_row(*items[i])) for i in new], now
        )
        # Cards not registered yet are created here; their money counts once MemberRegistered comes.
        await self.figures.credit(tx, docs, card_credits(postings, new), now)

    async def employment_ended(self, tx: Tx, data: EmploymentEnded, event: CloudEvent) -> None:
        now = self.figures.clock.now()
        card = await self.repo.mark_ended(tx, data.kpj, data.ended_on, data.cause, now)
        # The status is not part of BalanceChanged; store it with the figures for the views.
        await self.figures.refresh(tx, [data.kpj], now, written=card)


def _contribution_row(data: ContributionPosted, event: CloudEvent) -> dict:
    """The contributions row of one posting (its card and month are the row's key)."""
    return {
        "amount_idr": data.employer_idr + data.worker_idr,
        "employer_idr": data.employer_idr,
        "worker_idr": data.worker_idr,
        "wage_idr": data.wage_idr,
        "posted_at": data.posted_at,
        "event_id": event.id,
    }


def _log_already_posted(items: list[tuple[ContributionPosted, CloudEvent]], indexes: list[int]) -> None:
    for data, event in (items[i] for i in indexes):
        log.info("contribution_already_posted", kpj=data.kpj, period=data.period, event_id=event.id)
