"""Fixtures every test layer shares.

Integration and end-to-end tests run against a real Apache Kafka broker and a
real SecantusDB server, started once per test session on free ports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from jmo_shared.testing import TokenIssuer

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ExternalInfra:
    kafka_bootstrap: str
    mongo_uri: str


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The broker and database: started here, or already running ones named by
    JMO_TEST_KAFKA_BOOTSTRAP and JMO_TEST_MONGODB_URI (topics must exist there)."""
    external_kafka = os.environ.get("JMO_TEST_KAFKA_BOOTSTRAP")
    external_mongo = os.environ.get("JMO_TEST_MONGODB_URI")
    if external_kafka and external_mongo:
        yield ExternalInfra(external_kafka, external_mongo)
        return
    from jmo_local.stack import LocalInfra

    base = Path(os.environ.get("JMO_TEST_DATA_DIR") or tmp_path_factory.mktemp("infra"))
    with LocalInfra(base) as running:
        yield running


@pytest.fixture(scope="session")
def token_issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture
def unique_db() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def service_env(infra: object, token_issuer: TokenIssuer, unique_db: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Environment that points a service's settings at the test broker, database and token keys."""
    env = {
        "MONGODB_URI": infra.mongo_uri,  # type: ignore[attr-defined]
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,  # type: ignore[attr-defined]
        "JWKS_JSON": token_issuer.jwks(),
        "STAFF_JWKS_JSON": token_issuer.staff_jwks(),
        "CONSUMER_GROUP_PREFIX": f"test-{unique_db}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan in this process and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def run_app():
    return running


@pytest.fixture(scope="session")
def openapi_client(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ModuleType]:
    """`openapi_client("claims")`: the Python client generated from the claims service's OpenAPI
    document (jmo_local.openapi_clients), generated once per session and imported."""
    from jmo_local.openapi_clients import generate_client

    directory = tmp_path_factory.mktemp("openapi_clients")
    generated: dict[str, ModuleType] = {}

    def client(service: str) -> ModuleType:
        if service not in generated:
            generated[service] = generate_client(service, directory)
        return generated[service]

    return client


# --- running side by side (`make test` runs two pytest-xdist workers) ------------------------------

# Files that share the e2e `system` (tests/e2e/conftest.py) run on one worker, in this order: one
# stack, not four. The rolling restart goes last: it stops and starts every process.
SHARED_SYSTEM = (
    "tests/e2e/test_claim_flow.py",
    "tests/e2e/test_backoffice_browser.py",
    "tests/e2e/test_risk_flow.py",
    "tests/e2e/test_rolling_restart.py",
)
# The longest files start first, longest first (the fault test, about five minutes on a worker of its
# own; then the shared e2e system, about four minutes with its start and the rolling restart; then the
# files of a minute or so), so the short ones fill in around them instead of a long one starting last
# and being the suite's tail.
LONGEST_FIRST = (
    "tests/e2e/test_faults.py",
    *SHARED_SYSTEM,
    "tests/contract/test_openapi_documents.py",
    "deploy/local/tests/test_local_infra.py",
    "services/payout/tests/integration/test_reconciliation.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: the rest as collected


try:
    from xdist.scheduler import LoadFileScheduling
except ImportError:  # pragma: no cover - pytest-xdist is in requirements.lock
    LoadFileScheduling = None

if LoadFileScheduling is not None:

    class _ByFileSharingTheSystem(LoadFileScheduling):
        """pytest-xdist's --dist loadfile (a file's tests on one worker, for its module fixtures), with the
        files on the shared e2e system as one unit."""

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/e2e (shared system)" if path in SHARED_SYSTEM else path

    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
        if config.getoption("dist") != "loadfile":
            return None  # another --dist asked for: xdist's own
        config.option.loadscopereorder = False  # keep LONGEST_FIRST's order, not the most tests first
        return _ByFileSharingTheSystem(config, log)
