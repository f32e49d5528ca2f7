"""Reading whole topics back from the broker, as an auditor would: from the first offset
to the end offsets of the moment, every copy of every message."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition


async def read_topics(bootstrap: str, topics: Iterable[str], timeout: float = 60) -> list[dict]:
    """Every message of the topics (CloudEvents, parsed), duplicates included."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    events: list[dict] = []
    try:
        partitions = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            if not found:
                await consumer._client.force_metadata_update()  # noqa: SLF001 - no public metadata refresh
                found = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(found)]
        if not partitions:
            return events
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if end[tp] > 0}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while remaining:
            if loop.time() > deadline:
                raise TimeoutError(f"reading {sorted(tp.topic for tp in remaining)} took over {timeout}s")
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, msgs in batch.items():
                for msg in msgs:
                    if msg.offset < end[tp]:
                        events.append(json.loads(msg.value))
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return events


@dataclass
class EventTally:
    """Events of one type, counted per business key: distinct event ids, and raw copies."""

    distinct: dict[str, set[str]]  # key -> event ids
    copies: Counter  # key -> messages on the topic

    def ids(self, key: str) -> set[str]:
        return self.distinct.get(key, set())

    def redelivered(self) -> int:
        """Messages that repeat an event id already on the topic (the outbox relay is at-least-once)."""
        return sum(self.copies.values()) - sum(len(v) for v in self.distinct.values())


def tally(events: Iterable[dict], event_type: str, key_field: str, keys: set[str] | None = None) -> EventTally:
    distinct: dict[str, set[str]] = defaultdict(set)
    copies: Counter = Counter()
    for event in events:
        if event.get("type") != event_type:
            continue
        key = event["data"].get(key_field)
        if keys is not None and key not in keys:
            continue
        distinct[key].add(event["id"])
        copies[key] += 1
    return EventTally(dict(distinct), copies)
