"""Reading topics from their end, as the benchmarks watch what the stack announces.

No consumer group (nothing is committed, nothing rebalances) and no polling of any
API: the benchmarks observe outcomes on Kafka so that observing costs the stack
nothing they measure.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


class TopicTail:
    """Hands the data of every `event_type` event that arrives after `start` to `on_data(data, received)`
    (`received`: wall clock)."""

    def __init__(
        self, bootstrap: str, event_type: str, max_records: int | None = None, **consumer_options: Any
    ) -> None:
        self.bootstrap = bootstrap
        self.event_type = event_type
        self._max_records = max_records
        self._options = consumer_options
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self, partitions: list[TopicPartition]) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, **self._options)
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve the lazy seek now, before the first message is caused
        self._consumer = consumer
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            received = time.time()
            for messages in batch.values():
                for message in messages:
                    self.on_message(message.value, received)

    def on_message(self, raw: bytes, received: float) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        if event.get("type") == self.event_type:
            self.on_data(event.get("data") or {}, received)

    def on_data(self, data: dict[str, Any], received: float) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._consumer:
            await self._consumer.stop()
