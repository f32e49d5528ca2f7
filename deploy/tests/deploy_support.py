"""Shared by the deploy tests: where things are, what the system is made of, small helpers."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
TOOLS_SH = DEPLOY / "tests" / "tools.sh"
CRD_SCHEMAS = DEPLOY / "tests" / "schemas" / "crds"

# What the system is made of: every deploy file is checked against this.
# SERVICES run two processes (api and worker), each with its own Kafka user and MongoDB database.
SERVICES = ("identity", "profile", "balance", "claims", "payout", "helpdesk", "notify", "risk")
# API_ONLY: deployed everywhere (prod too) as one process, no worker and no Kafka; its own MongoDB
# database. The back office (officers' web application) reads and acts through the services' APIs.
API_ONLY = ("backoffice",)
API_PORTS = {
    "identity": 8001,
    "profile": 8002,
    "balance": 8003,
    "claims": 8004,
    "payout": 8005,
    "helpdesk": 8006,
    "notify": 8007,
    "risk": 8008,
    "backoffice": 8080,
}
WORKER_PORTS = {svc: API_PORTS[svc] + 100 for svc in SERVICES}
BANKSIM_PORT = 8099
IMAGES = (*SERVICES, *API_ONLY, "banksim")
# The services' API processes the back office calls, and the workers whose /metrics its dashboard reads.
BACKOFFICE_UPSTREAM_APIS = ("claims", "helpdesk", "payout", "risk")
BACKOFFICE_UPSTREAM_METRICS = ("claims", "payout")
FACE_CACHE_DIR = "/var/cache/jmo/face-models"


def run_tool(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def by_name(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    return containers[0]


def env_of(deployment: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container(deployment).get("env", [])}


def services_pods(docs: list[dict]) -> dict[str, dict]:
    """Every Deployment of the services, by name (api: <svc>, worker: <svc>-worker)."""
    names = {*SERVICES, *(f"{svc}-worker" for svc in SERVICES)}
    found = {name: d for name, d in by_name(docs, "Deployment").items() if name in names}
    assert set(found) == names
    return found


def deployed_pods(docs: list[dict]) -> dict[str, dict]:
    """services_pods and the API-only services' Deployments (api: <svc>; none may have a worker)."""
    found = services_pods(docs)
    deployments = by_name(docs, "Deployment")
    for svc in API_ONLY:
        assert f"{svc}-worker" not in deployments, f"{svc} has no worker process"
        found[svc] = deployments[svc]
    return found


# Custom resources are checked against the structural schemas in schemas/crds/ ({kind}-{group}-{version}.json).
CRD_KINDS = {
    ("kafka.strimzi.io/v1", "Kafka"),
    ("kafka.strimzi.io/v1", "KafkaNodePool"),
    ("kafka.strimzi.io/v1", "KafkaTopic"),
    ("kafka.strimzi.io/v1", "KafkaUser"),
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
}


@functools.cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    group, version = api_version.split("/")
    schema = json.loads((CRD_SCHEMAS / f"{kind.lower()}-{group}-{version}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.cache
def kubernetes_validate() -> Any:
    """The `kubernetes_validate` module (from tools.sh's site directory), reading each schema file once.

    Its `validate()` reads and parses the kind's schema and the whole `_definitions.json` (megabytes)
    from disk at every call: over the manifests tests that was about 14 s of the suite's CPU. The
    parsed files never change and `validate()` does not modify them, so they are parsed once.
    """
    import kubernetes_validate as module
    import kubernetes_validate.utils as utils

    utils.schema_contents = functools.cache(utils.schema_contents)
    return module


def validate(doc: dict, version: str) -> None:
    """A custom resource against its CRD schema, anything else against Kubernetes `version` (strict)."""
    if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
        crd_validator(doc["apiVersion"], doc["kind"]).validate(doc)
    else:
        kubernetes_validate().validate(doc, version, strict=True)
