"""The delivery loop: sends what is pending and due, retries a failing channel with backoff,
and parks a delivery as dead after its last attempt (an operator can replay it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from jmo_shared.clock import Clock
from jmo_shared.logging import get_logger

from ..adapters.deliveries import DeliveryStore
from ..domain.delivery import DEAD, RetryPolicy
from .metrics import DELIVERIES
from .ports import BatchChannel, Channel, Outgoing

log = get_logger(__name__)


class DeliveryLoop:
    def __init__(
        self,
        store: DeliveryStore,
        channels: Mapping[str, Channel],
        clock: Clock,
        policy: RetryPolicy,
        batch_size: int = 50,
        concurrency: int = 4,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 1.0,
        gather_seconds: float = 0.25,
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._clock = clock
        self._policy = policy
        self._batch = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._lease = lease
        self._poll = poll_seconds
        self._gather = gather_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was planned in this process: look again soon instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                handled = await self.work_once()
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not stop the deliveries
                log.warning("delivery_round_failed", error=repr(exc))
                handled = 0
            if handled >= self._batch:
                continue  # more is due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            if self._wake.is_set():
                self._wake.clear()
                # The planning transaction commits just after it asks, and under load others follow:
                # give them a moment to gather into one round.
                await asyncio.sleep(self._gather)

    async def work_once(self) -> int:
        """One round: every due delivery (up to a batch) attempted once; returns how many were due.

        The round is leased in one go and what was sent is marked in one go (failures one by one,
        each with its own next attempt): four database commands for a round of successes. A channel
        that takes a round at once (`send_many`) gets its share of the round in one call.
        """
        now = self._clock.now()
        due = await self._store.due(now, self._batch)
        leased = await self._store.take([doc["_id"] for doc in due], now, self._lease)
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for doc in due:
            if doc["_id"] in leased:
                by_channel.setdefault(doc["channel"], []).append(doc)
        attempts = []
        for channel, docs in by_channel.items():
            if hasattr(self._channels[channel], "send_many"):
                attempts.append(self._attempt_together(docs))
            else:
                attempts.extend(self._attempt_one(doc) for doc in docs)
        outcomes = await asyncio.gather(*attempts)  # each: the ids of the deliveries that went out
        await self._store.sent([doc_id for sent in outcomes for doc_id in sent], self._clock.now())
        return len(due)

    async def _attempt_one(self, doc: dict[str, Any]) -> list[str]:
        """Send one leased delivery; its id when it went out (marked sent with the round)."""
        async with self._slots:
            try:
                await self._channels[doc["channel"]].send(_outgoing(doc))
            except Exception as exc:  # noqa: BLE001 - whatever the channel says, the delivery waits and retries
                failure: Exception | None = exc
            else:
                failure = None
            return await self._settle([(doc, failure)])

    async def _attempt_together(self, docs: list[dict[str, Any]]) -> list[str]:
        """Send leased deliveries of one channel in one call; the ids of those that went out."""
        channel = cast(BatchChannel, self._channels[docs[0]["channel"]])
        async with self._slots:
            try:
                outcomes = await channel.send_many([_outgoing(doc) for doc in docs])
            except Exception as exc:  # noqa: BLE001 - the whole round failed: each waits and retries
                outcomes = [exc] * len(docs)
            return await self._settle(list(zip(docs, outcomes)))

    async def _settle(self, attempted: list[tuple[dict[str, Any], Exception | None]]) -> list[str]:
        """Count and log attempts (a delivery and None when it went, or why it did not); a failed one gets
        its next attempt (or is parked as dead) now. Returns the ids of those that went."""
        sent: list[str] = []
        for doc, failure in attempted:
            attempts = int(doc.get("attempts", 0)) + 1
            channel, kind = doc["channel"], doc["kind"]
            fields = {"delivery_id": doc["_id"], "channel": channel, "kind": kind, "attempts": attempts}
            if failure is None:
                DELIVERIES.labels(channel, kind, "sent").inc()
                log.info("delivery_sent", **fields)
                sent.append(str(doc["_id"]))
                continue
            done = self._clock.now()
            status, next_at = self._policy.after_failure(attempts, done)
            await self._store.failed(doc["_id"], attempts, status, next_at, repr(failure), done)
            DELIVERIES.labels(channel, kind, "failed").inc()
            if status == DEAD:
                DELIVERIES.labels(channel, kind, "dead").inc()
                log.error("delivery_dead", **fields, error=repr(failure))
            else:
                next_attempt_at = next_at.isoformat() if next_at else None
                log.warning("delivery_failed", **fields, next_attempt_at=next_attempt_at, error=repr(failure))
        return sent


def _outgoing(doc: dict[str, Any]) -> Outgoing:
    return Outgoing(
        delivery_id=doc["_id"],
        channel=doc["channel"],
        kind=doc["kind"],
        member_id=doc["member_id"],
        destination=doc["destination"],
        subject=doc["subject"],
        text=doc["text"],
        lang=doc["lang"],
    )
