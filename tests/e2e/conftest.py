"""The whole system for end-to-end tests: every service's API and worker and the
partner-bank simulator as real processes on free ports, on the session's Kafka and SecantusDB."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jmo_local.journey import Urls
from jmo_local.ports import free_port
from jmo_local.services import ROOT, process_env, process_specs


class RunningSystem:
    def __init__(self, specs, processes, log_dir: Path, kafka_bootstrap: str) -> None:
        self.specs = {s.name: s for s in specs}
        self.processes = processes
        self.log_dir = log_dir
        self.kafka_bootstrap = kafka_bootstrap

    def url(self, name: str) -> str:
        return self.specs[name].url

    @property
    def urls(self) -> Urls:
        return Urls(*(self.url(f"{s}-api") for s in ("identity", "profile", "balance", "claims", "payout")),
                    banksim=self.url("banksim"))

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _wait_ready(system: RunningSystem, timeout: float = 240) -> None:
    pending = dict(system.specs)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while pending and time.monotonic() < deadline:
            for name, spec in list(pending.items()):
                proc = system.processes[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{system.log_tail(name)}")
                try:
                    if client.get(f"{spec.url}/readyz").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
    if pending:
        tails = "\n".join(f"--- {n} ---\n{system.log_tail(n)}" for n in pending)
        raise RuntimeError(f"not ready after {timeout}s: {list(pending)}\n{tails}")


@pytest.fixture(scope="session")
def system(infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    data_dir = tmp_path_factory.mktemp("system")
    log_dir = data_dir / "logs"
    log_dir.mkdir()
    ports = {}
    for svc in ("identity", "profile", "balance", "claims", "payout", "helpdesk"):
        ports[svc] = free_port()
        ports[f"{svc}-worker"] = free_port()
    specs = process_specs(ports, banksim_port=free_port())
    # Fresh databases for this run, so nothing of an earlier run is seen.
    suffix = os.urandom(3).hex()
    processes = {}
    for spec in specs:
        svc = spec.env_prefix.rstrip("_").lower()
        extra = {f"{spec.env_prefix}DB_NAME": f"e2e_{svc}_{suffix}", "CONSUMER_GROUP_PREFIX": f"e2e-{suffix}"}
        env = {**os.environ, **process_env(spec, specs, infra.kafka_bootstrap, infra.mongo_uri, data_dir, extra)}
        log = open(log_dir / f"{spec.name}.log", "wb")
        processes[spec.name] = subprocess.Popen(spec.command(), env=env, stdout=log, stderr=subprocess.STDOUT,
                                                cwd=ROOT)
    running = RunningSystem(specs, processes, log_dir, infra.kafka_bootstrap)
    try:
        _wait_ready(running)
        yield running
    finally:
        for proc in processes.values():
            proc.terminate()
        for name, proc in processes.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
