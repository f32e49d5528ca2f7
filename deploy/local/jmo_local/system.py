"""The whole system as child processes on given infrastructure: for tests that stop,
kill and restart parts of it (the end-to-end, fault and rolling-restart tests).

    system = start_system(kafka_bootstrap, mongo_uri, data_dir)   # waits for every /readyz
    await system.stop("payout-worker", signal.SIGKILL)
    await system.start("payout-worker")                           # waits for its /readyz
    await system.restart("claims-api")                            # SIGTERM, then start
    system.close()

Every process gets fresh database names and consumer groups (a suffix per
system), so several systems can share one broker and database. Logs are
appended to <data_dir>/logs/<name>.log across restarts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from jmo_shared import httpclient

from .journey import Urls
from .ports import free_ports
from .proc import ChildProcess, tail
from .services import ROOT, SERVICES, ProcessSpec, process_env, process_specs
from .smtp import MailServer
from .stack import LocalInfra
from .staff import staff_token

STOP_TIMEOUT = 30.0


@dataclass
class ProcessEvent:
    at: float  # time.monotonic()
    name: str
    what: str  # "started", "stopped SIGTERM", "exited 1 (restarted)", ...


@dataclass
class Managed:
    spec: ProcessSpec
    env: dict[str, str]
    child: ChildProcess | None = None
    # Stopped on purpose: the watchdog leaves it down.
    held_down: bool = False


@dataclass
class RunningSystem:
    processes: dict[str, Managed]
    data_dir: Path
    kafka_bootstrap: str
    mongo_uri: str
    suffix: str
    events: list[ProcessEvent] = field(default_factory=list)

    # --- where things are ---

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def specs(self) -> dict[str, ProcessSpec]:
        return {name: m.spec for name, m in self.processes.items()}

    def url(self, name: str) -> str:
        return self.processes[name].spec.url

    @property
    def urls(self) -> Urls:
        return Urls(
            *(self.url(f"{s}-api") for s in ("identity", "profile", "balance", "claims", "payout")),
            banksim=self.url("banksim"),
            notify=self.url("notify-api"),
        )

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def log_tail(self, name: str, lines: int = 40) -> str:
        return tail(self.log_path(name), lines)

    def staff_headers(self, *roles: str, sub: str = "e2e-staff") -> dict[str, str]:
        """An Authorization header with a staff token (officer/ops) the services accept."""
        return {"Authorization": f"Bearer {staff_token(self.data_dir, roles, sub)}"}

    def pid(self, name: str) -> int | None:
        child = self.processes[name].child
        return child.pid if child and child.poll() is None else None

    # --- starting and stopping ---

    def _note(self, name: str, what: str) -> None:
        self.events.append(ProcessEvent(time.monotonic(), name, what))

    def spawn(self, name: str) -> None:
        """Start a process without waiting for it (call from the main thread: see proc._die_with_parent)."""
        managed = self.processes[name]
        if managed.child is not None and managed.child.poll() is None:
            raise RuntimeError(f"{name} is already running")
        # SIGKILL if the test runner dies: a service still waiting for its database ignores SIGTERM.
        managed.child = ChildProcess(
            name, managed.spec.command(), self.log_path(name), cwd=ROOT, env=managed.env, death_signal=signal.SIGKILL
        )
        managed.held_down = False
        self._note(name, "started")

    async def start(self, name: str, timeout: float = 120.0) -> float:
        """Start a process and wait for its /readyz; returns the seconds it took."""
        started = time.monotonic()
        self.spawn(name)
        await self.wait_ready([name], timeout)
        return time.monotonic() - started

    async def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Signal a process and wait for it to exit (SIGKILL after timeout); it stays down until start()."""
        managed = self.processes[name]
        managed.held_down = True
        child = managed.child
        if child is None or child.poll() is not None:
            return child.poll() if child else None
        child.send_signal(sig)
        code = await child.wait_exit_async(timeout)
        if code is None:
            await self._abort(name, child)
            code = child.poll()
            self._note(
                name,
                f"killed after {timeout:.0f}s (did not stop on {signal.Signals(sig).name}); "
                f"thread dump in {self.log_path(name)}",
            )
        else:
            self._note(name, f"stopped by {signal.Signals(sig).name} (exit {code})")
        return code

    async def restart(self, name: str, sig: int = signal.SIGTERM, pause: float = 0.0) -> float:
        """Stop (with `sig`), stay down `pause` seconds, start and wait ready; returns seconds down."""
        started = time.monotonic()
        await self.stop(name, sig)
        if pause:
            await asyncio.sleep(pause)
        await self.start(name)
        return time.monotonic() - started

    async def supervise(self, interval: float = 1.0) -> None:
        """Restart any process that exits on its own, as supervisord does for `make run`.

        Run as a task during fault tests; every unplanned exit is recorded in `events`.
        """
        while True:
            for name, managed in self.processes.items():
                child = managed.child
                if managed.held_down or child is None:
                    continue
                code = child.poll()
                if code is not None:
                    self._note(name, f"exited on its own with {code}; restarted")
                    self.spawn(name)
            await asyncio.sleep(interval)

    def unplanned_exits(self) -> list[ProcessEvent]:
        return [e for e in self.events if "on its own" in e.what]

    async def wait_ready(self, names: Iterable[str] | None = None, timeout: float = 240.0) -> None:
        pending = {n: self.processes[n].spec for n in (names or self.processes)}
        deadline = time.monotonic() + timeout
        async with httpclient.async_client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for name, spec in list(pending.items()):
                    child = self.processes[name].child
                    if child is None or child.poll() is not None:
                        code = child.poll() if child else None
                        raise RuntimeError(f"{name} exited with {code}:\n{self.log_tail(name)}")
                    try:
                        if (await client.get(f"{spec.url}/readyz")).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if pending:
                    await asyncio.sleep(0.2)
        if pending:
            tails = "\n".join(f"--- {n} ---\n{self.log_tail(n)}" for n in pending)
            raise RuntimeError(f"not ready after {timeout:.0f}s: {list(pending)}\n{tails}")

    @staticmethod
    async def _abort(name: str, child: ChildProcess) -> None:
        # SIGABRT first: with PYTHONFAULTHANDLER set, Python writes every thread's stack to the
        # log on its way out, so a process that hangs on shutdown says where.
        child.send_signal(signal.SIGABRT)
        if await child.wait_exit_async(3) is None:
            child.kill()

    def close(self, timeout: float = STOP_TIMEOUT) -> list[str]:
        """SIGTERM every process and wait; one still running after `timeout` is aborted (SIGABRT,
        stack dump in its log) and killed. Returns the names of those that hung."""
        for managed in self.processes.values():
            managed.held_down = True
        running = {n: m.child for n, m in self.processes.items() if m.child is not None and m.child.poll() is None}
        for child in running.values():
            child.send_stop()

        async def wait_all() -> list[str]:
            exits = await asyncio.gather(*(c.wait_exit_async(timeout) for c in running.values()))
            hung = [n for n, code in zip(running, exits) if code is None]
            await asyncio.gather(*(self._abort(n, running[n]) for n in hung))
            return hung

        hung = asyncio.run(wait_all())
        for name in hung:
            self._note(name, f"did not stop within {timeout:.0f}s of SIGTERM; aborted, stack in {self.log_path(name)}")
            print(
                f"[system] {name} did not stop within {timeout:.0f}s of SIGTERM: a shutdown hang; its threads' "
                f"stacks are at the end of {self.log_path(name)}",
                file=sys.stderr,
                flush=True,
            )
        return hung


def start_system(
    kafka_bootstrap: str,
    mongo_uri: str,
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 180.0,
) -> RunningSystem:
    """Every service's API and worker plus the bank simulator, on free ports, ready when this returns."""
    data_dir = Path(data_dir).resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    # All picked in one call, so no two processes of this stack are handed the same port.
    picked = iter(free_ports(2 * len(SERVICES) + 1))
    ports: dict[str, int] = {}
    for svc in SERVICES:
        ports[svc] = next(picked)
        ports[f"{svc}-worker"] = next(picked)
    specs = process_specs(ports, banksim_port=next(picked))
    suffix = os.urandom(3).hex()
    payout_api = next(s for s in specs if s.name == "payout-api")
    processes: dict[str, Managed] = {}
    for spec in specs:
        svc = spec.env_prefix.rstrip("_").lower()
        extra = {
            f"{spec.env_prefix}DB_NAME": f"e2e_{svc}_{suffix}",
            "CONSUMER_GROUP_PREFIX": f"e2e-{suffix}",
            # The simulator has its own group setting; on a shared broker it must be ours alone,
            # and it must leave other systems' transfers to their own simulators.
            "BANKSIM_CONSUMER_GROUP": f"e2e-{suffix}.banksim",
            "BANKSIM_SERVE_NOTIFY_URL_PREFIX": payout_api.url,
            # A process aborted because it hung writes its threads' stacks to its log.
            "PYTHONFAULTHANDLER": "1",
            **(extra_env or {}),
        }
        env = {**os.environ, **process_env(spec, specs, kafka_bootstrap, mongo_uri, data_dir, extra)}
        processes[spec.name] = Managed(spec, env)
    system = RunningSystem(processes, data_dir, kafka_bootstrap, mongo_uri, suffix)
    for name in processes:
        system.spawn(name)
    try:
        asyncio.run(system.wait_ready(timeout=ready_timeout))
    except BaseException:
        system.close()
        raise
    return system


@contextmanager
def own_stack(base: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[LocalInfra, RunningSystem]]:
    """A Kafka + SecantusDB of its own under `base` and the whole system on them, with an SMTP server
    for notify's e-mails (`<system data dir>/mail/*.eml`); all stopped on exit."""
    infra = LocalInfra(base / "infra")
    # notify's e-mails: a local SMTP server keeping each as an .eml file in <system data dir>/mail.
    mail = MailServer(base / "system" / "mail", free_ports(1)[0])
    try:
        endpoints = infra.start()
        mail.start()
        env = {"NOTIFY_SMTP_HOST": mail.host, "NOTIFY_SMTP_PORT": str(mail.port), **(extra_env or {})}
        system = start_system(endpoints.kafka_bootstrap, endpoints.mongo_uri, base / "system", extra_env=env)
        try:
            yield infra, system
        finally:
            system.close()
    finally:
        mail.stop()
        infra.stop()
