"""`make run`: the whole system on this machine.

Starts a single-node KRaft Apache Kafka and SecantusDB with their data under
DATA_DIR, creates the topics, starts every service (API + worker) and the
partner-bank simulator under supervisord, waits for each to be ready, loads
the demo data once, prints where everything is, and on Ctrl-C stops every
process it started. Run again, it resumes on the same data.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jmo_shared import httpclient

from .kafka import KafkaNode, ensure_kafka_jars
from .mongo import SecantusNode
from .services import (
    DEMO_STAMP,
    ROOT,
    ProcessSpec,
    backoffice_spec,
    local_process_env,
    local_processes,
    process_specs,
    together_layout,
)
from .supervisor import Program, Supervisor
from .topics import create_topics

KAFKA_PORT = int(os.environ.get("KAFKA_PORT", "9092"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("KAFKA_CONTROLLER_PORT", "9093"))
MONGO_PORT = int(os.environ.get("MONGO_PORT", "27017"))
# WiredTiger's cache in SecantusDB (the largest part of the stack's memory once it has data).
MONGO_CACHE_SIZE = os.environ.get("MONGO_CACHE_SIZE", "256M")
# The local SMTP server (jmo_local.smtp): notify's e-mails end up as .eml files in DATA_DIR/mail.
SMTP_PORT = int(os.environ.get("SMTP_PORT", "1025"))
DEMO_MEMBERS = int(os.environ.get("DEMO_MEMBERS", "240"))


def say(message: str) -> None:
    print(f"\033[1m==>\033[0m {message}", flush=True)


def _port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_ready(specs: list[ProcessSpec], logs: dict[str, Path], timeout: float = 240) -> None:
    """Poll each endpoint's /readyz until every one answers 200 (`logs`: endpoint -> its process's log)."""
    pending = {s.name: s for s in specs}
    started = time.monotonic()
    last_report = 0.0
    with httpclient.client(timeout=2) as client:
        while pending:
            for name, spec in list(pending.items()):
                try:
                    if client.get(f"{spec.url}/readyz").status_code == 200:
                        del pending[name]
                        say(f"{name} ready on {spec.url} ({time.monotonic() - started:.1f}s)")
                except httpx.HTTPError:
                    pass
            elapsed = time.monotonic() - started
            if pending and elapsed > timeout:
                for name in pending:
                    print(f"--- {name} log tail ---\n{_tail(logs[name])}", file=sys.stderr)
                raise SystemExit(f"not ready after {timeout:.0f}s: {', '.join(pending)} (logs in {logs[name].parent})")
            if pending and elapsed - last_report > 15:
                last_report = elapsed
                say(f"waiting for {', '.join(sorted(pending))} ...")
            time.sleep(0.3)


def main() -> None:
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / ".data")).resolve()
    cache_dir = Path(os.environ.get("CACHE_DIR", ROOT / ".cache")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    specs = process_specs()
    together = together_layout()
    # The officers' web application (no worker, no Kafka); seeds officer-1 and ops-1 once.
    specs.append(backoffice_spec(specs, data_dir, together=together))
    processes = local_processes(specs, together)
    busy = [p for p in (KAFKA_PORT, MONGO_PORT, SMTP_PORT, *(s.port for s in specs)) if _port_busy(p)]
    if busy:
        raise SystemExit(f"ports already in use: {busy}. Is another `make run` still running?")

    say(f"data directory {data_dir}")
    libs = ensure_kafka_jars(cache_dir / "kafka")
    kafka = KafkaNode(
        data_dir=data_dir / "kafka", port=KAFKA_PORT, controller_port=KAFKA_CONTROLLER_PORT, libs_dir=libs
    )
    mongo = SecantusNode(data_dir=data_dir / "mongodb", port=MONGO_PORT, cache_size=MONGO_CACHE_SIZE)
    bootstrap, mongo_uri = f"127.0.0.1:{KAFKA_PORT}", mongo.uri()

    supervisor = Supervisor(data_dir, ROOT)
    programs = [
        Program("kafka", kafka.command(), {}, stop_wait_seconds=60, start_seconds=5, priority=10),
        Program("mongodb", mongo.command(), mongo.env(), stop_wait_seconds=30, start_seconds=1, priority=10),
        Program(
            "smtp",
            [sys.executable, "-m", "jmo_local.smtp", "--port", str(SMTP_PORT), "--dir", str(data_dir / "mail")],
            {},
            start_seconds=1,
            priority=20,
        ),
        *(
            Program(
                p.name,
                p.command(),
                local_process_env(p, specs, bootstrap, mongo_uri, data_dir, {"NOTIFY_SMTP_PORT": str(SMTP_PORT)}),
            )
            for p in processes
        ),
    ]
    supervisor.write_config(programs)
    supervisor.start_daemon()

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        say("stopping every process (Ctrl-C again is not needed) ...")
        supervisor.shutdown()
        say("stopped")
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        say("starting Kafka (KRaft), SecantusDB and the local SMTP server")
        supervisor.start("kafka", "mongodb", "smtp")
        mongo.wait_ready(timeout=60)
        kafka.wait_ready(timeout=120)
        asyncio.run(create_topics(bootstrap))
        say("topics created")
        say(f"starting services ({'API and worker of a service in one process' if together else 'one process each'})")
        supervisor.start(*(p.name for p in processes))
        wait_ready(specs, {s.name: supervisor.log_path(p.name) for p in processes for s in p.specs})
        stamp = data_dir / DEMO_STAMP
        if stamp.exists():
            say(f"demo data already loaded ({json.loads(stamp.read_text())['members']} members)")
        else:
            # In a process of its own: what loading takes (photos, event models) is not kept here.
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "jmo_local.demo_loader",
                    f"--bootstrap={bootstrap}",
                    f"--members={DEMO_MEMBERS}",
                    f"--cache-dir={cache_dir}",
                    f"--data-dir={data_dir}",
                ],
                check=True,
            )
        print_summary(specs, bootstrap, mongo_uri, data_dir, supervisor)
        while True:
            time.sleep(3600)
    except BaseException:
        if not stopping:
            stop()
        raise


def print_summary(specs: list[ProcessSpec], bootstrap: str, mongo_uri: str, data_dir: Path, sup: Supervisor) -> None:
    lines = ["", "The system is up:", f"  Kafka            {bootstrap}", f"  MongoDB          {mongo_uri}"]
    for spec in specs:
        docs = "  (OpenAPI: /docs)" if spec.name.endswith("-api") else ""
        lines.append(f"  {spec.name:<17}{spec.url}{docs}")
    demo = data_dir / "demo-members.json"
    lines += [
        f"  e-mail (SMTP)    127.0.0.1:{SMTP_PORT}, every message kept in {data_dir / 'mail'}",
        f"  logs             {sup.logs}",
        f"  demo members     {demo}",
        f"  staff sign-in    {data_dir / 'staff' / 'passwords.json'} (officer-1, ops-1 at the backoffice)",
        "",
        "Walk through a claim: see README.md, 'Demo: one JHT claim'. Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
