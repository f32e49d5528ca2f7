"""The processes of the system, as the local run and the end-to-end tests start them.

One list of endpoints (`process_specs`), so `make run`, the e2e tests and the
benchmark start exactly the same apps on the same ports. Every endpoint is a
uvicorn app serving /healthz and /readyz. How they are laid out in processes
(`local_processes`): the e2e tests run each endpoint in a process of its own, as
the cluster runs each in a Deployment of its own (`apart`); `make run` runs a
service's API and worker in one process (`together`, jmo_shared.together), which
saves about 80 MB and the idle timers of a process per service. LOCAL_LAYOUT=apart
makes `make run` start them apart too.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jmo_shared.topics import PARTNER_BANKS

from .staff import staff_jwks

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ProcessSpec:
    name: str  # e.g. "claims-api"
    module: str  # python -m <module>
    port: int
    env_prefix: str  # settings prefix of the service, e.g. CLAIMS_
    port_setting: str = "PORT"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module]


# LOCAL_LAYOUT: `together` (the default) or `apart`; see the module's docstring.
LAYOUT_ENV = "LOCAL_LAYOUT"
TOGETHER_MODULE = "jmo_shared.together"

SERVICES = ("identity", "profile", "balance", "claims", "payout", "helpdesk", "notify", "risk")
API_PORTS = {
    "identity": 8001,
    "profile": 8002,
    "balance": 8003,
    "claims": 8004,
    "payout": 8005,
    "helpdesk": 8006,
    "notify": 8007,
    "risk": 8008,
}
BANKSIM_PORT = 8099


def dev_bank_secrets() -> str:
    return json.dumps({code: f"dev-secret-{code}" for code in PARTNER_BANKS})


def process_specs(ports: dict[str, int] | None = None, banksim_port: int = BANKSIM_PORT) -> list[ProcessSpec]:
    """API and worker of every service plus the partner-bank simulator.

    `ports` overrides the API ports (tests use free ports); a worker listens on
    its API port + 100 by default, or the next free-port offset given.
    """
    api = dict(API_PORTS, **(ports or {}))
    specs: list[ProcessSpec] = []
    for svc in SERVICES:
        prefix = f"{svc.upper()}_"
        specs.append(ProcessSpec(f"{svc}-api", f"jmo_{svc}.entrypoints.api", api[svc], prefix))
        worker_port = api.get(f"{svc}-worker", api[svc] + 100)
        specs.append(ProcessSpec(f"{svc}-worker", f"jmo_{svc}.entrypoints.worker", worker_port, prefix, "WORKER_PORT"))
    specs.append(ProcessSpec("banksim", "jmo_banksim.entrypoints.api", banksim_port, "BANKSIM_"))
    return specs


@dataclass(frozen=True)
class LocalProcess:
    """One OS process of the local run: one endpoint, or a service's API and worker together."""

    name: str  # "claims" (together), "claims-api", "banksim", ...
    specs: tuple[ProcessSpec, ...]

    def command(self) -> list[str]:
        if len(self.specs) == 1:
            return self.specs[0].command()
        return [sys.executable, "-m", TOGETHER_MODULE, self.name]

    def metrics_url(self, host: str = "127.0.0.1") -> str:
        """Where this process's metrics are read: one endpoint, as every endpoint of it shows them all."""
        return f"http://{host}:{self.specs[-1].port}/metrics"


def together_layout() -> bool:
    """Whether the local run puts each service's API and worker in one process (LOCAL_LAYOUT)."""
    layout = os.environ.get(LAYOUT_ENV, "together").strip().lower()
    if layout not in ("together", "apart"):
        raise SystemExit(f"{LAYOUT_ENV} must be `together` or `apart`, not {layout!r}")
    return layout == "together"


def local_processes(specs: list[ProcessSpec], together: bool) -> list[LocalProcess]:
    """The processes that serve `specs`: with `together`, a service's API and worker share one."""
    groups: dict[str, list[ProcessSpec]] = {}
    for spec in specs:
        service, _, kind = spec.name.rpartition("-")
        key = service if together and service in SERVICES and kind in ("api", "worker") else spec.name
        groups.setdefault(key, []).append(spec)
    return [LocalProcess(name, tuple(group)) for name, group in groups.items()]


def process_env(
    spec: ProcessSpec, specs: list[ProcessSpec], kafka: str, mongo_uri: str, data_dir: Path, extra: dict | None = None
) -> dict[str, str]:
    """The environment of one process: connections, its port, and where its peers are."""
    by_name = {s.name: s for s in specs}
    traces = Path(data_dir) / "traces"
    traces.mkdir(parents=True, exist_ok=True)
    env = {
        # Payout accepts the public dev bank secrets below only in a local environment.
        "ENVIRONMENT": "local",
        "MONGODB_URI": mongo_uri,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "JWKS_URL": f"{by_name['identity-api'].url}/.well-known/jwks.json",
        # Members' tokens come from identity (JWKS_URL); officers' and ops' tokens are signed
        # with the local stack's staff key (jmo_local.staff), the staff issuer's only key here.
        "STAFF_JWKS_JSON": staff_jwks(Path(data_dir)),
        # Spans of every process land here as files (read by the shared tracing setup).
        "TRACE_FILE_DIR": str(traces),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
        # Each process gets one inference/BLAS thread: 2 cores are shared by ~12 processes.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "IDENTITY_FACE_CACHE_DIR": str(ROOT / ".cache" / "face-models"),
        # Every local client is 127.0.0.1, and the demo, the benchmarks and the e2e journeys ask to register
        # until the registry feeds have reached identity: each early ask is a refused registration, which
        # identity otherwise limits (10 per address, 5 per NIK an hour).
        "IDENTITY_CLIENT_REGISTRATION_MAX_REFUSALS": "1000000",
        "IDENTITY_REGISTRATION_NIK_MAX_REFUSALS": "10000",
        "PROFILE_BANK_INQUIRY_URL": by_name["banksim"].url,
        "PAYOUT_PUBLIC_URL": by_name["payout-api"].url,
        # The daily reconciliation reads each bank's camt.053 statement from the simulator.
        "PAYOUT_STATEMENT_SOURCE": by_name["banksim"].url,
        "PAYOUT_BANK_NOTIFY_SECRETS": dev_bank_secrets(),
        "BANKSIM_BANK_NOTIFY_SECRETS": dev_bank_secrets(),
        # The benchmark and the fault test claim hundreds a day on a handful of employers, a wave by
        # design: locally the employer rule would send all of them to review (docs/runbooks/risk-flags.md).
        "RISK_EMPLOYER_CLAIMS_MIN_PER_DAY": "1000000",
        # faust's local files: the stack's own, so stacks side by side never share them.
        "RISK_STREAM_DATA_DIR": str(Path(data_dir) / "risk-stream"),
        f"{spec.env_prefix}{spec.port_setting}": str(spec.port),
    }
    # The worker of a service also needs to know its API port and vice versa (not to collide).
    env.update(spec.env)
    env.update(extra or {})
    return env


def local_process_env(
    process: LocalProcess,
    specs: list[ProcessSpec],
    kafka: str,
    mongo_uri: str,
    data_dir: Path,
    extra: dict | None = None,
) -> dict[str, str]:
    """`process_env` of each endpoint a process serves, merged: together, a service's process gets both
    its ports (CLAIMS_PORT and CLAIMS_WORKER_PORT)."""
    env: dict[str, str] = {}
    for spec in process.specs:
        env.update(process_env(spec, specs, kafka, mongo_uri, data_dir, extra))
    return env


BACKOFFICE_PORT = 8080
# Written in the data dir once the demo data is loaded (jmo_local.demo_loader): `make run` loads it
# only when this is missing.
DEMO_STAMP = "demo-loaded.json"


def backoffice_spec(
    specs: list[ProcessSpec], data_dir: Path, port: int = BACKOFFICE_PORT, together: bool = False
) -> ProcessSpec:
    """The officers' web application (jmo_backoffice): one process, no worker and no Kafka.

    It reaches the services over HTTP with the signed-in officer's staff token; locally it is the
    staff issuer itself (the staff key of jmo_local.staff) and signs in the seeded accounts
    officer-1 and ops-1 (passwords in $DATA_DIR/staff/passwords.json). With `together`, payout's
    API and worker are one process and show the same metrics on both ports: one is read.
    """
    from .staff import key_path, load_or_create_key, seed_staff_accounts

    by_name = {s.name: s for s in specs}
    load_or_create_key(Path(data_dir))
    accounts, _ = seed_staff_accounts(Path(data_dir))
    env = {
        "BACKOFFICE_CLAIMS_URL": by_name["claims-api"].url,
        "BACKOFFICE_HELPDESK_URL": by_name["helpdesk-api"].url,
        "BACKOFFICE_PAYOUT_URL": by_name["payout-api"].url,
        # The dashboard's figures: claims_by_status from the claims worker, payouts by rail from payout's processes.
        "BACKOFFICE_CLAIMS_METRICS_URLS": json.dumps([f"{by_name['claims-worker'].url}/metrics"]),
        "BACKOFFICE_PAYOUT_METRICS_URLS": json.dumps(
            [f"{by_name['payout-worker'].url}/metrics"] + ([] if together else [f"{by_name['payout-api'].url}/metrics"])
        ),
        # Clearing a risk flag: the risk service's officer API, when the stack runs it.
        "BACKOFFICE_RISK_URL": by_name["risk-api"].url if "risk-api" in by_name else "",
        "BACKOFFICE_SIGNIN": "local",
        "BACKOFFICE_STAFF_ACCOUNTS_FILE": str(accounts),
        "BACKOFFICE_STAFF_SIGNING_KEY_FILE": str(key_path(Path(data_dir))),
        # Plain http on 127.0.0.1: a Secure cookie would never come back.
        "BACKOFFICE_COOKIE_SECURE": "false",
    }
    return ProcessSpec("backoffice", "jmo_backoffice.entrypoints.api", port, "BACKOFFICE_", env=env)
