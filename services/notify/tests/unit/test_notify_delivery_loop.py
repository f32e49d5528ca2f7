"""The delivery loop with an in-memory store and channels: sent, retried with backoff, then dead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from jmo_notify.domain.delivery import DEAD, PENDING, SENT, RetryPolicy
from jmo_notify.service_layer.delivering import DeliveryLoop
from jmo_notify.service_layer.ports import Outgoing
from jmo_shared.clock import FixedClock

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


class MemoryStore:
    def __init__(self, *docs: dict[str, Any]) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.add(*docs)

    def add(self, *docs: dict[str, Any]) -> None:
        """Pending deliveries, due at T0 (what the event handlers plan)."""
        for d in docs:
            self.docs[d["_id"]] = {"attempts": 0, "status": PENDING, "next_attempt_at": T0, "lease_until": T0, **d}

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        return [
            dict(d)
            for d in self.docs.values()
            if d["status"] == PENDING and d["next_attempt_at"] <= now and d["lease_until"] <= now
        ][:limit]

    async def take(self, delivery_ids: list[str], now: datetime, lease: timedelta) -> set[str]:
        leased = set()
        for delivery_id in delivery_ids:
            doc = self.docs[delivery_id]
            if doc["status"] == PENDING and doc["lease_until"] <= now:
                doc["lease_until"] = now + lease
                leased.add(delivery_id)
        return leased

    async def sent(self, delivery_ids: list[str], now: datetime) -> None:
        for delivery_id in delivery_ids:
            doc = self.docs[delivery_id]
            doc.update(status=SENT, attempts=doc["attempts"] + 1, lease_until=now)

    async def failed(
        self, delivery_id: str, attempts: int, status: str, next_attempt_at, error: str, now: datetime
    ) -> None:
        self.docs[delivery_id].update(
            status=status, attempts=attempts, next_attempt_at=next_attempt_at or now, last_error=error, lease_until=now
        )


class Channel:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        if self.fail:
            raise ConnectionRefusedError("SMTP away")
        self.sent.append(message)


def delivery(delivery_id: str, channel: str = "email") -> dict[str, Any]:
    return {
        "_id": delivery_id,
        "channel": channel,
        "kind": "claim_paid",
        "member_id": "m1",
        "destination": "a@x.id",
        "subject": "s",
        "text": "t",
        "lang": "id",
    }


async def test_a_failing_channel_is_retried_with_backoff_until_it_works() -> None:
    clock, email = FixedClock(T0), Channel(fail=True)
    store = MemoryStore(delivery("e1:email"))
    loop = DeliveryLoop(store, {"email": email}, clock, RetryPolicy(base_seconds=10, max_seconds=60, max_attempts=5))
    assert await loop.work_once() == 1
    assert store.docs["e1:email"]["next_attempt_at"] == T0 + timedelta(seconds=10)
    assert await loop.work_once() == 0  # not due yet
    clock.advance(timedelta(seconds=10))
    await loop.work_once()
    assert store.docs["e1:email"]["next_attempt_at"] == clock.now() + timedelta(seconds=20)
    email.fail = False
    clock.advance(timedelta(seconds=20))
    await loop.work_once()
    assert store.docs["e1:email"]["status"] == SENT and store.docs["e1:email"]["attempts"] == 3
    assert [m.delivery_id for m in email.sent] == ["e1:email"]
    assert await loop.work_once() == 0


async def test_after_the_last_attempt_the_delivery_is_dead_and_the_others_go_on() -> None:
    clock = FixedClock(T0)
    store = MemoryStore(delivery("e1:email"), delivery("e1:push", "push"))
    push = Channel()
    loop = DeliveryLoop(
        store,
        {"email": Channel(fail=True), "push": push},
        clock,
        RetryPolicy(base_seconds=1, max_seconds=1, max_attempts=2),
    )
    await loop.work_once()
    clock.advance(timedelta(seconds=1))
    await loop.work_once()
    assert store.docs["e1:email"]["status"] == DEAD and "SMTP away" in store.docs["e1:email"]["last_error"]
    assert store.docs["e1:push"]["status"] == SENT and len(push.sent) == 1


async def test_a_delivery_leased_by_another_worker_is_left_alone() -> None:
    clock, email = FixedClock(T0), Channel()
    store = MemoryStore(delivery("e1:email"))
    store.docs["e1:email"]["lease_until"] = T0 + timedelta(seconds=30)
    loop = DeliveryLoop(store, {"email": email}, clock, RetryPolicy())
    assert await loop.work_once() == 0 and email.sent == []


async def test_notices_planned_close_together_go_out_in_one_round() -> None:
    """Once woken, the loop waits `gather_seconds` before its round: a burst of notices is one round."""
    clock, email = FixedClock(T0), Channel()
    store = MemoryStore()
    rounds: list[int] = []
    due = store.due

    async def counted_due(now: datetime, limit: int) -> list[dict[str, Any]]:
        found = await due(now, limit)
        rounds.append(len(found))
        return found

    store.due = counted_due  # type: ignore[method-assign]
    loop = DeliveryLoop(store, {"email": email}, clock, RetryPolicy(), poll_seconds=30, gather_seconds=0.5)
    task = asyncio.create_task(loop.run())
    try:
        await asyncio.sleep(0.05)  # its first round finds nothing
        for n in range(3):
            store.add(delivery(f"e{n}:email"))
            loop.wake()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.9)
    finally:
        task.cancel()
    assert sorted(m.delivery_id for m in email.sent) == ["e0:email", "e1:email", "e2:email"]
    assert [n for n in rounds if n] == [3], rounds


class BatchChannel(Channel):
    """A channel that takes a round at once and refuses the destinations in `refuse`."""

    def __init__(self, refuse: set[str]) -> None:
        super().__init__()
        self.refuse = refuse
        self.calls: list[list[str]] = []

    async def send_many(self, messages: list[Outgoing]) -> list[Exception | None]:
        self.calls.append([m.delivery_id for m in messages])
        outcomes: list[Exception | None] = []
        for m in messages:
            if m.destination in self.refuse:
                outcomes.append(ValueError(f"unknown device {m.destination}"))
            else:
                self.sent.append(m)
                outcomes.append(None)
        return outcomes


async def test_a_channel_that_takes_a_round_at_once_gets_one_call_and_each_failure_retries_alone() -> None:
    clock = FixedClock(T0)
    push, email = BatchChannel(refuse={"device-2"}), Channel()
    store = MemoryStore(
        *({**delivery(f"e{n}:push", "push"), "destination": f"device-{n}"} for n in range(4)), delivery("e0:email")
    )
    loop = DeliveryLoop(store, {"push": push, "email": email}, clock, RetryPolicy(base_seconds=10, max_attempts=3))
    assert await loop.work_once() == 5
    assert push.calls == [["e0:push", "e1:push", "e2:push", "e3:push"]]
    assert [m.delivery_id for m in email.sent] == ["e0:email"]  # a channel without send_many: one by one
    assert {d for d, doc in store.docs.items() if doc["status"] == SENT} == {
        "e0:push",
        "e1:push",
        "e3:push",
        "e0:email",
    }
    refused = store.docs["e2:push"]
    assert refused["status"] == PENDING and refused["attempts"] == 1 and "unknown device" in refused["last_error"]
    assert refused["next_attempt_at"] == T0 + timedelta(seconds=10)
    push.refuse.clear()
    clock.advance(timedelta(seconds=10))
    assert await loop.work_once() == 1
    assert push.calls[-1] == ["e2:push"] and store.docs["e2:push"]["status"] == SENT


async def test_a_round_at_once_that_raises_fails_each_of_its_deliveries() -> None:
    clock = FixedClock(T0)

    class Away(BatchChannel):
        async def send_many(self, messages: list[Outgoing]) -> list[Exception | None]:
            raise ConnectionError("push provider away")

    store = MemoryStore(delivery("e0:push", "push"), delivery("e1:push", "push"))
    loop = DeliveryLoop(store, {"push": Away(set())}, clock, RetryPolicy(base_seconds=5))
    await loop.work_once()
    for doc in store.docs.values():
        assert doc["status"] == PENDING and doc["attempts"] == 1 and "push provider away" in doc["last_error"]
