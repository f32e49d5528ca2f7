"""The API's read cache: what it may keep, and when it must forget."""

from __future__ import annotations

from jmo_balance.domain.model import Card
from jmo_balance.service_layer.read_cache import MemberReadCache

NIK, OTHER = "3174011201900001", "3174011201900002"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def live_cache(ttl: float = 5.0, max_members: int = 100, max_marks: int = 1000) -> tuple[MemberReadCache, Clock]:
    clock = Clock()
    cache = MemberReadCache(ttl, max_members, max_marks=max_marks, monotonic=clock)
    cache.start()
    return cache, clock


def load(cache: MemberReadCache, nik: str = NIK, kpjs: tuple[str, ...] = ("11111111111",)) -> None:
    cache.put(cache.ticket(), nik, [Card(kpj=k, nik=nik) for k in kpjs], kpjs)


def test_a_member_is_served_from_memory_until_one_of_their_cards_changes() -> None:
    cache, _ = live_cache()
    load(cache, kpjs=("11111111111", "22222222222"))
    assert cache.get(NIK) is not None
    cache.changed("33333333333")  # someone else's card
    assert cache.get(NIK) is not None
    cache.changed("22222222222")  # the holder is known from the load, even if the change does not say
    assert cache.get(NIK) is None


def test_a_new_card_for_the_member_drops_what_was_kept() -> None:
    cache, _ = live_cache()
    load(cache)
    cache.changed("44444444444", nik=NIK)  # a card registered to this NIK after the load
    assert cache.get(NIK) is None


def test_a_load_that_raced_with_a_change_is_not_kept() -> None:
    cache, _ = live_cache()
    ticket = cache.ticket()
    # The change is reported while the load's query is on its way: what it read may be older.
    cache.changed("11111111111")
    entry = cache.put(ticket, NIK, [Card(kpj="11111111111", nik=NIK)], ["11111111111"])
    assert entry.cards  # answered all the same
    assert cache.get(NIK) is None
    # A change to another member's card does not stop this one from being kept.
    ticket = cache.ticket()
    cache.changed("99999999999", nik=OTHER)
    cache.put(ticket, NIK, [], ["11111111111"])
    assert cache.get(NIK) is not None


def test_the_merge_done_here_is_seen_at_once() -> None:
    cache, _ = live_cache()
    load(cache)
    cache.member_changed(NIK)
    assert cache.get(NIK) is None


def test_nothing_is_kept_while_changes_are_not_reported() -> None:
    cache, _ = live_cache()
    load(cache)
    cache.stop()
    assert cache.get(NIK) is None
    load(cache)
    assert cache.get(NIK) is None
    # Reopened: a load that began before the stream was back may have missed a change.
    ticket = cache.ticket()
    cache.start()
    cache.put(ticket, NIK, [], ["11111111111"])
    assert cache.get(NIK) is None
    load(cache)
    assert cache.get(NIK) is not None


def test_no_entry_outlives_the_ttl() -> None:
    cache, clock = live_cache(ttl=5.0)
    load(cache)
    clock.t += 4.9
    assert cache.get(NIK) is not None
    clock.t += 0.2
    assert cache.get(NIK) is None


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache, _ = live_cache(ttl=0)
    assert not cache.enabled and not cache.live
    load(cache)
    assert cache.get(NIK) is None


def test_memory_is_bounded_least_recently_read_first() -> None:
    cache, _ = live_cache(max_members=2)
    load(cache, "a", ("1",))
    load(cache, "b", ("2",))
    assert cache.get("a") is not None  # "b" is now the least recently read
    load(cache, "c", ("3",))
    assert len(cache) == 2
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_forgotten_change_marks_make_older_loads_unkeepable() -> None:
    cache, _ = live_cache(max_marks=2)
    ticket = cache.ticket()
    for kpj in ("5", "6", "7"):  # the first mark falls out of memory
        cache.changed(kpj)
    cache.put(ticket, NIK, [], ["5"])
    assert cache.get(NIK) is None
    load(cache, kpjs=("5",))
    assert cache.get(NIK) is not None
