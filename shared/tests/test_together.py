"""A service's API and worker in one process (jmo_shared.together): both serve, both stop, neither alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jmo_shared import together
from jmo_shared.settings import ServiceSettings

APP = Path(__file__).with_name("together_app.py")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, int, int, Path]:
    api, worker = _free_port(), _free_port()
    marks, log = tmp_path / "marks.txt", tmp_path / "out.log"
    environ = {
        **os.environ,
        "TOGETHERTEST_PORT": str(api),
        "TOGETHERTEST_WORKER_PORT": str(worker),
        "TOGETHERTEST_MARKS_FILE": str(marks),
        "TOGETHERTEST_SHUTDOWN_GRACE_SECONDS": "5",
        **env,
    }
    with log.open("a") as out:
        proc = subprocess.Popen([sys.executable, str(APP)], env=environ, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return proc, api, worker, marks


def _ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited {proc.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"port {port} not ready within {timeout}s")


def _marks(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_both_apps_serve_on_their_ports_and_one_signal_stops_both_cleanly(tmp_path: Path, sig: int) -> None:
    proc, api, worker, marks = _start(tmp_path)
    try:
        _ready(api, proc)
        _ready(worker, proc)
        assert sorted(_marks(marks)) == ["api started", "worker started"]
        # Each port is its own app: the OpenAPI titles differ.
        titles = {
            httpx.get(f"http://127.0.0.1:{p}/openapi.json", timeout=2).json()["info"]["title"] for p in (api, worker)
        }
        assert titles == {"together test api", "together test worker"}
        # The loop `serve` would run them on: uvicorn's choice, uvloop (installed with the project).
        loops = {httpx.get(f"http://127.0.0.1:{p}/loop", timeout=2).json()["loop"] for p in (api, worker)}
        assert loops == {"uvloop.Loop"}
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0, (tmp_path / "out.log").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sorted(_marks(marks)) == ["api started", "api stopped", "worker started", "worker stopped"]


def test_a_failed_start_up_of_one_stops_the_other_and_exits_non_zero(tmp_path: Path) -> None:
    proc, api, _, marks = _start(tmp_path, TOGETHERTEST_FAIL_START="worker")
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "out.log").read_text()
    assert code == 3, log[-2000:]
    assert "worker refused" in _marks(marks)
    # The API, if it had started, was stopped with it: nothing keeps serving half a service.
    assert ("api started" in _marks(marks)) == ("api stopped" in _marks(marks))
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{api}/healthz", timeout=1)


def test_each_service_settings_module_names_one_settings_class() -> None:
    import jmo_claims.settings
    import jmo_notify.settings

    assert together.settings_class(jmo_claims.settings).__name__ == "ClaimsSettings"
    assert issubclass(together.settings_class(jmo_notify.settings), ServiceSettings)
    with pytest.raises(SystemExit, match="no API and worker"):
        together.load("nosuchservice")


@pytest.mark.integration
def test_a_real_service_api_and_worker_together_on_the_broker_and_database(
    service_env: dict, unique_db: str, tmp_path: Path
) -> None:
    """`python -m jmo_shared.together helpdesk`, as `make run` starts it: both apps ready, each its own
    routes, the process's metrics on both ports, and one SIGTERM drains both."""
    api, worker = _free_port(), _free_port()
    log = tmp_path / "helpdesk.log"
    env = {
        **os.environ,
        **service_env,
        "HELPDESK_PORT": str(api),
        "HELPDESK_WORKER_PORT": str(worker),
        "HELPDESK_DB_NAME": unique_db,
        "HELPDESK_SHUTDOWN_GRACE_SECONDS": "5",
    }
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jmo_shared.together", "helpdesk"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _ready(api, proc, timeout=90)
        _ready(worker, proc, timeout=90)
        # The member API answers on the API port only; the worker port has the worker's app.
        assert httpx.get(f"http://127.0.0.1:{api}/v1/complaints", timeout=5).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{worker}/v1/complaints", timeout=5).status_code == 404
        for port in (api, worker):
            assert "mongo_commands_total" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert '"api_stopped"' in text and '"worker_stopped"' in text, text[-3000:]
