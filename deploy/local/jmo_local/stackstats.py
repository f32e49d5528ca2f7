"""What the whole running stack spent: CPU, database operations, Kafka messages, memory.

Both benchmarks (`bench` for claims, `ingest_bench` for feeds) take a
`snapshot()` before and after their measured phase and `diff()` the two, so
their per-claim and per-event figures are computed the same way:

- CPU: utime + stime of every process of the stack, from /proc/<pid>/stat
  (the services, SecantusDB, the Kafka JVM, supervisord and the launcher);
- database operations: SecantusDB's `serverStatus` opcounters;
- Kafka messages: the sum of the end offsets of every non-internal topic;
- memory: VmRSS of the same processes (at the time of the snapshot);
- the machine: every core's busy and stolen time from /proc/stat, so a figure can say
  whether the stack had the cores to itself (the benchmark's own client, the kernel's
  network work and any other tenant are what the machine spent outside the stack).

It also knows when the stack is quiet (every consumer group at the end of its
partitions, every outbox empty, nothing new written to Kafka), which is how
a benchmark keeps an earlier phase's tail out of its measurement.

Nothing here polls a service's database through its API: a measurement that
added work to what it measures would not tell the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from jmo_shared import httpclient

from .services import (
    ROOT,
    SERVICES,
    TOGETHER_MODULE,
    LocalProcess,
    local_processes,
    process_specs,
    together_layout,
)

DEFAULT_MONGODB_URI = "mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true"
OPCOUNTERS = ("insert", "query", "update", "delete", "getmore", "command")
# Each snapshot's own serverStatus is counted (as a command) before the server reads its
# counters, so the later of two snapshots sees exactly one command of ours (plus our keep-alive
# pings in between, which MongoProbe counts; see Snapshot.own_commands).
OWN_COMMANDS_PER_DIFF = 1
# SecantusDB closes a client connection idle for 300 s (secantus.server DEFAULT_CLIENT_IDLE_TIMEOUT_S);
# a ping well within that keeps the probe's one connection, and its handshake, out of the figures.
KEEPALIVE_SECONDS = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- /proc parsing (pure)


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    ppid: int
    cpu_ticks: int  # utime + stime
    starttime: int  # clock ticks after boot: tells a restarted process from the one it replaced


def parse_proc_stat(text: str) -> ProcStat:
    """One /proc/<pid>/stat line.

    The command name is in parentheses and may itself contain spaces and
    parentheses, so the fields are counted from the last ')'.
    """
    head, _, tail = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    rest = tail.split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return ProcStat(
        pid=int(pid_text),
        comm=comm,
        ppid=int(rest[1]),
        cpu_ticks=int(rest[11]) + int(rest[12]),
        starttime=int(rest[19]),
    )


@dataclass(frozen=True)
class MachineCpu:
    """The machine's CPU time since boot, in clock ticks, summed over its cores (/proc/stat's `cpu` line)."""

    busy: int  # user + nice + system + irq + softirq (guest time is already in user and nice)
    steal: int  # time the hypervisor gave this machine's cores to someone else
    idle: int  # idle + iowait


def parse_machine_cpu(stat_text: str) -> MachineCpu:
    """The aggregate `cpu` line of /proc/stat."""
    for line in stat_text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(v) for v in fields[1:]] + [0] * 8
            user, nice, system, idle, iowait, irq, softirq, steal = ticks[:8]
            return MachineCpu(user + nice + system + irq + softirq, steal, idle + iowait)
    raise ValueError("no aggregate cpu line in /proc/stat")


def read_machine_cpu() -> MachineCpu | None:
    text = _read("/proc/stat")
    return parse_machine_cpu(text) if text else None


def parse_vmrss_kb(status_text: str) -> int:
    """VmRSS from /proc/<pid>/status, in kB (0 for a kernel thread or zombie, which have none)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


_SERVICE_MODULE = re.compile(r"^jmo_(\w+)\.entrypoints\.(api|worker)$")


def classify(argv: list[str]) -> str | None:
    """The stack process an argv belongs to ("claims", "claims-worker", "secantusdb", "kafka", ...), or None.

    A service's API and worker in one process (jmo_shared.together) is the service's name.
    """
    if not argv:
        return None
    exe = os.path.basename(argv[0])
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    if module == TOGETHER_MODULE:
        rest = argv[argv.index("-m") + 2 :]
        return rest[0] if rest else None
    match = _SERVICE_MODULE.match(module)
    if match:
        svc, kind = match.groups()
        return "banksim" if svc == "banksim" else f"{svc}-{kind}"
    if module.startswith("jmo_banksim"):
        return "banksim"
    if module == "supervisor.supervisord" or (exe == "supervisord"):
        return "supervisord"
    if module == "jmo_local.run":
        return "jmo_local.run"
    if any("secantusd" in os.path.basename(a) for a in argv[:3]):
        return "secantusdb"
    if exe.startswith("python") and any("secantus" in a for a in argv[1:]):
        return "secantusdb"
    if exe == "java" and "kafka.Kafka" in argv:
        return "kafka"
    return None


def stack_members(candidates: dict[int, str], parents: dict[int, int], root: int | None) -> dict[int, str]:
    """Of the processes that look like the stack, those of *this* stack.

    With the supervisord of our data directory known (`root`), only it, its
    descendants and its launcher count: an e2e test run on the same machine
    starts look-alike service processes that are not ours. Without it, every
    look-alike counts.
    """
    if root is None or root not in candidates:
        return dict(candidates)

    def under_root(pid: int) -> bool:
        seen = set()
        while pid and pid not in seen:
            if pid == root:
                return True
            seen.add(pid)
            pid = parents.get(pid, 0)
        return False

    launcher = parents.get(root, 0)
    return {
        pid: name
        for pid, name in candidates.items()
        if under_root(pid) or (pid == launcher and name == "jmo_local.run")
    }


# ---------------------------------------------------------------- /proc reading


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _supervisord_pid(data_dir: Path) -> int | None:
    text = _read(str(data_dir / "supervisor" / "supervisord.pid"))
    return int(text.strip()) if text and text.strip().isdigit() else None


NO_STACK = "no running stack found: start it with `make run`"


def find_stack(data_dir: Path | None = None, exclude: Iterable[int] = ()) -> dict[int, str]:
    """pid -> name of every process of the running stack (see `classify` and `stack_members`)."""
    skip = {os.getpid(), *exclude}
    candidates: dict[int, str] = {}
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        stat = _read(f"/proc/{entry}/stat")
        cmdline = _read(f"/proc/{entry}/cmdline")
        if not stat or not cmdline:
            continue
        pid = int(entry)
        parents[pid] = parse_proc_stat(stat).ppid
        name = classify([a for a in cmdline.split("\0") if a])
        if name:
            candidates[pid] = name
    return stack_members(candidates, parents, _supervisord_pid(data_dir or default_data_dir()))


@dataclass(frozen=True)
class ProcSample:
    name: str
    pid: int
    starttime: int
    cpu_ticks: int
    rss_kb: int


def sample_processes(stack: dict[int, str]) -> dict[tuple[int, int], ProcSample]:
    """(pid, starttime) -> CPU and RSS of each process that is still there."""
    out = {}
    for pid, name in stack.items():
        stat, status = _read(f"/proc/{pid}/stat"), _read(f"/proc/{pid}/status")
        if not stat or not status:
            continue
        parsed = parse_proc_stat(stat)
        out[(pid, parsed.starttime)] = ProcSample(name, pid, parsed.starttime, parsed.cpu_ticks, parse_vmrss_kb(status))
    return out


# ---------------------------------------------------------------- Kafka and SecantusDB probes


class KafkaProbe:
    """End offsets of every topic and committed offsets of every consumer group, read from the broker."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin: Any = None
        self._consumer: Any = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self._consumer.start()
        await self.end_offsets()  # the first call fetches metadata (seconds): not inside a measurement

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    async def partitions(self) -> list[Any]:
        from aiokafka import TopicPartition

        names = [t for t in await self._admin.list_topics() if not t.startswith("__")]
        described = await self._admin.describe_topics(names)
        return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        ends = await self._consumer.end_offsets(await self.partitions())
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def group_offsets(self) -> dict[str, dict[tuple[str, int], int]]:
        """group -> (topic, partition) -> committed offset, for every consumer group."""
        out = {}
        for group, _protocol in await self._admin.list_consumer_groups():
            offsets = await self._admin.list_consumer_group_offsets(group)
            out[group] = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        return out


class MongoProbe:
    """SecantusDB's opcounters, through one long-lived connection, counting every command it sends.

    Heartbeats are pushed out to an hour: the monitor's `hello` is a command
    too, and would otherwise add a few of ours to every measurement. The
    connection is kept alive by a ping every KEEPALIVE_SECONDS (the server
    drops idle ones); each ping is counted in `commands`, and so taken out
    of the measured `command` counter by `diff`. A reconnect costs a
    handshake (`hello`), counted as one command too.
    """

    def __init__(self, uri: str) -> None:
        from pymongo import AsyncMongoClient

        self.client = AsyncMongoClient(uri, heartbeatFrequencyMS=3_600_000, serverSelectionTimeoutMS=10_000)
        self.commands = 0
        self.reconnects = 0
        self._keepalive: asyncio.Task | None = None

    async def start(self) -> None:
        await self.opcounters()  # the handshake happens now, not in the first measured snapshot
        self._keepalive = asyncio.create_task(self._keep_alive())

    async def _command(self, name: str) -> dict[str, Any]:
        from pymongo.errors import AutoReconnect

        self.commands += 1
        try:
            return await self.client.admin.command(name)
        except AutoReconnect:
            # The server dropped the connection: once more on a new one, whose handshake is a command too.
            self.reconnects += 1
            self.commands += 2
            return await self.client.admin.command(name)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            try:
                await self._command("ping")
            except Exception:  # noqa: BLE001 - the next snapshot retries, and says so if it cannot
                pass

    async def opcounters(self) -> dict[str, int]:
        status = await self._command("serverStatus")
        return {k: int(status["opcounters"].get(k, 0)) for k in OPCOUNTERS}

    async def close(self) -> None:
        if self._keepalive:
            self._keepalive.cancel()
        await self.client.close()


# ---------------------------------------------------------------- snapshot and diff


@dataclass
class Snapshot:
    monotonic: float
    wall: float
    processes: dict[tuple[int, int], ProcSample]
    opcounters: dict[str, int] | None = None
    end_offsets: dict[tuple[str, int], int] | None = None
    own_commands: int | None = None  # commands the probe had sent, this snapshot's included
    machine: MachineCpu | None = None


async def snapshot(stack: dict[int, str], mongo: MongoProbe | None = None, kafka: KafkaProbe | None = None) -> Snapshot:
    """CPU and RSS of the stack's processes, the DB opcounters and the topics' end offsets, now."""
    # The cheap /proc read first, then one call each to the database and the broker.
    procs, machine = sample_processes(stack), read_machine_cpu()
    ops = await mongo.opcounters() if mongo else None
    ends = await kafka.end_offsets() if kafka else None
    return Snapshot(time.monotonic(), time.time(), procs, ops, ends, mongo.commands if mongo else None, machine)


@dataclass
class StackDiff:
    seconds: float
    cpu_ms_by_process: dict[str, float]
    db_ops: dict[str, int] | None
    kafka_by_topic: dict[str, int] | None
    rss_mb_by_process: dict[str, float]
    appeared: list[str] = field(default_factory=list)  # started during the window (a restart?)
    vanished: list[str] = field(default_factory=list)  # gone before its end (its CPU is lost)
    machine_busy_ms: float | None = None  # every process and the kernel, over all cores
    machine_steal_ms: float | None = None

    @property
    def cpu_ms(self) -> float:
        return sum(self.cpu_ms_by_process.values())

    def machine_cores(self) -> dict[str, float] | None:
        """Cores the machine kept busy over the window: in all, outside the stack, and stolen."""
        if self.machine_busy_ms is None or self.seconds <= 0:
            return None
        per_s = 1 / 1000 / self.seconds
        return {
            "busy": round(self.machine_busy_ms * per_s, 3),
            "outside_stack": round(max(self.machine_busy_ms - self.cpu_ms, 0.0) * per_s, 3),
            "steal": round((self.machine_steal_ms or 0.0) * per_s, 3),
        }

    @property
    def db_ops_total(self) -> int | None:
        return sum(self.db_ops.values()) if self.db_ops is not None else None

    @property
    def kafka_messages(self) -> int | None:
        return sum(self.kafka_by_topic.values()) if self.kafka_by_topic is not None else None

    @property
    def rss_mb(self) -> float:
        return sum(self.rss_mb_by_process.values())

    def to_json(self, units: int, unit: str) -> dict[str, Any]:
        per = 1 / units if units else 0.0
        return {
            "seconds": round(self.seconds, 3),
            "units": units,
            "unit": unit,
            "cpu_ms_total": round(self.cpu_ms, 1),
            "cpu_ms_per_unit": round(self.cpu_ms * per, 3),
            "cpu_ms_per_unit_by_process": {k: round(v * per, 3) for k, v in _desc(self.cpu_ms_by_process)},
            "cpu_cores_busy": round(self.cpu_ms / 1000 / self.seconds, 3) if self.seconds else None,
            "cpu_cores_busy_by_process": {
                k: round(v / 1000 / self.seconds, 3) if self.seconds else None for k, v in _desc(self.cpu_ms_by_process)
            },
            "db_ops_total": self.db_ops_total,
            "db_ops_per_unit": round(self.db_ops_total * per, 3) if self.db_ops is not None else None,
            "db_ops_per_unit_by_counter": {k: round(v * per, 3) for k, v in (self.db_ops or {}).items()},
            "kafka_messages_total": self.kafka_messages,
            "kafka_messages_per_unit": round(self.kafka_messages * per, 3) if self.kafka_by_topic is not None else None,
            "kafka_messages_per_unit_by_topic": {k: round(v * per, 3) for k, v in _desc(self.kafka_by_topic or {})},
            "rss_mb_end": round(self.rss_mb, 1),
            "rss_mb_end_by_process": {k: round(v, 1) for k, v in _desc(self.rss_mb_by_process)},
            "processes_appeared": self.appeared,
            "processes_vanished": self.vanished,
            "machine_cores": self.machine_cores(),
        }


def _desc(values: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))


def top(values: dict[str, float], n: int) -> list[tuple[str, float]]:
    """The `n` largest entries, largest first (ties by name)."""
    return _desc(values)[:n]


def diff(before: Snapshot, after: Snapshot, own_commands: int | None = None) -> StackDiff:
    """What happened between two snapshots.

    A process present in both counts its CPU delta; one that started in
    between (pid and start time unknown before) counts all its CPU; one that
    disappeared is listed, its last interval lost. Our own commands (the later
    snapshot's serverStatus and the probe's pings in between, or `own_commands`
    if given) are taken out of the `command` counter.
    """
    cpu: dict[str, float] = {}
    appeared, vanished = [], []
    for key, end in after.processes.items():
        start = before.processes.get(key)
        ticks = end.cpu_ticks - (start.cpu_ticks if start else 0)
        if start is None:
            appeared.append(f"{end.name}[{end.pid}]")
        cpu[end.name] = cpu.get(end.name, 0.0) + ticks * 1000 / CLK_TCK
    for key, start in before.processes.items():
        if key not in after.processes:
            vanished.append(f"{start.name}[{start.pid}]")
            cpu.setdefault(start.name, 0.0)
    rss: dict[str, float] = {}
    for end in after.processes.values():
        rss[end.name] = rss.get(end.name, 0.0) + end.rss_kb / 1024
    ops = None
    if before.opcounters is not None and after.opcounters is not None:
        ops = {k: after.opcounters[k] - before.opcounters[k] for k in OPCOUNTERS}
        if own_commands is None:
            own_commands = (
                after.own_commands - before.own_commands
                if after.own_commands is not None and before.own_commands is not None
                else OWN_COMMANDS_PER_DIFF
            )
        ops["command"] = max(ops["command"] - own_commands, 0)
    topics = None
    if before.end_offsets is not None and after.end_offsets is not None:
        topics = {}
        for (topic, partition), offset in after.end_offsets.items():
            # A partition unknown before (a topic created meanwhile) started at 0.
            delta = offset - before.end_offsets.get((topic, partition), 0)
            if delta:
                topics[topic] = topics.get(topic, 0) + delta
    busy = steal = None
    if before.machine is not None and after.machine is not None:
        busy = (after.machine.busy - before.machine.busy) * 1000 / CLK_TCK
        steal = (after.machine.steal - before.machine.steal) * 1000 / CLK_TCK
    return StackDiff(after.monotonic - before.monotonic, cpu, ops, topics, rss, appeared, vanished, busy, steal)


@dataclass(frozen=True)
class CpuSample:
    monotonic: float
    machine: MachineCpu
    ticks_by_process: dict[str, int]


class CpuSampler:
    """Samples the machine's and the stack's CPU every `interval` seconds while a phase runs.

    A phase's average hides its burst: claims arrive for a few seconds and then drain. The
    busiest window says whether, at the peak, the machine's cores (or one single-threaded
    process: SecantusDB, a service) were all in use.
    """

    def __init__(self, stack: dict[int, str], interval: float = 1.0) -> None:
        self._stack = stack
        self._interval = interval
        self.samples: list[CpuSample] = []
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        machine = read_machine_cpu()
        if machine is None:
            return
        ticks: dict[str, int] = {}
        for s in sample_processes(self._stack).values():
            ticks[s.name] = ticks.get(s.name, 0) + s.cpu_ticks
        self.samples.append(CpuSample(time.monotonic(), machine, ticks))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sample()


def busiest_window(samples: list[CpuSample], seconds: float = 5.0) -> dict[str, Any] | None:
    """The window of about `seconds` in which the machine was busiest: its cores, the stack's, by process.

    A process that appeared or vanished within the window counts only while both ends saw it.
    """
    best: dict[str, Any] | None = None
    end = 0
    for start, first in enumerate(samples):
        end = max(end, start + 1)
        while end < len(samples) and samples[end].monotonic - first.monotonic < seconds:
            end += 1
        if end >= len(samples):
            break
        last = samples[end]
        span = last.monotonic - first.monotonic
        to_cores = 1 / CLK_TCK / span
        busy = (last.machine.busy - first.machine.busy) * to_cores
        if best is not None and busy <= best["machine_cores_busy"]:
            continue
        by_process = {
            name: round((ticks - first.ticks_by_process[name]) * to_cores, 3)
            for name, ticks in last.ticks_by_process.items()
            if name in first.ticks_by_process
        }
        best = {
            "seconds": round(span, 2),
            "starts_after_s": round(first.monotonic - samples[0].monotonic, 2),
            "machine_cores_busy": round(busy, 3),
            "machine_cores_stolen": round((last.machine.steal - first.machine.steal) * to_cores, 3),
            "stack_cores_busy": round(sum(by_process.values()), 3),
            "cores_busy_by_process": dict(_desc(by_process)),
        }
    return best


@dataclass(frozen=True)
class Idle:
    """What the quiet stack spends per second anyway (relays' polls, change streams, timers)."""

    cpu_ms_per_s: float
    db_ops_per_s: float
    db_ops_per_s_by_counter: dict[str, float]
    cpu_ms_per_s_by_process: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, d: StackDiff) -> Idle:
        seconds = max(d.seconds, 1e-9)
        return cls(
            d.cpu_ms / seconds,
            (d.db_ops_total or 0) / seconds,
            {k: v / seconds for k, v in (d.db_ops or {}).items()},
            {k: v / seconds for k, v in d.cpu_ms_by_process.items()},
        )

    def busiest(self, n: int = 3) -> str:
        """The processes that keep the quiet stack busy, e.g. "secantusdb 0.80, kafka 0.05"."""
        return ", ".join(f"{k} {v / 1000:.2f}" for k, v in top(self.cpu_ms_per_s_by_process, n))

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu_cores_busy": round(self.cpu_ms_per_s / 1000, 3),
            "db_ops_per_s": round(self.db_ops_per_s, 1),
            "db_ops_per_s_by_counter": {k: round(v, 1) for k, v in self.db_ops_per_s_by_counter.items()},
            "cpu_cores_busy_by_process": {k: round(v / 1000, 3) for k, v in _desc(self.cpu_ms_per_s_by_process)},
        }


async def quiet_window(stack: dict[int, str], mongo: MongoProbe, seconds: float = 10.0) -> StackDiff:
    """What the stack spent over `seconds` of doing nothing asked of it (call wait_quiet first)."""
    before = await snapshot(stack, mongo)
    await asyncio.sleep(seconds)
    return diff(before, await snapshot(stack, mongo))


async def measure_idle(stack: dict[int, str], mongo: MongoProbe, seconds: float = 10.0) -> Idle:
    """The background rate, measured on a quiet stack (call wait_quiet first)."""
    return Idle.of(await quiet_window(stack, mongo, seconds))


def report_lines(d: StackDiff, units: int, unit: str, cpu_scale: int = 1, idle: Idle | None = None) -> list[str]:
    """Human-readable figures of a diff: CPU per `cpu_scale` units (e.g. per 1,000 events), the rest per unit.

    With `idle`, also how much of it the quiet stack would have spent anyway
    over the same window: the figures themselves include it (it is what the
    stack really spent), the reader decides whether to take it out.
    """
    if units <= 0:
        return [
            f"no {unit}s: nothing to divide by ({d.cpu_ms:.0f} CPU ms, "
            f"{d.db_ops_total} DB ops, {d.kafka_messages} Kafka messages over {d.seconds:.1f}s)"
        ]
    per, cpu_per = 1 / units, cpu_scale / units
    cpu_label = unit if cpu_scale == 1 else f"{cpu_scale:,} {unit}s"
    cores = d.cpu_ms / 1000 / max(d.seconds, 1e-9)
    lines = [
        f"CPU: {d.cpu_ms * cpu_per:,.1f} ms per {cpu_label} over the whole stack "
        f"({d.cpu_ms / 1000:,.1f} CPU s in {d.seconds:.1f}s = {cores:.2f} cores busy)"
    ]
    machine = d.machine_cores()
    if machine is not None:
        lines.append(
            f"the machine: {machine['busy']:.2f} of {os.cpu_count()} cores busy, {machine['outside_stack']:.2f} of "
            f"them outside the stack (this benchmark, the kernel, anything else running), {machine['steal']:.2f} stolen"
        )
    for name, ms in _desc(d.cpu_ms_by_process):
        share = ms / d.cpu_ms * 100 if d.cpu_ms else 0.0
        # Cores busy per process: a single-threaded (or GIL-bound) process tops out near 1.00.
        lines.append(
            f"    {name:<20} {ms * cpu_per:>10,.1f} ms  {share:5.1f}%  {ms / 1000 / max(d.seconds, 1e-9):.2f} cores"
        )
    if d.db_ops is not None:
        by = ", ".join(f"{k} {v * per:,.2f}" for k, v in d.db_ops.items())
        lines.append(f"database operations: {d.db_ops_total * per:,.2f} per {unit} ({by})")
    if d.kafka_by_topic is not None:
        lines.append(f"Kafka messages: {d.kafka_messages * per:,.3f} per {unit}")
        for topic, n in _desc(d.kafka_by_topic):
            lines.append(f"    {topic:<26} {n * per:>10,.3f}")
    lines.append(
        f"RSS of the stack at the end: {d.rss_mb:,.0f} MB "
        f"({', '.join(f'{k} {v:.0f}' for k, v in top(d.rss_mb_by_process, 5))}, ...)"
    )
    if idle is not None:
        lines.append(
            f"of which idle background (what the quiet stack does in {d.seconds:.1f}s anyway): "
            f"{idle.cpu_ms_per_s * d.seconds * cpu_per:,.1f} CPU ms per {cpu_label}, "
            f"{idle.db_ops_per_s * d.seconds * per:,.2f} DB ops per {unit}"
        )
    if d.appeared or d.vanished:
        lines.append(f"processes that started/stopped during the window: +{d.appeared} -{d.vanished}")
    return lines


# ---------------------------------------------------------------- metrics and quiet


_METRIC_LINE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of a Prometheus text exposition: (name, labels, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _METRIC_LINE.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        try:
            out.append((name, dict(_LABEL.findall(labels or "")), float(value)))
        except ValueError:
            continue
    return out


def running_together(names: Iterable[str]) -> bool | None:
    """Whether the running stack (its process names, `find_stack`) serves a service's API and worker from
    one process; None when it shows neither layout (no stack running)."""
    seen = set(names)
    if seen & set(SERVICES):
        return True
    if any(f"{svc}-api" in seen or f"{svc}-worker" in seen for svc in SERVICES):
        return False
    return None


def _processes() -> list[LocalProcess]:
    # The layout of the stack that runs, whatever this shell's LOCAL_LAYOUT says; LOCAL_LAYOUT without one.
    together = running_together(find_stack().values())
    return local_processes(process_specs(), together_layout() if together is None else together)


def metrics_urls(host: str = "127.0.0.1") -> dict[str, str]:
    """name -> /metrics URL of every service process (APIs, workers, the bank simulator), one per process
    as the running stack lays them out: a process shows the same metrics on each of its ports."""
    return {p.name: p.metrics_url(host) for p in _processes()}


def worker_metrics_urls(host: str = "127.0.0.1") -> dict[str, str]:
    """metrics_urls of the processes that run a service's worker (alone, or together with its API)."""
    return {p.name: p.metrics_url(host) for p in _processes() if any(s.name.endswith("-worker") for s in p.specs)}


async def scrape(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Every process's metrics; a process that does not answer is left out."""

    async def one(name: str, url: str):
        try:
            resp = await client.get(url, timeout=5)
            return name, parse_metrics(resp.text) if resp.status_code == 200 else None
        except httpx.HTTPError:
            return name, None

    results = await asyncio.gather(*(one(n, u) for n, u in urls.items()))
    return {name: samples for name, samples in results if samples is not None}


CommandKey = tuple[str, str, str]  # (process, command, collection)


Metrics = dict[str, list[tuple[str, dict[str, str], float]]]  # process -> its samples


async def service_metrics(urls: dict[str, str] | None = None) -> Metrics:
    """Every service process's metrics, read once (a together process once, not once per port)."""
    async with httpclient.async_client() as client:
        return await scrape(client, urls or metrics_urls())


async def command_counts(urls: dict[str, str] | None = None) -> dict[CommandKey, float]:
    """command_counts_of() the service processes' metrics read now."""
    return command_counts_of(await service_metrics(urls))


def command_counts_of(metrics: Metrics) -> dict[CommandKey, float]:
    """Every service process's `mongo_commands_total`, by (process, command, collection).

    The processes count what they send (jmo_shared.mongo), so this says who asks the database
    for what; SecantusDB's opcounters only say how much in all. Commands answered with an error are
    counted again as ("failed <command>", "<collection> <codeName>"), and transactions run again whole after a
    conflict as ("tx retried", ""): the work a conflict costs is in the commands above.
    """
    counts: dict[CommandKey, float] = {}
    for process, samples in metrics.items():
        for name, labels, value in samples:
            if name == "mongo_commands_total":
                key = (process, labels.get("command", ""), labels.get("collection", ""))
            elif name == "mongo_command_failures_total":
                collection, code = labels.get("collection", ""), labels.get("code", "")
                key = (process, f"failed {labels.get('command', '')}", f"{collection} {code}".strip())
            elif name == "mongo_transaction_retries_total":
                key = (process, "tx retried", "")
            else:
                continue
            counts[key] = counts.get(key, 0.0) + value
    return counts


def command_latency_of(metrics: Metrics) -> dict[str, dict[float, float]]:
    """`mongo_command_seconds` summed over the processes: command -> bucket upper bound -> answers within it."""
    buckets: dict[str, dict[float, float]] = {}
    for samples in metrics.values():
        for name, labels, value in samples:
            if name == "mongo_command_seconds_bucket":
                per = buckets.setdefault(labels.get("command", ""), {})
                le = float(labels.get("le", "inf"))
                per[le] = per.get(le, 0.0) + value
    return buckets


def command_latency(
    before: dict[str, dict[float, float]], after: dict[str, dict[float, float]], top: int = 6
) -> list[dict[str, Any]]:
    """The commands answered most between two command_latency_of(), with the bucket bounds their p50 and p99
    fall within (a figure "at most": the histogram knows no finer)."""
    out = []
    for command, cumulative in after.items():
        grown = {le: n - before.get(command, {}).get(le, 0.0) for le, n in sorted(cumulative.items())}
        total = grown.get(float("inf"), 0.0)
        if total <= 0:
            continue
        out.append(
            {
                "command": command,
                "answers": int(total),
                "p50_s_at_most": _bucket_within(grown, 0.5 * total),
                "p99_s_at_most": _bucket_within(grown, 0.99 * total),
            }
        )
    out.sort(key=lambda row: (-row["answers"], row["command"]))
    return out[:top]


def _bucket_within(cumulative: dict[float, float], count: float) -> float:
    """The least bucket bound (in ascending order of `cumulative`) under which at least `count` answers fell."""
    return next(le for le, n in cumulative.items() if n >= count)


def latency_lines(rows: list[dict[str, Any]]) -> list[str]:
    """command_latency() as report lines."""
    if not rows:
        return []

    def ms(seconds: float) -> str:
        return "over 5 s" if seconds == float("inf") else f"{seconds * 1000:,.1f} ms"

    lines = ["database answers as the services waited for them (send to answer), the most frequent:"]
    for row in rows:
        lines.append(
            f"    {row['command']:<18} {row['answers']:>7,}  p50 at most {ms(row['p50_s_at_most']):>9}, "
            f"p99 at most {ms(row['p99_s_at_most'])}"
        )
    return lines


def command_breakdown(
    before: dict[CommandKey, float], after: dict[CommandKey, float], units: int, top: int | None = 25
) -> list[tuple[CommandKey, float]]:
    """The `top` largest (process, command, collection) counts per unit between two command_counts()
    (all of them when `top` is None)."""
    if units <= 0:
        return []
    grown = {k: v - before.get(k, 0.0) for k, v in after.items()}
    ranked = sorted(((k, n / units) for k, n in grown.items() if n > 0), key=lambda kv: (-kv[1], kv[0]))
    # Conflicts and errors are listed whatever their rank: they say why the commands above are more.
    if top is None:
        return ranked
    return ranked[:top] + [kv for kv in ranked[top:] if _is_failure(kv[0])]


def _is_failure(key: CommandKey) -> bool:
    return key[1] == "tx retried" or key[1].startswith("failed ")


def command_lines(ranked: list[tuple[CommandKey, float]], unit: str) -> list[str]:
    """command_breakdown() as report lines."""
    if not ranked:
        return []
    lines = [f"database commands the services sent, per {unit} (the largest):"]
    for (process, command, collection), n in ranked:
        lines.append(f"    {process:<16} {command:<17} {collection or '-':<26} {n:>7.2f}")
    return lines


def group_lag(ends: dict[tuple[str, int], int], committed: dict[str, dict[tuple[str, int], int]]) -> dict[str, int]:
    """Messages each consumer group is behind, on the partitions it has committed offsets for."""
    return {
        group: sum(max(ends.get(tp, 0) - offset, 0) for tp, offset in offsets.items())
        for group, offsets in committed.items()
    }


# Gauges that read above 0 while a process still has work in hand (outbox_publisher_queued:
# committed rows waiting for the in-process publisher, in versions that have one).
BUSY_GAUGES = ("consumer_lag", "outbox_backlog", "outbox_publisher_queued")


def gauges_busy(metrics: dict[str, list[tuple[str, dict[str, str], float]]]) -> list[str]:
    """Non-zero BUSY_GAUGES, as "process:gauge{...}=value"."""
    busy = []
    for process, samples in metrics.items():
        for name, labels, value in samples:
            if name in BUSY_GAUGES and value > 0:
                where = f"{labels.get('group', '')}/{labels.get('topic', '')}" if labels else ""
                busy.append(f"{process}:{name}{'{' + where + '}' if where else ''}={value:.0f}")
    return busy


async def wait_quiet(
    kafka: KafkaProbe, host: str = "127.0.0.1", timeout: float = 180.0, settle: float = 2.0, say=print
) -> float:
    """Wait until the stack has nothing left to do; returns the seconds waited (timeout: says so, returns).

    Quiet means, for `settle` seconds: no topic's end offset moved, every
    consumer group has committed up to the end of its partitions, and every
    process's consumer_lag and outbox_backlog gauges read 0. The gauges alone
    can be stale (a consumer sets its lag after a batch), hence the broker's
    own offsets; the offsets alone miss an outbox row not yet relayed, hence
    the gauges. Nothing here touches the database.
    """
    started = time.monotonic()
    urls = metrics_urls(host)
    last_ends: dict | None = None
    quiet_since: float | None = None
    async with httpclient.async_client() as client:
        while True:
            now = time.monotonic()
            reason, last_ends = await _busy_reason(kafka, client, urls, last_ends)
            if reason:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            if quiet_since is not None and now - quiet_since >= settle:
                return time.monotonic() - started
            if now - started > timeout:
                say(f"  (not quiet after {timeout:.0f}s: {reason}; going on)")
                return time.monotonic() - started
            await asyncio.sleep(1.0)


async def _busy_reason(
    kafka: KafkaProbe, client: httpx.AsyncClient, urls: dict[str, str], last_ends: dict | None
) -> tuple[str, dict]:
    """Why the stack is not quiet yet ("" if it is) and the end offsets seen.

    The broker is asked first (cheap, exact); the processes' gauges last.
    """
    ends = await kafka.end_offsets()
    if ends != last_ends:
        return "topics still growing", ends
    lag = {g: n for g, n in group_lag(ends, await kafka.group_offsets()).items() if n}
    if lag:
        return f"consumer groups behind: {lag}", ends
    busy = gauges_busy(await scrape(client, urls))
    return (f"gauges: {busy[:4]}" if busy else ""), ends


# ---------------------------------------------------------------- small helpers


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))  # ceil(n * pct / 100), at least 1
    return ordered[int(rank) - 1]


def default_data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR", ROOT / ".data")).resolve()
