"""SecantusDB (MongoDB wire protocol, WiredTiger storage) as the local MongoDB server.

No mongod is available from the registries this project may use; SecantusDB
(PyPI `secantusdb`, GPL-2.0, beta) runs as its own process, so it stays a
local/test default only. It presents itself as a one-node replica set named
`secantus`, which is what lets pymongo run multi-document transactions.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from .ports import port_open_async
from .proc import ChildProcess, ProcessExited, tail

# directConnection=true: talk to this one server and skip replica-set discovery
#   (no dependence on the host names it advertises); transactions still work,
#   the server reports itself as a replica-set primary.
# retryWrites=false: with retryable writes on, SecantusDB's write rate falls
#   from ~2,500/s to ~250/s after 10,000 writes (see shared/infra-notes.md).
URI_OPTIONS = "directConnection=true&retryWrites=false"
# glibc gives threads that allocate at once arenas of their own, up to 8 per core, and memory freed in
# one is not reused by another. SecantusDB serves every connection on a thread of its own (about a
# hundred for the stack); with two arenas it ended `make bench --members 150` at 405-442 MB RSS, against
# 456-467 MB with glibc's default (same sitting).
MALLOC_ENV = {"MALLOC_ARENA_MAX": "2"}


class MongoNotReady(RuntimeError):
    """SecantusDB did not answer a ping in time or exited; the message carries its log tail."""


class SecantusNode:
    """One SecantusDB server whose storage and log live under data_dir."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        host: str = "127.0.0.1",
        cache_size: str = "256M",
        sync_on_commit: bool = True,
        ttl_sweep_seconds: float = 0.0,
        transaction_lifetime_seconds: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.host = host
        # WiredTiger's cache defaults to 1G; a local run's data fits in far less.
        self.cache_size = cache_size
        # Without an fsync per commit, acknowledged transactions are lost on
        # kill -9 (measured: 8 of 300 committed transactions gone). Money must not be.
        self.sync_on_commit = sync_on_commit
        # Off: it scans every TTL-indexed collection under a global lock; services purge by index instead.
        self.ttl_sweep_seconds = ttl_sweep_seconds
        # How long a transaction left open (its client crashed) holds its documents before it is aborted.
        self.transaction_lifetime_seconds = transaction_lifetime_seconds
        self.storage_path = self.data_dir / "db"
        self.log_path = self.data_dir / "secantusd.log"
        self._process: ChildProcess | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def env(self) -> dict[str, str]:
        """What the server's environment needs besides the caller's (MALLOC_ENV)."""
        return dict(MALLOC_ENV)

    def uri(self, database: str = "") -> str:
        """A mongodb:// URI for this node that supports multi-document transactions."""
        return f"mongodb://{self.host}:{self.port}/{database}?{URI_OPTIONS}"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        """The command line that runs the server in the foreground (jmo_local.secantusd: TTL sweep off)."""
        self.prepare()
        command = [
            sys.executable,
            "-m",
            "jmo_local.secantusd",
            "--ttl-sweep-seconds",
            str(self.ttl_sweep_seconds),
            "--transaction-lifetime-seconds",
            str(self.transaction_lifetime_seconds),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage_path),
            "--cache-size",
            self.cache_size,
        ]
        if self.sync_on_commit:
            command.append("--sync-on-commit")
        return command

    # --- running it as a child process (tests, LocalInfra) ---

    def start(self) -> None:
        """Start the server as a child process (does not wait for it)."""
        if self._process is not None:
            raise RuntimeError(f"SecantusDB in {self.data_dir} already started")
        self._process = ChildProcess(
            "secantusd", self.command(), self.log_path, cwd=self.data_dir, env={**os.environ, **self.env()}
        )

    def send_stop(self) -> None:
        if self._process is not None:
            self._process.send_stop()

    def wait_stopped(self, timeout: float = 30.0) -> None:
        if self._process is not None:
            self._process.wait_stopped(timeout)
            self._process = None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a clean WiredTiger close), then SIGKILL after timeout."""
        self.send_stop()
        self.wait_stopped(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    # --- readiness ---

    async def _answers(self) -> bool:
        # TCP first: cheaper than a client whose server selection waits out its timeout.
        if not await port_open_async(self.host, self.port):
            return False
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.uri(), serverSelectionTimeoutMS=1000)
        try:
            await client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            await client.close()

    async def wait_ready_async(self, timeout: float = 30.0) -> None:
        """Return once the server answers a ping; MongoNotReady otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._process is not None:
                    self._process.check_alive()
            except ProcessExited as exc:
                raise MongoNotReady(self._failure_report(str(exc))) from exc
            if await self._answers():
                return
            if time.monotonic() >= deadline:
                raise MongoNotReady(self._failure_report(f"no answer within {timeout:.0f}s"))
            await asyncio.sleep(0.05)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Blocking wait_ready_async (not callable from inside a running event loop)."""
        asyncio.run(self.wait_ready_async(timeout))

    def _failure_report(self, reason: str) -> str:
        return f"SecantusDB at {self.host}:{self.port} not ready: {reason}\n--- tail of {self.log_path} ---\n{tail(self.log_path)}"
