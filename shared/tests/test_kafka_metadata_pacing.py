"""A client that reaches no broker pauses between metadata refreshes instead of spinning.

aiokafka's own code is exercised here (no stand-in): a producer pointed at a port where nothing
listens knows no broker, so every refresh fails at once, as during a broker restart.
"""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import REGISTRY

from jmo_shared.kafka import METADATA_PAUSE_SECONDS, make_producer, with_paced_metadata

UNREACHABLE = "127.0.0.1:1"


def _failures() -> float:
    return REGISTRY.get_sample_value("kafka_metadata_refresh_failures_total") or 0.0


async def _refresh_three_times(producer: AIOKafkaProducer) -> float:
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(KafkaError):
            await producer.client.fetch_all_metadata()
    return time.monotonic() - started


async def test_failed_refreshes_are_paced_and_counted() -> None:
    before = _failures()
    took = await _refresh_three_times(make_producer(UNREACHABLE, "test-paced"))
    assert took >= 3 * METADATA_PAUSE_SECONDS * 0.9
    assert _failures() - before == 3


async def test_an_unpaced_client_would_spin() -> None:
    # The behaviour the pacing exists for: the same refreshes, unpaced, return at once.
    took = await _refresh_three_times(AIOKafkaProducer(bootstrap_servers=UNREACHABLE))
    assert took < METADATA_PAUSE_SECONDS


async def test_consumers_are_paced_too() -> None:
    consumer = with_paced_metadata(AIOKafkaConsumer(bootstrap_servers=UNREACHABLE))
    before = _failures()
    with pytest.raises(KafkaError):
        await consumer._client.fetch_all_metadata()
    assert _failures() - before == 1
