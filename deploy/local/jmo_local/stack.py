"""LocalInfra: a throw-away Kafka + SecantusDB pair for a test session.

    with LocalInfra(tmp_path_factory.mktemp("infra")) as infra:
        infra.kafka_bootstrap, infra.mongo_uri

Both servers start before either is waited on (SecantusDB is up while Kafka
formats its storage), every topic of jmo_shared.topics is created, and both
are stopped on exit, SIGTERM first and SIGKILL after a timeout.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from jmo_shared.topics import TOPICS, TopicSpec

from .kafka import KafkaNode, ensure_kafka_jars
from .mongo import SecantusNode
from .ports import free_ports
from .topics import create_topics

REPO_ROOT = Path(__file__).resolve().parents[3]


def default_cache_dir() -> Path:
    """The Kafka jar cache shared with `make run` ($CACHE_DIR/kafka, default <repo>/.cache/kafka)."""
    return Path(os.environ.get("CACHE_DIR", REPO_ROOT / ".cache")).resolve() / "kafka"


@dataclass(frozen=True)
class InfraEndpoints:
    kafka_bootstrap: str
    mongo_uri: str
    base_dir: Path


class LocalInfra:
    """Starts Kafka and SecantusDB under base_dir on free ports; a sync context manager."""

    def __init__(
        self,
        base_dir: Path,
        *,
        cache_dir: Path | None = None,
        topics: Iterable[TopicSpec] = TOPICS,
        ready_timeout: float = 120.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.cache_dir = cache_dir or default_cache_dir()
        self.topics = list(topics)
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.kafka: KafkaNode | None = None
        self.mongo: SecantusNode | None = None
        self.timings: dict[str, float] = {}

    def __enter__(self) -> InfraEndpoints:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> InfraEndpoints:
        started = time.monotonic()
        kafka_port, controller_port, mongo_port = free_ports(3)
        # SecantusDB first: it comes up while Maven (cold cache) and Kafka's
        # storage formatting run.
        self.mongo = SecantusNode(self.base_dir / "mongodb", mongo_port)
        self.mongo.start()
        libs = ensure_kafka_jars(self.cache_dir)
        self.kafka = KafkaNode(self.base_dir / "kafka", kafka_port, controller_port, libs)
        self.kafka.start()
        self.timings["processes_started"] = time.monotonic() - started
        asyncio.run(self._wait_ready_and_create_topics(self.kafka, self.mongo))
        self.timings["ready"] = time.monotonic() - started
        endpoints = InfraEndpoints(self.kafka.bootstrap, self.mongo.uri(), self.base_dir)
        print(
            f"[local-infra] Kafka {endpoints.kafka_bootstrap} and SecantusDB {endpoints.mongo_uri} "
            f"ready in {self.timings['ready']:.1f}s (data in {self.base_dir})",
            file=sys.stderr,
            flush=True,
        )
        return endpoints

    async def _wait_ready_and_create_topics(self, kafka: KafkaNode, mongo: SecantusNode) -> None:
        started = time.monotonic()

        async def timed(name: str, step: Awaitable[object]) -> None:
            await step
            self.timings[name] = time.monotonic() - started

        await asyncio.gather(
            timed("kafka_answered", kafka.wait_ready_async(self.ready_timeout)),
            timed("mongo_answered", mongo.wait_ready_async(self.ready_timeout)),
        )
        await timed("topics_created", create_topics(kafka.bootstrap, self.topics))

    def stop(self) -> None:
        """Stop both servers in parallel; safe to call more than once."""
        nodes = [node for node in (self.kafka, self.mongo) if node is not None]
        for node in nodes:
            node.send_stop()
        for node in nodes:
            node.wait_stopped(self.stop_timeout)
        self.kafka = self.mongo = None
