"""docker-compose.yml, validated without a Docker engine.

Three layers: the compose-spec JSON schema (as vendored by check-jsonschema), the
loader `docker compose` itself uses (compose-go), and this system's own rules:
health-gated start order, the topic list of shared/jmo_shared/topics.py, and the
environment every service needs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from deploy_support import (
    API_ONLY,
    API_PORTS,
    BACKOFFICE_UPSTREAM_APIS,
    BACKOFFICE_UPSTREAM_METRICS,
    BANKSIM_PORT,
    FACE_CACHE_DIR,
    ROOT,
    SERVICES,
    WORKER_PORTS,
    run_tool,
)

from jmo_shared.topics import PARTNER_BANKS, TOPICS

ONE_SHOT = {"kafka-init", "mongo-init"}
# notify's e-mails go to a local SMTP server (jmo_local.smtp, run from notify's image), never out.
MAIL_PORT = 1025


def compose_schema(tools) -> dict:
    path = tools.site / "check_jsonschema" / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(path.read_text())


def test_matches_the_compose_spec_schema(tools, compose):
    schema = compose_schema(tools)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_file(tools, compose):
    """The validator is live: an unknown service key and a bad depends_on condition fail."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["claims"]["heathcheck"] = {}
    broken["services"]["claims"]["depends_on"]["identity"]["condition"] = "service_ready"
    schema = compose_schema(tools)
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))
    assert len(errors) >= 2


def test_compose_go_loads_it(compose_loaded):
    assert set(compose_loaded["services"]) == {
        "kafka", "kafka-init", "mongo", "mongo-init", "banksim", "jaeger", "mail",
        *SERVICES, *(f"{svc}-worker" for svc in SERVICES), *API_ONLY,
    }  # fmt: skip


def test_compose_go_rejects_a_dependency_on_a_missing_service(tools, compose, tmp_path):
    broken = json.loads(json.dumps(compose))
    broken["services"]["claims"]["depends_on"]["ledger"] = {"condition": "service_healthy"}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = run_tool([str(tools.deploycheck), "compose", str(path)], cwd=tmp_path)
    assert done.returncode != 0 and "ledger" in done.stderr


def test_every_dependency_exists_and_is_health_gated(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            expected = "service_completed_successfully" if target in ONE_SHOT else "service_healthy"
            assert rule["condition"] == expected, f"{name} -> {target}"


def test_start_order_has_no_cycle(compose):
    services = compose["services"]
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert state.get(name) != "visiting", f"cycle: {' -> '.join((*path, name))}"
        if state.get(name) == "done":
            return
        state[name] = "visiting"
        for target in services[name].get("depends_on") or {}:
            visit(target, (*path, name))
        state[name] = "done"

    for name in services:
        visit(name, ())


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name


def test_host_ports_are_unique(compose_loaded):
    published = [
        (port.get("host_ip", ""), port["published"], port.get("protocol", "tcp"))
        for service in compose_loaded["services"].values()
        for port in service.get("ports") or []
    ]
    assert published and len(published) == len(set(published)), published


def test_named_volumes_are_declared_and_used(compose):
    declared = set(compose.get("volumes") or {})
    used = {
        mount.split(":", 1)[0]
        for service in compose["services"].values()
        for mount in service.get("volumes") or []
        if not mount.startswith((".", "/"))
    }
    assert used == declared
    assert {"kafka-data", "mongo-data"} <= used


def test_third_party_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        if image.startswith("jmo/"):
            assert "build" in service, f"{name} uses a project image without building it"
            continue
        repo, _, tag = image.partition(":")
        assert repo in {"apache/kafka", "mongo", "jaegertracing/jaeger"}, image
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned to a release"


def test_each_service_runs_its_api_and_its_worker(compose, compose_loaded):
    services = compose["services"]
    for svc in SERVICES:
        api, worker = services[svc], services[f"{svc}-worker"]
        assert api["build"] == worker["build"]
        assert api["build"]["dockerfile"] == "Dockerfile" and api["build"]["context"] == "."
        assert api["build"]["args"] == {
            "SERVICE": svc, "API_PORT": str(API_PORTS[svc]), "WORKER_PORT": str(WORKER_PORTS[svc]),
        }  # fmt: skip
        assert api["image"] == worker["image"] == f"jmo/{svc}:dev"
        assert api["command"] == ["api"] and worker["command"] == ["worker"]
        assert api["ports"] == [f"{API_PORTS[svc]}:{API_PORTS[svc]}"]
        assert worker["expose"] == [str(WORKER_PORTS[svc])]
        env = compose_loaded["services"][svc]["environment"]
        prefix = svc.upper()
        assert env[f"{prefix}_HOST"] == "0.0.0.0"
        assert env[f"{prefix}_PORT"] == str(API_PORTS[svc])
        assert env[f"{prefix}_WORKER_PORT"] == str(WORKER_PORTS[svc])
        assert env[f"{prefix}_DB_NAME"] == svc
        assert compose_loaded["services"][f"{svc}-worker"]["environment"] == env
        for check in (api, worker):
            assert check["read_only"] is True and "/tmp" in check["tmpfs"]


def test_each_api_only_service_runs_its_api_and_no_worker(compose, compose_loaded):
    services = compose["services"]
    for svc in API_ONLY:
        api = services[svc]
        assert f"{svc}-worker" not in services
        assert api["build"]["dockerfile"] == "Dockerfile" and api["build"]["context"] == "."
        assert api["build"]["args"] == {"SERVICE": svc, "API_PORT": str(API_PORTS[svc])}
        assert api["image"] == f"jmo/{svc}:dev" and api["command"] == ["api"]
        assert api["ports"] == [f"{API_PORTS[svc]}:{API_PORTS[svc]}"]
        assert api["read_only"] is True and "/tmp" in api["tmpfs"]
        env = compose_loaded["services"][svc]["environment"]
        prefix = svc.upper()
        assert env[f"{prefix}_HOST"] == "0.0.0.0"
        assert env[f"{prefix}_PORT"] == str(API_PORTS[svc])
        assert env[f"{prefix}_DB_NAME"] == svc


def test_connections_point_at_the_compose_services(compose, compose_loaded):
    mongod = compose["services"]["mongo"]["command"]
    replica_set = mongod[mongod.index("--replSet") + 1]
    kafka_listeners = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for svc in (*SERVICES, *API_ONLY, "banksim"):
        env = compose_loaded["services"][svc]["environment"]
        assert env["MONGODB_URI"] == f"mongodb://mongo:27017/?replicaSet={replica_set}"
        assert f"PLAINTEXT://{env['KAFKA_BOOTSTRAP_SERVERS']}" in kafka_listeners
        assert env["JWKS_URL"] == f"http://identity:{API_PORTS['identity']}/.well-known/jwks.json"
    init = " ".join(compose["services"]["mongo-init"]["command"])
    assert f'rs.initiate({{ _id: "{replica_set}", members: [{{ _id: 0, host: "mongo:27017" }}] }})' in init


def test_the_apis_wait_for_identity_and_everything_for_the_infrastructure(compose):
    services = compose["services"]
    for name, service in services.items():
        if name in {"kafka", "mongo", "jaeger"} | ONE_SHOT:
            continue
        assert {"kafka-init", "mongo-init"} <= set(service["depends_on"]), name
        # Tracing is best effort: nothing waits for the trace store.
        assert "jaeger" not in service["depends_on"], name
    for svc in SERVICES[1:]:
        assert "identity" in services[svc]["depends_on"], f"{svc} starts before the JWKS exists"
    assert "banksim" in services["profile"]["depends_on"]
    # The back office's pages are the services' APIs: it starts after them.
    assert set(BACKOFFICE_UPSTREAM_APIS) <= set(services["backoffice"]["depends_on"])


def test_service_specific_settings(compose_loaded):
    services = compose_loaded["services"]
    identity = services["identity"]
    assert identity["environment"]["IDENTITY_FACE_CACHE_DIR"] == FACE_CACHE_DIR
    assert any(v["target"] == FACE_CACHE_DIR and v["type"] == "volume" for v in identity["volumes"])
    assert services["profile"]["environment"]["PROFILE_BANK_INQUIRY_URL"] == f"http://banksim:{BANKSIM_PORT}"
    payout = services["payout"]["environment"]
    assert payout["PAYOUT_PUBLIC_URL"] == f"http://payout:{API_PORTS['payout']}"
    secrets = json.loads(payout["PAYOUT_BANK_NOTIFY_SECRETS"])
    assert set(secrets) == set(PARTNER_BANKS)
    assert json.loads(services["banksim"]["environment"]["BANKSIM_BANK_NOTIFY_SECRETS"]) == secrets
    banksim = services["banksim"]
    assert banksim["environment"]["BANKSIM_PORT"] == str(BANKSIM_PORT)
    assert banksim["environment"]["BANKSIM_HOST"] == "0.0.0.0"
    # notify sends its e-mails to the local SMTP server, which listens where notify looks for it.
    notify = services["notify"]["environment"]
    assert (notify["NOTIFY_SMTP_HOST"], notify["NOTIFY_SMTP_PORT"]) == ("mail", str(MAIL_PORT))
    mail = services["mail"]
    assert mail["image"] == services["notify"]["image"]
    assert mail["command"][:3] == ["python", "-m", "jmo_local.smtp"]
    assert mail["command"][mail["command"].index("--port") + 1] == str(MAIL_PORT)
    assert mail["expose"] == [str(MAIL_PORT)]
    # The back office calls the services' APIs and reads the workers' /metrics at their compose names.
    backoffice = services["backoffice"]["environment"]
    for svc in BACKOFFICE_UPSTREAM_APIS:
        assert backoffice[f"BACKOFFICE_{svc.upper()}_URL"] == f"http://{svc}:{API_PORTS[svc]}", svc
    for svc in BACKOFFICE_UPSTREAM_METRICS:
        urls = json.loads(backoffice[f"BACKOFFICE_{svc.upper()}_METRICS_URLS"])
        assert f"http://{svc}-worker:{WORKER_PORTS[svc]}/metrics" in urls, svc


def test_kafka_is_a_single_kraft_node_without_auto_created_topics(compose):
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[key] == "1"


def test_kafka_init_creates_exactly_the_topics_of_topics_py(compose_loaded, tmp_path):
    """Run the init script itself, with a stand-in kafka-topics.sh that records its arguments."""
    script = compose_loaded["services"]["kafka-init"]["command"][0]
    calls = tmp_path / "calls.tsv"
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text(f'#!/bin/sh\n{{ for a in "$@"; do printf "%s\\t" "$a"; done; echo; }} >> {calls}\n')
    stub.chmod(0o755)
    script = script.replace("/opt/kafka/bin/kafka-topics.sh", str(stub))
    subprocess.run(["sh", "-ec", script], check=True, timeout=60)

    created = {}
    for line in calls.read_text().splitlines():
        args = line.rstrip("\t").split("\t")
        if "--create" not in args:
            continue
        assert args[args.index("--bootstrap-server") + 1] == "kafka:9092"
        assert "--if-not-exists" in args
        configs = dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "--config")
        created[args[args.index("--topic") + 1]] = (int(args[args.index("--partitions") + 1]), configs)
    assert created == {t.name: (t.partitions, dict(t.configs)) for t in TOPICS}


@pytest.mark.parametrize("service", ["kafka", "mongo"])
def test_infrastructure_keeps_its_data_in_named_volumes(compose, service):
    mounts = compose["services"][service]["volumes"]
    assert mounts and all(not m.startswith((".", "/")) for m in mounts)


def test_every_image_builds_from_the_one_dockerfile_with_its_service_as_argument(compose):
    built = {name: svc["build"] for name, svc in compose["services"].items() if "build" in svc}
    assert {b["args"]["SERVICE"] for b in built.values()} == {*SERVICES, *API_ONLY, "banksim"}
    for name, build in built.items():
        assert build["dockerfile"] == "Dockerfile", name
        assert compose["services"][name]["image"] == f"jmo/{build['args']['SERVICE']}:dev", name
    assert (Path(ROOT) / "Dockerfile").is_file()
    assert built["banksim"]["args"] == {"SERVICE": "banksim", "API_PORT": "8099"}
    for svc in API_ONLY:  # no worker, so no WORKER_PORT
        assert built[svc]["args"] == {"SERVICE": svc, "API_PORT": str(API_PORTS[svc])}, svc


def test_every_process_sends_its_spans_to_jaeger_and_drains_within_the_stop_grace(compose, compose_loaded):
    jaeger = compose["services"]["jaeger"]
    assert "16686:16686" in jaeger["ports"]
    receiver = " ".join(jaeger["command"])
    for svc in (*SERVICES, *(f"{s}-worker" for s in SERVICES), *API_ONLY, "banksim"):
        env = compose_loaded["services"][svc]["environment"]
        endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert endpoint == "http://jaeger:4318", svc
        assert "0.0.0.0:4318" in receiver and "4318" in jaeger["expose"]
        stop = compose_loaded["services"][svc]["stop_grace_period"]
        assert float(env["SHUTDOWN_GRACE_SECONDS"]) + 5 <= _seconds(stop), svc


def _seconds(value) -> float:
    if isinstance(value, (int, float)):
        return float(value) / (1e9 if value > 10_000 else 1)  # compose-go renders durations in ns
    match = re.fullmatch(r"(\d+)s", str(value))
    assert match, value
    return float(match.group(1))
