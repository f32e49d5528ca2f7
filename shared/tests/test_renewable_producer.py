"""An outbox producer whose idempotence state the broker no longer accepts is replaced, once."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from jmo_shared.kafka import RenewableProducer
from jmo_shared.outbox import send_rows


class FakeProducer:
    """Acknowledges sends, or fails each with `error` (a future that raises, as aiokafka's do)."""

    made = 0

    def __init__(self) -> None:
        FakeProducer.made += 1
        self.number = FakeProducer.made
        self.error: BaseException | None = None
        self.sent: list[bytes] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic, value=None, key=None, headers=None) -> asyncio.Future:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        if self.error is not None:
            future.set_exception(self.error)
        else:
            self.sent.append(value)
            future.set_result(None)
        return future


def row(n: int) -> dict:
    return {"_id": n, "topic": "t", "key": "k", "value": b"v%d" % n, "event_id": f"e{n}", "type": "T"}


async def started(factory=FakeProducer) -> RenewableProducer:
    producer = RenewableProducer(factory)
    await producer.start()
    return producer


async def test_a_lost_sequence_state_replaces_the_producer_and_the_retry_goes_through() -> None:
    producer = await started()
    first = producer.current
    first.error = OutOfOrderSequenceNumber()

    with pytest.raises(OutOfOrderSequenceNumber):
        await send_rows(producer, [row(1), row(2)])
    assert producer.renewals == 1 and first.stopped
    assert producer.current is not first and producer.current.started

    await send_rows(producer, [row(1), row(2)])  # the caller's retry, on the new producer
    assert producer.current.sent == [b"v1", b"v2"]


async def test_two_senders_failing_on_the_same_producer_renew_it_once() -> None:
    producer = await started()
    producer.current.error = OutOfOrderSequenceNumber()
    results = await asyncio.gather(send_rows(producer, [row(1)]), send_rows(producer, [row(2)]), return_exceptions=True)
    assert all(isinstance(r, OutOfOrderSequenceNumber) for r in results)
    assert producer.renewals == 1


async def test_a_broker_that_is_away_keeps_the_producer() -> None:
    producer = await started()
    first = producer.current
    first.error = KafkaConnectionError()
    with pytest.raises(KafkaConnectionError):
        await send_rows(producer, [row(1)])
    assert producer.current is first and producer.renewals == 0


async def test_a_replacement_that_cannot_start_at_once_is_started_again_before_sends_go_on() -> None:
    class StartsOnSecondTry(FakeProducer):
        """The first one starts; a replacement is refused once (the broker still restarting), then starts."""

        instances = 0

        def __init__(self) -> None:
            super().__init__()
            StartsOnSecondTry.instances += 1
            self.replacement = StartsOnSecondTry.instances > 1
            self.tries = 0

        async def start(self) -> None:
            self.tries += 1
            if self.replacement and self.tries == 1:
                raise KafkaConnectionError()
            await super().start()

    producer = await started(StartsOnSecondTry)
    producer.current.error = OutOfOrderSequenceNumber()
    with pytest.raises(OutOfOrderSequenceNumber):
        await send_rows(producer, [row(1)])
    assert producer.current.tries == 2 and producer.current.started
    await send_rows(producer, [row(1)])
    assert producer.current.sent == [b"v1"]
