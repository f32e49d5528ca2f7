"""The bank's Kafka side: reads PayoutSent from payout.bank.<code>, commits after storing each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from jmo_shared import tracing
from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.payout import PayoutSent
from jmo_shared.kafka import QUIET_CONSUMER_OPTIONS, with_paced_metadata
from jmo_shared.logging import get_logger
from jmo_shared.topics import BANK_TOPIC_PREFIX

log = get_logger(__name__)


class InstructionFeed:
    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        pattern: str,
        handle: Callable[[PayoutSent], Awaitable[str]],
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._options = dict(options or {})  # jmo_shared.kafka.client_options: the bank's credentials, TLS
        self._group_id = group_id
        self._pattern = pattern
        self._handle = handle
        self._consumer: AIOKafkaConsumer | None = None
        self._started = False
        self._stopping = asyncio.Event()

    async def ready(self) -> bool:
        return self._started and self._consumer is not None and bool(self._consumer.assignment())

    async def run(self) -> None:
        consumer = with_paced_metadata(
            AIOKafkaConsumer(
                **self._options,
                bootstrap_servers=self._bootstrap,
                group_id=self._group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                metadata_max_age_ms=10_000,
                **QUIET_CONSUMER_OPTIONS,
            )
        )
        consumer.subscribe(pattern=self._pattern)
        self._consumer = consumer
        delay = 0.5
        while not self._stopping.is_set():
            try:
                await consumer.start()
                break
            except Exception as exc:  # broker not up yet
                log.warning("instruction_feed_start_retry", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
        self._started = True
        log.info("instruction_feed_started", group=self._group_id, pattern=self._pattern)
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=100)
                for tp, messages in batch.items():
                    for message in messages:
                        # The bank's work continues the payout's trace (its answer reaches payout with it).
                        with tracing.consumer_span(
                            tp.topic, tracing.extract_kafka(message.headers), {"messaging.kafka.offset": message.offset}
                        ):
                            await self._apply(tp.topic, message.value)
                if batch:
                    await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})
        finally:
            self._started = False
            await consumer.stop()

    async def _apply(self, topic: str, raw: bytes) -> None:
        try:
            event = CloudEvent.from_bytes(raw)
            if event.type != PayoutSent.event_type:
                return
            instruction = PayoutSent.model_validate(event.data)
        except (ValueError, ValidationError) as exc:
            log.error("instruction_unreadable", topic=topic, error=str(exc))
            return
        if topic != f"{BANK_TOPIC_PREFIX}{instruction.creditor.bank_code}":
            # A bank acts only on its own customers' transfers, whatever lands on its topic.
            log.error("instruction_for_another_bank", topic=topic, payout_id=instruction.payout_id)
            return
        delay = 0.5
        while True:
            try:
                outcome = await self._handle(instruction)
                if outcome != "not_ours":
                    log.info("instruction_received", payout_id=instruction.payout_id, outcome=outcome)
                return
            except PyMongoError as exc:  # not stored yet: keep the offset, try again
                log.warning("instruction_store_retry", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    def stop(self) -> None:
        self._stopping.set()
