"""How the local run lays the endpoints out in processes (jmo_local.services)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jmo_local import stackstats
from jmo_local.services import (
    SERVICES,
    backoffice_spec,
    local_process_env,
    local_processes,
    process_specs,
    together_layout,
)


def test_together_a_service_is_one_process_serving_its_api_and_worker_ports() -> None:
    specs = process_specs()
    processes = {p.name: p for p in local_processes(specs, together=True)}
    assert set(processes) == {*SERVICES, "banksim"}
    claims = processes["claims"]
    assert [s.name for s in claims.specs] == ["claims-api", "claims-worker"]
    assert claims.command() == [sys.executable, "-m", "jmo_shared.together", "claims"]
    assert claims.metrics_url() == "http://127.0.0.1:8104/metrics"
    assert processes["banksim"].command() == [sys.executable, "-m", "jmo_banksim.entrypoints.api"]
    # Every endpoint is served by exactly one process.
    served = [s.name for p in processes.values() for s in p.specs]
    assert sorted(served) == sorted(s.name for s in specs)


def test_apart_every_endpoint_is_a_process_of_its_own() -> None:
    specs = process_specs()
    processes = local_processes(specs, together=False)
    assert [p.name for p in processes] == [s.name for s in specs]
    assert all(p.command() == p.specs[0].command() for p in processes)


def test_the_layout_comes_from_local_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_LAYOUT", raising=False)
    assert together_layout()
    monkeypatch.setenv("LOCAL_LAYOUT", "apart")
    assert not together_layout()
    monkeypatch.setenv("LOCAL_LAYOUT", "sideways")
    with pytest.raises(SystemExit, match="LOCAL_LAYOUT"):
        together_layout()


def test_metrics_are_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Together, both ports of a process show the same registry: reading both would count it twice.
    # With no stack running, LOCAL_LAYOUT says which layout to read (the e2e tests' processes, which run
    # apart, may be running beside this test: they are not looked at here).
    monkeypatch.setattr(stackstats, "find_stack", lambda *a, **k: {})
    monkeypatch.setenv("LOCAL_LAYOUT", "together")
    urls = stackstats.metrics_urls()
    assert urls["payout"] == "http://127.0.0.1:8105/metrics" and "payout-api" not in urls
    workers = stackstats.worker_metrics_urls()
    assert set(workers) == set(SERVICES) and workers["balance"] == "http://127.0.0.1:8103/metrics"
    monkeypatch.setenv("LOCAL_LAYOUT", "apart")
    assert set(stackstats.worker_metrics_urls()) == {f"{svc}-worker" for svc in SERVICES}
    urls = stackstats.metrics_urls("10.0.0.5")
    assert urls["payout-api"] == "http://10.0.0.5:8005/metrics" and urls["payout-worker"].endswith(":8105/metrics")


def test_the_backoffice_sums_payout_metrics_from_each_process_once(tmp_path: Path) -> None:
    specs = process_specs()

    def payout_urls(together: bool) -> list[str]:
        spec = backoffice_spec(specs, tmp_path, together=together)
        return json.loads(spec.env["BACKOFFICE_PAYOUT_METRICS_URLS"])

    assert payout_urls(True) == ["http://127.0.0.1:8105/metrics"]
    assert payout_urls(False) == ["http://127.0.0.1:8105/metrics", "http://127.0.0.1:8005/metrics"]


def test_a_together_process_gets_both_ports_of_its_service(tmp_path: Path) -> None:
    specs = process_specs()
    claims = next(p for p in local_processes(specs, together=True) if p.name == "claims")
    env = local_process_env(claims, specs, "127.0.0.1:9092", "mongodb://127.0.0.1:27017/", tmp_path)
    assert env["CLAIMS_PORT"] == "8004" and env["CLAIMS_WORKER_PORT"] == "8104"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"


def test_the_running_stack_decides_the_layout_over_local_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stackstats.running_together(["kafka", "secantusdb", "claims", "balance"]) is True
    assert stackstats.running_together(["kafka", "claims-api", "claims-worker"]) is False
    assert stackstats.running_together(["kafka", "secantusdb"]) is None
    # A stack started with LOCAL_LAYOUT=apart, measured from a shell without it: its processes say apart.
    monkeypatch.delenv("LOCAL_LAYOUT", raising=False)
    monkeypatch.setattr(stackstats, "find_stack", lambda *a, **k: {101: "payout-api", 102: "payout-worker"})
    urls = stackstats.metrics_urls()
    assert urls["payout-api"].endswith(":8005/metrics") and urls["payout-worker"].endswith(":8105/metrics")
