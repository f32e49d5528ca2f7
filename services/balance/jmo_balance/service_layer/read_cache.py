"""The API's memory of each member's cards, so a balance read costs no database round trip.

The local database serialises its work and tops out below the read rate members
need, and a member reads the same few cards again and again between changes.
So the API keeps, per NIK, the card documents it last loaded and the answers it
built from them, and drops them the moment the database reports a change to any
of those cards (a change stream on `cards`, see adapters/card_changes.py).

Staleness: an answer is never served after the change stream reported a change
to one of its cards; while the stream is not running nothing is cached; and no
entry outlives `ttl` seconds, whatever happens (the safety net against a change
the stream never reports). A load that raced with a change is answered but not
kept: every change bumps a sequence number and marks the NIK and KPJ it touched,
and a load may only store its result if nothing it read was marked after it began.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..domain.model import Card


@dataclass
class MemberEntry:
    """One member's cards as loaded, and the answers already built from them (key -> JSON bytes)."""

    cards: list[Card]
    kpjs: tuple[str, ...]
    loaded_at: float
    answers: dict[Hashable, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadTicket:
    """Taken before reading the database: proves later that the read saw no change it missed."""

    seq: int


class MemberReadCache:
    def __init__(
        self,
        ttl_seconds: float,
        max_members: int,
        max_marks: int = 200_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_members = max_members
        self._max_marks = max_marks
        self._now = monotonic
        self._entries: OrderedDict[str, MemberEntry] = OrderedDict()
        self._holder: dict[str, str] = {}  # kpj -> nik of the entry that holds it
        self._marks: OrderedDict[str, int] = OrderedDict()  # "n:<nik>" / "k:<kpj>" -> seq of its last change
        self._seq = 0
        # Marks older than this were forgotten (bounded memory): treat them as changed at `_floor`.
        self._floor = 0
        self._live = False

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_members > 0

    @property
    def live(self) -> bool:
        """True while changes are being reported: only then may anything be kept."""
        return self._live and self.enabled

    # --- reads --------------------------------------------------------------

    def get(self, nik: str) -> MemberEntry | None:
        entry = self._entries.get(nik) if self._live else None
        if entry is None:
            return None
        if self._now() - entry.loaded_at > self.ttl:
            self._drop(nik)
            return None
        self._entries.move_to_end(nik)
        return entry

    def ticket(self) -> LoadTicket:
        return LoadTicket(self._seq)

    def put(self, ticket: LoadTicket, nik: str, cards: list[Card], kpjs: Iterable[str]) -> MemberEntry:
        """Keep what a load read, unless a change to this member or one of these cards came after its ticket.

        `kpjs`: every card document the load read (also ones it then filtered out).
        Returns the entry either way, so the caller builds its answer the same way.
        """
        entry = MemberEntry(cards=cards, kpjs=tuple(kpjs), loaded_at=self._now())
        if not self.live or ticket.seq < self._floor:
            return entry
        if any(self._changed_since(key, ticket.seq) for key in [f"n:{nik}", *(f"k:{k}" for k in entry.kpjs)]):
            return entry
        self._drop(nik)
        self._entries[nik] = entry
        for kpj in entry.kpjs:
            self._holder[kpj] = nik
        while len(self._entries) > self.max_members:
            self._drop(next(iter(self._entries)))
        return entry

    def _changed_since(self, key: str, seq: int) -> bool:
        return self._marks.get(key, 0) > seq

    # --- changes ------------------------------------------------------------

    def changed(self, kpj: str, nik: str | None = None) -> None:
        """A card document changed (nik: its holder, when the change says so)."""
        self._seq += 1
        niks = {n for n in (nik, self._holder.get(kpj)) if n}
        self._mark(f"k:{kpj}")
        for n in niks:
            self._mark(f"n:{n}")
            self._drop(n)

    def member_changed(self, nik: str) -> None:
        """This process changed the member's cards itself (a merge): forget them now, not when the stream says."""
        self._seq += 1
        self._mark(f"n:{nik}")
        self._drop(nik)

    def start(self) -> None:
        """The change stream runs from now on: what was loaded before may have missed a change."""
        self.reset()
        self._live = True

    def stop(self) -> None:
        """The change stream broke: keep nothing until it runs again."""
        self._live = False
        self.reset()

    def reset(self) -> None:
        self._seq += 1
        self._floor = self._seq
        self._entries.clear()
        self._holder.clear()
        self._marks.clear()

    def _mark(self, key: str) -> None:
        self._marks[key] = self._seq
        self._marks.move_to_end(key)
        while len(self._marks) > self._max_marks:
            _, seq = self._marks.popitem(last=False)
            self._floor = max(self._floor, seq)

    def _drop(self, nik: str) -> None:
        entry = self._entries.pop(nik, None)
        if entry is None:
            return
        for kpj in entry.kpjs:
            if self._holder.get(kpj) == nik:
                del self._holder[kpj]

    def __len__(self) -> int:
        return len(self._entries)
