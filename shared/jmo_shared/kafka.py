"""Kafka clients configured the one way this system uses them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, errors
from aiokafka.client import AIOKafkaClient
from aiokafka.helpers import create_ssl_context
from prometheus_client import Counter, Gauge

from .logging import get_logger
from .settings import ServiceSettings

log = get_logger(__name__)

# Lag and backlog gauges alone cannot tell "stuck" from "blind": when the broker is away, a
# consumer's lag keeps its last value. This one says whether the process can see Kafka at all.
KAFKA_CONNECTED = Gauge("kafka_connected", "1 if this process reached the Kafka broker at its last check, else 0")


METADATA_FAILURES = Counter(
    "kafka_metadata_refresh_failures_total",
    "Cluster metadata refreshes that reached no broker (each followed by a pause)",
)
METADATA_PAUSE_SECONDS = 0.5

# How a long-running consumer waits when there is nothing to read (measured: jmo_local.idle_bench).
QUIET_CONSUMER_OPTIONS: dict[str, Any] = {
    # The broker answers a fetch as soon as there is data; this is only how long it holds an empty one.
    # 500 ms (the default) costs every idle consumer two round trips a second.
    "fetch_max_wait_ms": 5_000,
    # How often aiokafka's fetch loop wakes with nothing to do (default 200 ms: five wake-ups a second
    # per consumer, the largest timer of an idle worker). Arriving records, consumed records, rebalances
    # and resumed partitions wake the loop at once whatever this is; only a seek() waits for it.
    "consumer_timeout_ms": 1_000,
}


def pace_metadata_refresh(client: AIOKafkaClient, pause_seconds: float = METADATA_PAUSE_SECONDS) -> None:
    """Pause after a metadata refresh that reached no broker, before the next one.

    aiokafka (0.14) refreshes metadata again at once when a refresh fails while a producer holds a
    batch for a partition whose leader it does not know: with the broker away that is a busy loop,
    measured here at about 2,500 refreshes and 5,000 error log lines a second per process for the
    whole outage, on a machine whose cores the rest of the stack needs meanwhile. The refresh is
    `_metadata_update` (the background synchronizer and `fetch_all_metadata` both call it); the pause
    goes after a failed one only, so a healthy client is not slowed.
    """
    refresh = client._metadata_update

    async def paced(cluster_metadata: Any, topics: Any) -> bool:
        updated = await refresh(cluster_metadata, topics)
        if not updated:
            METADATA_FAILURES.inc()
            await asyncio.sleep(pause_seconds)
        return updated

    client._metadata_update = paced  # type: ignore[method-assign]


def with_paced_metadata(client: AIOKafkaProducer | AIOKafkaConsumer) -> Any:
    """The producer or consumer itself, its metadata refreshes paced (see `pace_metadata_refresh`)."""
    inner = client.client if isinstance(client, AIOKafkaProducer) else client._client
    pace_metadata_refresh(inner)
    return client


SECURITY_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
SASL_MECHANISMS = frozenset({"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"})


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """The keyword arguments every producer and consumer of this process connects with.

    PLAINTEXT (the local stack): none, the broker's defaults. SASL_*: the service's own user and
    password, which the broker's ACLs tie to its topics and groups. SSL and SASL_SSL: the brokers'
    certificates are verified against KAFKA_SSL_CAFILE (or the system's CAs when unset). A setting
    that cannot connect (an unknown protocol, SASL without a user) raises here, at start-up.
    """
    protocol = settings.kafka_security_protocol.strip().upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise ValueError(
            f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol!r}: "
            f"expected one of {sorted(SECURITY_PROTOCOLS)}"
        )
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        mechanism = settings.kafka_sasl_mechanism.strip().upper()
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(
                f"KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism!r}: expected one of {sorted(SASL_MECHANISMS)}"
            )
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        if not settings.kafka_sasl_username or not password:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        options.update(
            sasl_mechanism=mechanism, sasl_plain_username=settings.kafka_sasl_username, sasl_plain_password=password
        )
    if protocol.endswith("SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile or None)
    return options


def make_producer(bootstrap: str, client_id: str, options: Mapping[str, Any] | None = None) -> RenewableProducer:
    """The outbox's producer; `options` from `client_options`."""

    # Idempotent producer with acks=all: a retried send is never written twice
    # to the log, and an acknowledged event survives a broker restart.
    def new() -> AIOKafkaProducer:
        return with_paced_metadata(
            AIOKafkaProducer(
                **(options or {}),
                bootstrap_servers=bootstrap,
                client_id=client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                request_timeout_ms=15000,
                retry_backoff_ms=200,
            )
        )

    return RenewableProducer(new)


async def start_producer(producer: AIOKafkaProducer | RenewableProducer) -> None:
    """Start a producer, trying again (0.5 s, doubling to 10 s) until the broker answers."""
    delay = 0.5
    while True:
        try:
            await producer.start()
            return
        except Exception as exc:
            log.warning("producer_start_retry", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


# Errors after which an idempotent producer's sequence numbers (or its id) no longer match what the
# broker holds. aiokafka keeps its producer id after them, unlike Kafka's Java client, so every
# later send to that partition fails the same way: seen after a broker restart under load, where the
# outbox resent one batch for minutes (5,255 copies of the events of the partitions that did accept
# it, one claim stuck). Only a new producer (a new producer id, sequences from 0) gets out of it.
PRODUCER_STATE_ERRORS: tuple[type[Exception], ...] = (
    errors.OutOfOrderSequenceNumber,
    errors.DuplicateSequenceNumber,
    errors.InvalidProducerEpoch,
    errors.InvalidProducerIdMapping,
    errors.ProducerFenced,
)


class RenewableProducer:
    """An AIOKafkaProducer that is replaced by a fresh one when its idempotence state is lost.

    `send`, `start` and `stop` go to the current producer. `renew(failed)` stops the producer a send
    failed on and starts a new one, once, however many senders saw the failure.
    """

    def __init__(self, factory: Callable[[], AIOKafkaProducer]) -> None:
        self._factory = factory
        self.current = factory()
        self.renewals = 0
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self.current.start()

    async def stop(self) -> None:
        await self.current.stop()

    @property
    def client(self) -> AIOKafkaClient:
        return self.current.client

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future:
        return await self.current.send(*args, **kwargs)

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> Any:
        return await self.current.send_and_wait(*args, **kwargs)

    async def renew(self, failed: AIOKafkaProducer, error: BaseException) -> None:
        async with self._lock:
            if self.current is not failed:
                return  # another sender renewed it already
            log.warning("kafka_producer_renewed", error=repr(error), error_type=type(error).__name__)
            self.renewals += 1
            try:
                await asyncio.wait_for(failed.stop(), timeout=10)
            except Exception as exc:  # noqa: BLE001 - the old one is dropped either way
                log.warning("kafka_producer_stop_failed", error=repr(exc))
            # The current one from here on, started or not: a start that fails must not leave the
            # stopped producer in place, where every later send would fail with nothing to renew it.
            self.current = self._factory()
            await start_producer(self.current)


class KafkaProbe:
    """Answers readiness: can this process reach the broker right now? (cached for a few seconds)."""

    def __init__(
        self, bootstrap: str, client_id: str, ttl_seconds: float = 5.0, options: Mapping[str, Any] | None = None
    ) -> None:
        # Built in start(): aiokafka clients need the running event loop.
        self._bootstrap = bootstrap
        self._options = dict(options or {})
        self._client_id = f"{client_id}-probe"
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._ttl = ttl_seconds
        self._checked_at = 0.0
        self._ok = False

    async def start(self) -> None:
        if self._producer is None:
            self._producer = with_paced_metadata(
                AIOKafkaProducer(**self._options, bootstrap_servers=self._bootstrap, client_id=self._client_id)
            )
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
