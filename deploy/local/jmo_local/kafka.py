"""A single-node Apache Kafka (KRaft, broker + controller in one JVM) for local runs and tests.

The jars come from Maven Central through deploy/local/kafka/pom.xml (no Docker,
no tarball). `make run` hands KafkaNode.command() to supervisord; tests use
KafkaNode.start()/stop(), which run the same command as a child process.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .jvm import archive_path, cds_flags, java_executable, publish_archive
from .proc import ChildProcess, ProcessExited, error_lines, tail
from .topics import WrongCluster, wait_kafka

KAFKA_DIR = Path(__file__).resolve().parent.parent / "kafka"
POM = KAFKA_DIR / "pom.xml"
LOG4J_CONFIG = KAFKA_DIR / "log4j2.xml"
STAMP_NAME = ".complete"

DEFAULT_HEAP = ("-Xmx512m", "-Xms64m")
# Small-machine flags (2 cores, many other processes):
# - the serial collector, and a heap that starts at 64 MB and grows only as the broker needs it: a
#   local broker's heap stays far below its maximum, and with G1 and 256 MB from the start it kept
#   300-355 MB resident after a claims benchmark, the serial collector 279 MB (deploy/local/README.md);
# - C1 only (TieredStopAtLevel=1): over start-up and 200k messages the broker
#   used 9 s of CPU with C2 and 3 s with C1, C2 bought no throughput with Python
#   clients, and C1 starts ~1 s sooner with ~30 MB less RSS (README, measured);
# - exit on OOM so the supervisor restarts a clean broker instead of a sick one.
SMALL_MACHINE_FLAGS = (
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


def _say(message: str) -> None:
    print(f"[kafka] {message}", file=sys.stderr, flush=True)


# --- jars ----------------------------------------------------------------------------------


def pom_digest(pom: Path = POM) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _libs_complete(libs: Path, digest: str) -> bool:
    stamp = libs / STAMP_NAME
    return stamp.exists() and stamp.read_text().strip() == digest and any(libs.glob("kafka_2.13-*.jar"))


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    # Two test sessions (or a test run and `make run`) may fill one cache at once.
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mvn_copy_dependencies(pom: Path, output_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn not found: install Maven (apt-get install maven) to fetch the Kafka jars")
    command = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={output_dir}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise RuntimeError(f"{' '.join(command)} failed (exit {result.returncode}):\n{output}")


def ensure_kafka_jars(cache_dir: Path, pom: Path = POM) -> Path:
    """Kafka's jars in cache_dir/libs, fetched with Maven unless already there; returns the libs dir.

    The libs dir is complete when its stamp file holds the pom's hash: a changed
    pom (new Kafka version) refetches, an interrupted fetch leaves no stamp.
    """
    libs = cache_dir / "libs"
    digest = pom_digest(pom)
    if _libs_complete(libs, digest):
        _say(f"jars up to date in {libs}")
        return libs
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache_dir / ".lock"):
        if _libs_complete(libs, digest):  # filled by another process while we waited
            return libs
        _say(f"fetching Kafka jars from Maven Central into {libs} (once per pom change) ...")
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix="libs-", dir=cache_dir))
        try:
            _mvn_copy_dependencies(pom, staging)
            (staging / STAMP_NAME).write_text(digest)
            if libs.exists():
                shutil.rmtree(libs)
            staging.rename(libs)  # nobody ever sees a half-filled libs dir
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        jars = sum(1 for _ in libs.glob("*.jar"))
        _say(f"fetched {jars} jars in {time.monotonic() - started:.1f}s")
    return libs


# --- configuration -------------------------------------------------------------------------


def server_properties(
    host: str,
    port: int,
    controller_port: int,
    log_dir: Path,
    node_id: int = 1,
    extra: Mapping[str, object] | None = None,
) -> str:
    """server.properties of a combined broker + controller that is the whole cluster.

    `extra` adds settings or replaces these (e.g. `scram_listener_properties`).
    """
    settings = {
        "process.roles": "broker,controller",
        "node.id": node_id,
        # A static voter set (not `format --standalone`'s dynamic quorum, which
        # stores the controller's address in the log): the ports may change
        # from one run to the next on the same data dir.
        "controller.quorum.voters": f"{node_id}@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": log_dir,
        # Topics are created up front with their real partition counts (topics.py);
        # an auto-created topic would silently get the wrong count.
        "auto.create.topics.enable": "false",
        "num.partitions": 1,
        # One broker: every internal topic must fit on it.
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # Fewer internal partitions than the default 50: created (and opened at every
        # start) in a fraction of the time, and one broker gains nothing from 50.
        "offsets.topic.num.partitions": 10,
        "transaction.state.log.num.partitions": 10,
        # Consumers in tests and local runs join at once instead of after 3 s.
        "group.initial.rebalance.delay.ms": 0,
        # The cleaner's default 128 MB dedupe buffer lives on the heap from start-up;
        # 16 MB compacts __consumer_offsets of a local run just as well.
        "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
        # The controller writes a no-op record to its metadata log whenever nothing else was written for
        # this long (default 500 ms), so an idle node still appends twice a second; once in 5 s is plenty
        # for one node (measured idle: see jmo_local.idle_bench).
        "metadata.max.idle.interval.ms": 5000,
        "num.network.threads": 2,
        "num.io.threads": 4,
    }
    settings.update(extra or {})
    lines = ["# Written by jmo_local.kafka.KafkaNode at every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


SCRAM_MECHANISM = "SCRAM-SHA-512"


def scram_listener_properties(
    host: str, port: int, controller_port: int, admin: str, admin_password: str
) -> dict[str, str]:
    """Settings (for `server_properties`' extra) of a node whose client listener requires credentials.

    Clients and the broker itself connect to host:port with SASL/SCRAM-SHA-512 as a user created at
    format time (KafkaNode's scram_users); the broker as `admin`, a super user. ACLs decide what any
    other user may do, and with none for a topic or group nothing is allowed on it. The controller
    listener stays PLAINTEXT with its principal, ANONYMOUS, a super user (the broker registers with
    the controller through it): a node on localhost for tests, not a layout for a shared network.
    """
    return {
        "listeners": f"SASL_PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://{host}:{port}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
        f"listener.name.sasl_plaintext.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{admin}" password="{admin_password}";'
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{admin};User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    }


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Same format as `kafka-storage.sh random-uuid` (Uuid.randomUuid), without
    starting a JVM for it; like Kafka, avoid ids that start with '-'.
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class KafkaNotReady(RuntimeError):
    """The broker did not answer in time or exited; the message carries its log tail."""


class KafkaNode:
    """One KRaft Kafka node whose config, storage and logs live under data_dir."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        libs_dir: Path,
        host: str = "127.0.0.1",
        heap: tuple[str, ...] = DEFAULT_HEAP,
        *,
        extra_properties: Mapping[str, object] | None = None,
        scram_users: Mapping[str, str] | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        """`extra_properties` go into server.properties (`server_properties`' extra); `scram_users`
        (name -> password) get SCRAM-SHA-512 credentials when the storage is first formatted;
        `client_options` (aiokafka keyword arguments) are how the readiness check connects."""
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.libs_dir = Path(libs_dir).resolve()
        self.host = host
        self.heap = heap
        self.extra_properties = dict(extra_properties or {})
        self.scram_users = dict(scram_users or {})
        self.client_options = dict(client_options or {})
        self.java = java_executable()
        self.log_dirs = self.data_dir / "kraft-logs"
        self.logs = self.data_dir / "logs"
        self.config_path = self.data_dir / "server.properties"
        self.cluster_id_path = self.data_dir / "cluster.id"
        self.cds_archive = archive_path(self.libs_dir, self.java)
        self._cds_dump = self.data_dir / "kafka.jsa.dump"
        self._prepared = False
        self._process: ChildProcess | None = None
        self._log_start = 0  # where this run's lines begin in server.log

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def stdout_log(self) -> Path:
        """JVM output (crashes, bad flags) for nodes started with start()."""
        return self.logs / "kafka.out"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    # --- preparation ---

    def _classpath(self) -> str:
        return f"{self.libs_dir}/*"

    def _jvm_flags(self) -> list[str]:
        return [
            *self.heap,
            *SMALL_MACHINE_FLAGS,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.logs}",
        ]

    def cluster_id(self) -> str:
        """The cluster id kept in data_dir, made on first use.

        Formatted storage is the authority (meta.properties), so a lost
        cluster.id file cannot make us expect the wrong cluster.
        """
        meta = self.log_dirs / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.partition("=")[2].strip()
        if self.cluster_id_path.exists():
            return self.cluster_id_path.read_text().strip()
        cluster_id = new_cluster_id()
        _write_atomically(self.cluster_id_path, cluster_id + "\n")
        return cluster_id

    def is_formatted(self) -> bool:
        return (self.log_dirs / "meta.properties").exists()

    def _format_storage(self) -> None:
        command = [
            self.java,
            *self._jvm_flags(),
            *self._cds_read_only(),
            "-cp",
            self._classpath(),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            self.cluster_id(),
            "--config",
            str(self.config_path),
            "--ignore-formatted",
        ]
        for name, password in self.scram_users.items():
            command += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage in {self.log_dirs} failed:\n{result.stdout}{result.stderr}")

    def _cds_read_only(self) -> list[str]:
        # The formatter may use the archive but must not write one: it loads
        # only a slice of the broker's classes.
        return [f"-XX:SharedArchiveFile={self.cds_archive}"] if self.cds_archive.exists() else []

    def _publish_cds_archive(self) -> None:
        publish_archive(self._cds_dump, self.cds_archive, self.java, self._jvm_flags(), self._classpath())

    def prepare(self) -> None:
        """Write server.properties and format the storage if it never was (idempotent)."""
        if self._prepared:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self._log_start = self.server_log.stat().st_size if self.server_log.exists() else 0
        self._publish_cds_archive()  # left by a previous run under supervisord
        config = server_properties(
            self.host, self.port, self.controller_port, self.log_dirs, extra=self.extra_properties
        )
        _write_atomically(self.config_path, config)
        if not self.is_formatted():
            self._format_storage()
        self._prepared = True

    def command(self) -> list[str]:
        """The java command line that runs the broker in the foreground.

        Prepares the node first (config written, storage formatted once), so
        the line can be handed straight to a supervisor.
        """
        self.prepare()
        return self.broker_command()

    def broker_command(self) -> list[str]:
        """command() without preparing the node first."""
        return [
            self.java,
            *self._jvm_flags(),
            *cds_flags(self.cds_archive, self._cds_dump),
            "-cp",
            self._classpath(),
            "kafka.Kafka",
            str(self.config_path),
        ]

    # --- running it as a child process (tests, LocalInfra) ---

    def start(self) -> None:
        """Start the broker as a child process (does not wait for it).

        Also after stop()/kill(): the same port, data dir and cluster id, so
        clients reconnect to the broker they knew (fault tests restart it).
        """
        if self._process is not None:
            raise RuntimeError(f"Kafka node in {self.data_dir} already started")
        command = self.command()
        self._log_start = self.server_log.stat().st_size if self.server_log.exists() else 0
        self._process = ChildProcess("kafka", command, self.stdout_log, cwd=self.data_dir)

    async def stop_async(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (controlled shutdown) and wait without blocking the event loop; SIGKILL after timeout."""
        if self._process is None:
            return None
        self._process.send_stop()
        code = await self._process.wait_exit_async(timeout)
        if code is None:
            self._process.kill()
        code = self._process.poll()
        self._process = None
        self._publish_cds_archive()
        return code

    async def restart_async(self, pause_seconds: float = 5.0, timeout: float = 120.0) -> dict[str, float]:
        """Stop, stay down `pause_seconds`, start again and wait until it answers; seconds per step."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.stop_async()
        stopped = loop.time()
        await asyncio.sleep(pause_seconds)
        self.start()  # from the event loop's (main) thread: see proc._die_with_parent
        await self.wait_ready_async(timeout)
        return {"stop_seconds": stopped - started, "down_seconds": loop.time() - stopped}

    def send_stop(self) -> None:
        if self._process is not None:
            self._process.send_stop()

    def wait_stopped(self, timeout: float = 60.0) -> None:
        """Wait for the broker to exit after send_stop (SIGKILL after timeout)."""
        if self._process is None:
            return
        self._process.wait_stopped(timeout)
        self._process = None
        self._publish_cds_archive()

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (a controlled shutdown), then SIGKILL after timeout."""
        self.send_stop()
        self.wait_stopped(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    # --- readiness ---

    def _check_alive(self) -> None:
        if self._process is not None:
            self._process.check_alive()

    async def wait_ready_async(self, timeout: float = 60.0) -> None:
        """Return once the broker answers a metadata request; KafkaNotReady otherwise."""
        try:
            await wait_kafka(
                self.bootstrap,
                timeout,
                check=self._check_alive,
                cluster_id=self.cluster_id(),
                options=self.client_options,
            )
        except (TimeoutError, ProcessExited, WrongCluster) as exc:
            raise KafkaNotReady(self._failure_report(str(exc))) from exc

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Blocking wait_ready_async (not callable from inside a running event loop)."""
        asyncio.run(self.wait_ready_async(timeout))

    def _failure_report(self, reason: str) -> str:
        parts = [f"Kafka at {self.bootstrap} not ready: {reason}"]
        errors = error_lines(self.server_log, since=self._log_start)
        if errors:
            parts += [f"--- first errors in {self.server_log} ---", errors]
        parts += [f"--- tail of {self.server_log} ---", tail(self.server_log, 25)]
        if self.stdout_log.exists():
            parts += [f"--- tail of {self.stdout_log} ---", tail(self.stdout_log, 20)]
        return "\n".join(parts)
