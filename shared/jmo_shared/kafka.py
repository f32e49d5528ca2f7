"""Kafka clients configured the one way this system uses them."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from prometheus_client import Gauge

# Lag and backlog gauges alone cannot tell "stuck" from "blind": when the broker is away, a
# consumer's lag keeps its last value. This one says whether the process can see Kafka at all.
KAFKA_CONNECTED = Gauge("kafka_connected", "1 if this process reached the Kafka broker at its last check, else 0")


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    # Idempotent producer with acks=all: a retried send is never written twice
    # to the log, and an acknowledged event survives a broker restart.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


class KafkaProbe:
    """Answers readiness: can this process reach the broker right now? (cached for a few seconds)."""

    def __init__(self, bootstrap: str, client_id: str, ttl_seconds: float = 5.0) -> None:
        # Built in start(): aiokafka clients need the running event loop.
        self._bootstrap = bootstrap
        self._client_id = f"{client_id}-probe"
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._ttl = ttl_seconds
        self._checked_at = 0.0
        self._ok = False

    async def start(self) -> None:
        if self._producer is None:
            self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, client_id=self._client_id)
        try:
            await asyncio.wait_for(self._producer.start(), timeout=10)
            self._started = True
        except Exception:  # the broker may come later; readiness says so meanwhile
            self._started = False

    async def ready(self) -> bool:
        if time.monotonic() - self._checked_at < self._ttl:
            return self._ok
        try:
            if not self._started:
                await self.start()
            if self._started and self._producer is not None:
                await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=3)
                self._ok = True
            else:
                self._ok = False
        except Exception:
            self._ok = False
        self._checked_at = time.monotonic()
        KAFKA_CONNECTED.set(1 if self._ok else 0)
        return self._ok

    async def watch(self, every_seconds: float = 15.0) -> None:
        """Check the broker on a timer, so kafka_connected is current even when nobody asks /readyz."""
        while True:
            await self.ready()
            await asyncio.sleep(every_seconds)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._started = False
