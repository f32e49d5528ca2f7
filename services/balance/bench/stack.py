"""What both balance benchmarks share: tokens, the balance processes, seeding through Kafka, CPU use.

Not a test and not part of the service: run read_bench.py or ingest_bench.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import jwt
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from jmo_balance.bootstrap import CONSUMED_TOPICS
from jmo_local.ports import free_ports
from jmo_shared import httpclient
from jmo_shared.events.upstream import ContributionPosted, MemberRegistered
from jmo_shared.testing import start_groups_at_end

KID = "balance-bench"
DEFAULT_MONGO = "mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true"
CONTRIBUTION_IDR = 285_000


# --- tokens -------------------------------------------------------------------


def load_or_make_key(path: str | None) -> ec.EllipticCurvePrivateKey:
    if path and Path(path).exists():
        return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)  # type: ignore[return-value]
    key = ec.generate_private_key(ec.SECP256R1())
    if path:
        Path(path).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return key


def jwks_of(key: ec.EllipticCurvePrivateKey) -> str:
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES256"}]})


def token(key: ec.EllipticCurvePrivateKey, nik: str, hours: int = 2) -> str:
    """An access token like identity's (issuer, audience, typ), signed with the bench's key."""
    now = datetime.now(UTC)
    claims = {
        "iss": "jmo-identity",
        "aud": "jmo-mobile",
        "sub": f"bench-{nik}",
        "nik": nik,
        "iat": now,
        "exp": now + timedelta(hours=hours),
        "typ": "access",
        "roles": ["member"],
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID})


# --- the balance processes ----------------------------------------------------


async def skip_history(bootstrap: str, group_prefix: str) -> None:
    """Start a fresh worker's groups at the end of their topics: measure the bench's events, not a replay."""
    await start_groups_at_end(
        bootstrap, {f"{group_prefix}.balance.{name}": topics for name, topics in CONSUMED_TOPICS.items()}
    )


@dataclass
class Stack:
    """A balance API and worker started by the bench, on a database of their own."""

    api_url: str
    worker_url: str
    db_name: str
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def pids(self) -> dict[str, int]:
        return {"api": self.procs[0].pid, "worker": self.procs[1].pid}

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


async def spawn(
    kafka: str,
    mongo: str,
    key: ec.EllipticCurvePrivateKey,
    extra_env: dict[str, str] | None = None,
    log_level: str = "WARNING",
    db: str | None = None,
) -> Stack:
    """Start an API and a worker on a fresh database (or on `db`, seeded by an earlier run)."""
    if db is None:
        db = f"bench_{uuid.uuid4().hex[:8]}"
        await skip_history(kafka, db)
    api_port, worker_port = free_ports(2)
    env = {
        **os.environ,
        "MONGODB_URI": mongo,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "JWKS_JSON": jwks_of(key),
        "BALANCE_DB_NAME": db,
        "BALANCE_PORT": str(api_port),
        "BALANCE_WORKER_PORT": str(worker_port),
        "CONSUMER_GROUP_PREFIX": db,
        "LOG_LEVEL": log_level,
        **(extra_env or {}),
    }
    logs = Path(tempfile.gettempdir()) / db
    logs.mkdir(exist_ok=True)
    procs = []
    for m in ("api", "worker"):
        with open(logs / f"{m}.log", "ab") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", f"jmo_balance.entrypoints.{m}"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    print(f"balance API and worker on database {db}; their logs in {logs}")
    stack = Stack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{worker_port}", db, procs)
    deadline = time.monotonic() + 90
    async with httpclient.async_client(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if all([(await http.get(f"{u}/readyz")).status_code == 200 for u in (stack.api_url, stack.worker_url)]):
                    return stack
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    stack.stop()
    raise SystemExit("the balance API and worker did not become ready")


# --- seeding through Kafka, as the core system publishes --------------------


def random_nik() -> str:
    return (
        f"317401{random.randint(1, 28):02d}{random.randint(1, 12):02d}{random.randint(60, 99):02d}"
        f"{random.randint(1, 9999):04d}"
    )


def member_events(
    members: int, months: int, cards_per_member: int = 1
) -> tuple[list[MemberRegistered | ContributionPosted], list[str]]:
    """Each member: `cards_per_member` KPJ cards with `months` monthly contributions each, from 2024-01."""
    events: list[MemberRegistered | ContributionPosted] = []
    niks: list[str] = []
    for i in range(members):
        nik = random_nik()
        niks.append(nik)
        for _ in range(cards_per_member):
            kpj = f"{random.randint(10**10, 10**11 - 1)}"
            events.append(
                MemberRegistered(
                    nik=nik,
                    kpj=kpj,
                    full_name=f"Bench {i}",
                    birth_date=date(1990, 1, 1),
                    employer_id="E-1",
                    employer_name="PT Bench",
                    registered_on=date(2015, 1, 1),
                )
            )
            for m in range(months):
                period = f"{2024 + m // 12}-{m % 12 + 1:02d}"
                events.append(
                    ContributionPosted(
                        kpj=kpj,
                        period=period,
                        wage_idr=5_000_000,
                        employer_idr=185_000,
                        worker_idr=CONTRIBUTION_IDR - 185_000,
                        posted_at=datetime.now(UTC),
                        nik=nik,
                    )
                )
    return events, niks


async def publish(kafka: str, events: list) -> float:
    """Publish as fast as the producer goes (acks=all); returns the seconds it took."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5, enable_idempotence=True)
    await producer.start()
    started = time.monotonic()
    try:
        for data in events:
            await producer.send(data.topic, value=data.to_event("/bench").to_bytes(), key=data.key().encode())
        await producer.flush()
    finally:
        await producer.stop()
    return time.monotonic() - started


# --- what the worker and the processes report ---------------------------------


def metric_sums(text: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


async def scrape(url: str) -> str:
    async with httpclient.async_client(timeout=5) as http:
        return (await http.get(f"{url}/metrics")).text


def listening_pid(port: int) -> int | None:
    """The process listening on a local port (the database server), for its CPU use."""
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"pid=(\d+)", out)
    return int(match.group(1)) if match else None


def port_of(uri: str) -> int:
    match = re.search(r"://[^/]*:(\d+)", uri)
    return int(match.group(1)) if match else 27017


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each named process used between start() and stop() (Linux /proc)."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self._start: dict[str, float | None] = {}
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._start = {n: cpu_seconds(p) for n, p in self.pids.items()}

    def stop(self) -> str:
        wall = time.monotonic() - self._t0
        parts = []
        for name, pid in self.pids.items():
            now, then = cpu_seconds(pid), self._start.get(name)
            if now is not None and then is not None:
                parts.append(f"{name} {now - then:.1f} s ({(now - then) / wall:.0%} of a core)")
        load = os.getloadavg()[0]
        return f"CPU over {wall:.1f} s: " + ", ".join(parts) + f"; load average {load:.1f} on {os.cpu_count()} cores"
