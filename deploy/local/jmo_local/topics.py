"""Creating the system's Kafka topics up front, and waiting for a broker.

Every topic is created before any service starts, with the partition count of
its TopicSpec: a consumer group started against an auto-created topic (wrong
partition count) silently loses its per-key ordering, and faust crashes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from jmo_shared.topics import TOPICS, TopicSpec

from .ports import port_open_async

_TOPIC_ALREADY_EXISTS = 36


class TopicMismatch(RuntimeError):
    """An existing topic's partition count differs from its TopicSpec."""


class WrongCluster(RuntimeError):
    """A broker answers at the address, but it belongs to another cluster."""


def _split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    addresses = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        addresses.append((host, int(port)))
    return addresses


async def _cluster_id(bootstrap: str, request_timeout: float, options: Mapping[str, Any] | None = None) -> str | None:
    """The cluster id of the broker answering at bootstrap, or None when none answers.

    `options`: how to connect (jmo_shared.kafka.client_options), for a listener that requires credentials.
    """
    # A plain TCP probe first: while the port is still closed aiokafka would log
    # a connection error on every attempt.
    if not any([await port_open_async(host, port) for host, port in _split_bootstrap(bootstrap)]):
        return None
    admin = AIOKafkaAdminClient(
        **(options or {}),
        bootstrap_servers=bootstrap,
        client_id="jmo-local-probe",
        request_timeout_ms=int(request_timeout * 1000),
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return str(cluster["cluster_id"]) if cluster.get("brokers") else None
    except (TimeoutError, KafkaError, OSError):
        return None
    finally:
        await admin.close()


async def wait_kafka(
    bootstrap: str,
    timeout: float = 60.0,
    *,
    check: Callable[[], None] | None = None,
    cluster_id: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Return once a broker at bootstrap answers a metadata request (connecting with `options`).

    `check` runs before every attempt and may raise to give up early (KafkaNode
    passes one that raises when its process has exited). With `cluster_id`, a
    broker of another cluster on that port (a leftover from another data dir)
    raises WrongCluster instead of passing for ours. Raises TimeoutError.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        remaining = deadline - time.monotonic()
        # A ready broker answers in milliseconds; a short timeout keeps `check` frequent.
        answered = await _cluster_id(bootstrap, request_timeout=max(0.5, min(2.0, remaining)), options=options)
        if answered is not None:
            if cluster_id is not None and answered != cluster_id:
                raise WrongCluster(f"the broker at {bootstrap} belongs to cluster {answered}, not {cluster_id}")
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no Kafka broker answered at {bootstrap} within {timeout:.0f}s")
        await asyncio.sleep(0.1)


def _new_topic(spec: TopicSpec, replication_factor: int) -> NewTopic:
    return NewTopic(spec.name, spec.partitions, replication_factor, topic_configs=dict(spec.configs))


def _raise_on_errors(response: Any) -> None:
    # Entries are (topic, error_code, error_message, ...) in every response version.
    failed = [
        f"{error[0]}: error {error[1]} {error[2] if len(error) > 2 else ''}".strip()
        for error in response.topic_errors
        if error[1] not in (0, _TOPIC_ALREADY_EXISTS)  # already exists: created concurrently, fine
    ]
    if failed:
        raise RuntimeError("creating topics failed: " + "; ".join(failed))


async def _wait_for_leaders(admin: AIOKafkaAdminClient, specs: list[TopicSpec], timeout: float) -> None:
    """Wait until the broker's metadata shows every topic with a leader per partition.

    CreateTopics returns once the controller committed the topics; the broker
    learns of them a moment later. This is also where existing topics' partition
    counts are checked against their specs.
    """
    wanted = {spec.name: spec.partitions for spec in specs}
    deadline = time.monotonic() + timeout
    while True:
        described = await admin.describe_topics(list(wanted))
        ready = {
            topic["topic"]: len(topic["partitions"])
            for topic in described
            if topic["error_code"] == 0 and all(p["leader"] >= 0 for p in topic["partitions"])
        }
        wrong = [
            f"{name} has {ready[name]} partitions, spec says {count}"
            for name, count in wanted.items()
            if name in ready and ready[name] != count
        ]
        if wrong:
            raise TopicMismatch("; ".join(wrong) + " (delete the topic or the local data dir)")
        if len(ready) == len(wanted):
            return
        if time.monotonic() >= deadline:
            missing = sorted(set(wanted) - set(ready))
            raise TimeoutError(f"topics without leaders after {timeout:.0f}s: {missing}")
        await asyncio.sleep(0.05)


async def create_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] = TOPICS,
    *,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> list[str]:
    """Create every topic in specs that does not exist yet; return the names created.

    Idempotent: existing topics are left alone, but one whose partition count
    differs from its spec raises TopicMismatch (adding partitions would remap
    keys to partitions and break per-key ordering, so it is not done silently).
    """
    specs = list(specs)
    if not specs:
        return []  # describe_topics([]) would mean "every topic"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="jmo-local-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            topics = [_new_topic(spec, replication_factor) for spec in missing]
            response = await admin.create_topics(topics, timeout_ms=int(timeout * 1000))
            _raise_on_errors(response)
        await _wait_for_leaders(admin, specs, timeout)
        await asyncio.gather(
            _wait_until_served(bootstrap, missing, timeout),
            _wait_for_group_coordinator(admin, timeout),
        )
    finally:
        await admin.close()
    return [spec.name for spec in missing]


async def _wait_for_group_coordinator(admin: AIOKafkaAdminClient, timeout: float) -> None:
    """Have the broker create __consumer_offsets now rather than at the first group join.

    Otherwise the first consumer of every fresh cluster logs "Group Coordinator
    Request failed: GroupCoordinatorNotAvailableError" while the topic is made.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            await admin.find_coordinator("jmo-local-warm-up")
            return
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.05)


async def _wait_until_served(bootstrap: str, specs: list[TopicSpec], timeout: float) -> None:
    """Wait until the leader of every new partition serves requests.

    The broker updates its metadata cache before its replica manager takes
    the new partitions on, so for a moment metadata names a leader that answers
    NOT_LEADER_OR_FOLLOWER: a producer would retry and log a warning per
    partition. Asking each leader for its end offsets (ListOffsets) returns
    only once every partition is served; aiokafka retries that silently.
    """
    if not specs:
        return
    partitions = [TopicPartition(spec.name, index) for spec in specs for index in range(spec.partitions)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, client_id="jmo-local-topics", enable_auto_commit=False, retry_backoff_ms=10
    )
    await consumer.start()
    try:
        await asyncio.wait_for(consumer.end_offsets(partitions), timeout)
    finally:
        await consumer.stop()
