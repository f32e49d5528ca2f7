"""SIGTERM on a worker process in the middle of a batch: it finishes the batch, commits, leaves, exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from jmo_shared.consumer import PROCESSED
from jmo_shared.mongo import Database
from jmo_shared.outbox import LEASE
from jmo_shared.testing import eventually, member_registered, publish

pytestmark = pytest.mark.integration

APP = Path(__file__).with_name("shutdown_app.py")
GRACE = 20.0
SLOW = 1.0  # seconds per event in the handler
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    def __init__(self, infra, db: Database, topic: str, prefix: str, tmp: Path) -> None:
        self.calls = tmp / "calls.txt"
        self.log = tmp / "worker.log"
        self.env = {
            **os.environ,
            "MONGODB_URI": infra.mongo_uri,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "CONSUMER_GROUP_PREFIX": prefix,
            "SHUTDOWN_GRACE_SECONDS": str(GRACE),
            "SHUTDOWNTEST_DB_NAME": db.db.name,
            "SHUTDOWNTEST_TOPIC": topic,
            "SHUTDOWNTEST_SLOW_SECONDS": str(SLOW),
            "SHUTDOWNTEST_CALLS_FILE": str(self.calls),
            "SHUTDOWNTEST_WORKER_PORT": str(_free_port()),
            "SHUTDOWNTEST_PORT": str(_free_port()),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(APP)], env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def called(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long the process took to go."""
        assert self.proc is not None
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=GRACE + 15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"no exit within the grace period; log:\n{self.log.read_text()[-3000:]}") from None
        return code, time.monotonic() - sent

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def _group(bootstrap: str, group: str, topic: str) -> tuple[str, int | None]:
    """The group's state and its committed offset on the topic's one partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_consumer_groups([group])
        state = described.groups[0][2]
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    committed = offsets.get(TopicPartition(topic, 0))
    return state, committed.offset if committed else None


async def test_sigterm_mid_batch_finishes_the_batch_commits_leaves_and_exits_0(
    infra, database: Database, scratch_topic: str, tmp_path: Path
) -> None:
    nik = f"3171{uuid.uuid4().int % 10**12:012d}"
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    group = f"{prefix}.shutdowntest.slow"
    first = await publish(
        infra.kafka_bootstrap,
        [member_registered(nik, f"{int(nik[-10:]) + i:011d}") for i in range(5)],
        topic=scratch_topic,
    )
    worker = Worker(infra, database, scratch_topic, prefix, tmp_path)
    worker.start()
    try:
        # The whole batch is in hand (one transaction) once the handler has started on it.
        await eventually(lambda: _async(len(worker.called()) >= 1), timeout=60, message="the slow batch started")
        await asyncio.sleep(SLOW / 2)
        started_before_sigterm = len(worker.called())
        assert started_before_sigterm < 5
        code, took = await asyncio.to_thread(worker.terminate)
        log = worker.log.read_text()
        assert code == 0, log[-3000:]
        # It waited for the rest of the batch (the handler's sleeps), and no longer than the grace period.
        assert (5 - started_before_sigterm) * SLOW * 0.8 <= took < GRACE + 10, took
        # The batch in hand was finished, not abandoned: every event applied exactly once.
        assert sorted(worker.called()) == sorted(first)
        applied = {d["_id"]: d["times"] for d in await database["applied"].find({}).to_list()}
        assert applied == {event_id: 1 for event_id in first}
        assert await database[PROCESSED].count_documents({"_id": {"$regex": f"^{group}:"}}) == 5
        # Offsets committed after the writes, and the member left the group (no wait for a session timeout).
        assert await _group(infra.kafka_bootstrap, group, scratch_topic) == ("Empty", 5)
        # The relay released its lease, so the next process publishes at once.
        lease = await database[LEASE].find_one({"_id": "relay"})
        assert lease is not None and lease["expires_at"] <= datetime.now(UTC)
        assert '"event": "worker_stopped"' in log

        # Restart: what was committed is not processed again, and what came meanwhile is applied.
        second = await publish(
            infra.kafka_bootstrap,
            [member_registered(nik, f"{int(nik[-10:]) + i:011d}") for i in range(5, 8)],
            topic=scratch_topic,
        )
        worker.start()
        await eventually(lambda: _count(database, 8), timeout=60, message="the three new events applied")
        await asyncio.sleep(1.0)  # a redelivery of the first batch would show up by now
        assert sorted(worker.called()) == sorted(first + second)
        assert {d["times"] for d in await database["applied"].find({}).to_list()} == {1}
        code, _ = await asyncio.to_thread(worker.terminate)
        assert code == 0
        assert await _group(infra.kafka_bootstrap, group, scratch_topic) == ("Empty", 8)
    finally:
        worker.kill()


async def _async(value):
    return value


async def _count(database: Database, n: int) -> bool:
    return await database["applied"].count_documents({}) == n


def test_sigterm_during_a_start_up_waiting_for_the_database_exits_at_once(tmp_path: Path) -> None:
    """A worker whose database is unreachable retries its start-up; SIGTERM must still stop it."""
    closed = _free_port()  # nothing listens there
    env = {
        **os.environ,
        "MONGODB_URI": f"mongodb://127.0.0.1:{closed}/?directConnection=true&serverSelectionTimeoutMS=300",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_free_port()}",
        "SHUTDOWNTEST_DB_NAME": "never",
        "SHUTDOWNTEST_TOPIC": "never",
        "SHUTDOWNTEST_CALLS_FILE": str(tmp_path / "calls.txt"),
        "SHUTDOWNTEST_WORKER_PORT": str(_free_port()),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), os.environ.get("PYTHONPATH", "")]),
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while b"startup_retry" not in log.read_bytes():
                assert proc.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "the worker never tried to start"
                time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    # uvicorn's "lifespan failed" exit: it stopped because it was asked to, without hanging.
    assert code == 3, log.read_text(errors="replace")
    assert b"StartupAborted" in log.read_bytes() or b"stop requested" in log.read_bytes()
