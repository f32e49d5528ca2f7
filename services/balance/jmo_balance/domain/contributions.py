"""A run of posted contributions reduced to what it changes: one posting per card and month.

The ledger applies a whole run of ContributionPosted at once. A card and month is credited
once, whatever the event id (the first posting stands): a run may carry the same card and
month twice (a re-post under a new id), or a month the card had before. These functions do
the arithmetic between reading the cards and writing them; no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Posting:
    """One month's contribution to one card, as an event posted it."""

    kpj: str
    period: str  # YYYY-MM
    amount_idr: int


def new_postings(postings: Sequence[Posting], posted: Mapping[str, Collection[str]]) -> list[int]:
    """Indexes of the postings that credit their card: the first of each card and month in the run
    (log order: the one a one-event-at-a-time ledger would have kept), for a month the card had no
    contribution for. `posted`: kpj -> the months it had before the run (a card not there: none).
    """
    new: list[int] = []
    seen: set[tuple[str, str]] = set()
    for i, posting in enumerate(postings):
        month = (posting.kpj, posting.period)
        if month not in seen and posting.period not in posted.get(posting.kpj, ()):
            new.append(i)
        seen.add(month)
    return new


def card_credits(postings: Sequence[Posting], credited: Iterable[int]) -> dict[str, dict[str, int]]:
    """What these postings add to each card, per month (kpj -> period -> rupiah).

    Cards in the order of their first posting in the run, so what follows (figures, events) keeps
    the order of the log.
    """
    credits: dict[str, dict[str, int]] = {}
    for i in sorted(credited):
        posting = postings[i]
        months = credits.setdefault(posting.kpj, {})
        months[posting.period] = months.get(posting.period, 0) + posting.amount_idr
    return credits
