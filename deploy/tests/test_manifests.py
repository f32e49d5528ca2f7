"""deploy/k8s rendered with kustomize and validated offline.

Built-in kinds are checked, strictly (unknown fields fail), against the Kubernetes
OpenAPI schemas that kubernetes-validate ships; the operators' custom resources
(Strimzi, MongoDBCommunity) against the structural schemas in schemas/crds/. Then
the rules of this system: probes, hardening, wiring, topics, ACLs, network policy.
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from deploy_support import (
    API_ONLY,
    API_PORTS,
    BANKSIM_PORT,
    CRD_KINDS,
    FACE_CACHE_DIR,
    SERVICES,
    WORKER_PORTS,
    by_name,
    container,
    deployed_pods,
    env_of,
    kubernetes_validate,
    of_kind,
    services_pods,
    validate,
)

from jmo_shared.topics import PARTNER_BANKS, TOPICS, bank_status_topic, bank_topic

TARGETS = ("base", "overlays/dev", "overlays/prod")
# The oldest Kubernetes minor we support and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
# Secrets the manifests read but never contain: created out of band, or by an operator.
OUT_OF_BAND_SECRETS = {
    "jmo-identity-signing-key",
    "jmo-payout-bank-secrets",
    "jmo-balance-card-signing-key",
    "jmo-risk",
}
KAFKA_BOOTSTRAP = "jmo-kafka-bootstrap:9092"


# --- schemas ------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_document_validates(render, tools, target, version):
    errors = []
    for doc in render(target):
        try:
            validate(doc, version)
        except Exception as exc:  # collect all, report together
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {getattr(exc, 'message', exc)}")
    assert not errors, "\n".join(errors)


def test_validation_is_live(tools, prod):
    """A misspelt field fails both the Kubernetes and the CRD schemas."""
    deployment = json.loads(json.dumps(by_name(prod, "Deployment")["claims"]))
    container(deployment)["readinesProbe"] = container(deployment).pop("readinessProbe")
    topic = json.loads(json.dumps(of_kind(prod, "KafkaTopic")[0]))
    topic["spec"]["partition"] = topic["spec"].pop("partitions")
    user = json.loads(json.dumps(of_kind(prod, "KafkaUser")[0]))
    user["spec"]["authorization"]["acls"][0]["operation"] = "Read"  # v1beta2 only
    for broken in (deployment, topic, user):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken, KUBERNETES_VERSIONS[-1])


def test_every_kind_has_a_schema(render):
    module = kubernetes_validate()
    for target in TARGETS:
        for doc in render(target):
            if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
                continue
            try:
                module.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)
            except module.SchemaNotFoundError:
                pytest.fail(f"{target}: no schema for {doc['apiVersion']} {doc['kind']}")


# --- workloads ---------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_process_has_probes_resources_and_hardening(render, target):
    for deployment in of_kind(render(target), "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        box = container(deployment)
        port = box["ports"][0]
        assert port["name"] == "http", name
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            assert box[probe]["httpGet"] == {"path": path, "port": "http"}, f"{name} {probe}"
        assert box["startupProbe"]["failureThreshold"] * box["startupProbe"]["periodSeconds"] >= 60, name
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(box["resources"][kind]), f"{name} {kind}"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert box["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        # Service links would set e.g. CLAIMS_PORT=tcp://10.0.0.7:8004 in the environment.
        assert pod["enableServiceLinks"] is False, name
        assert pod["automountServiceAccountToken"] is False, name
        mounts = {m["mountPath"]: m["name"] for m in box["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        for path in ("/tmp", "/var/lib/jmo"):
            assert "emptyDir" in volumes[mounts[path]], f"{name} {path}"
        assert set(mounts.values()) == set(volumes), name


@pytest.mark.parametrize("target", TARGETS)
def test_each_service_runs_an_api_and_a_worker_from_its_image(render, target):
    pods = services_pods(render(target))
    for svc in SERVICES:
        for name, args, port in ((svc, ["api"], API_PORTS[svc]), (f"{svc}-worker", ["worker"], WORKER_PORTS[svc])):
            deployment = pods[name]
            box = container(deployment)
            assert box["args"] == args
            assert re.fullmatch(rf"(.+/)?jmo/{svc}(:[\w.-]+)?", box["image"]), box["image"]
            assert box["ports"][0]["containerPort"] == port
            env = env_of(deployment)
            prefix = svc.upper()
            assert env[f"{prefix}_HOST"]["value"] == "0.0.0.0"
            assert env[f"{prefix}_PORT"]["value"] == str(API_PORTS[svc])
            assert env[f"{prefix}_WORKER_PORT"]["value"] == str(WORKER_PORTS[svc])
            assert env[f"{prefix}_DB_NAME"]["value"] == svc
            assert env["MONGODB_URI"]["valueFrom"]["secretKeyRef"] == {
                "name": f"jmo-mongo-{svc}",
                "key": "connectionString.standard",
            }
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == svc
            assert labels["app.kubernetes.io/component"] == args[0]


@pytest.mark.parametrize("target", TARGETS)
def test_each_api_only_service_runs_its_api_from_its_image_and_no_worker(render, target):
    pods = deployed_pods(render(target))
    for svc in API_ONLY:
        deployment = pods[svc]
        box = container(deployment)
        assert box["args"] == ["api"]
        assert re.fullmatch(rf"(.+/)?jmo/{svc}(:[\w.-]+)?", box["image"]), box["image"]
        assert box["ports"][0]["containerPort"] == API_PORTS[svc]
        env = env_of(deployment)
        prefix = svc.upper()
        assert env[f"{prefix}_HOST"]["value"] == "0.0.0.0"
        assert env[f"{prefix}_PORT"]["value"] == str(API_PORTS[svc])
        assert env[f"{prefix}_DB_NAME"]["value"] == svc
        assert env["MONGODB_URI"]["valueFrom"]["secretKeyRef"] == {
            "name": f"jmo-mongo-{svc}",
            "key": "connectionString.standard",
        }
        # No Kafka: no user of its own, and nothing in its environment names one.
        assert not any(name.startswith("KAFKA_SASL") for name in env), svc
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == svc
        assert labels["app.kubernetes.io/component"] == "api"


@pytest.mark.parametrize("target", TARGETS)
def test_identity_has_a_writable_face_model_cache(render, target):
    for name in ("identity", "identity-worker"):
        deployment = by_name(render(target), "Deployment")[name]
        assert env_of(deployment)["IDENTITY_FACE_CACHE_DIR"]["value"] == FACE_CACHE_DIR
        mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
        volume = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}[mounts[FACE_CACHE_DIR]]
        assert "emptyDir" in volume


@pytest.mark.parametrize("target", TARGETS)
def test_apis_have_service_hpa_and_pdb_and_workers_a_pdb(render, target):
    docs = render(target)
    services, hpas = by_name(docs, "Service"), by_name(docs, "HorizontalPodAutoscaler")
    pdbs = by_name(docs, "PodDisruptionBudget")
    pods = services_pods(docs)
    for svc in SERVICES:
        api_labels = pods[svc]["spec"]["template"]["metadata"]["labels"]
        service = services[svc]
        assert all(api_labels.get(k) == v for k, v in service["spec"]["selector"].items())
        assert service["spec"]["ports"] == [{"name": "http", "port": API_PORTS[svc], "targetPort": "http"}]
        hpa = hpas[svc]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc}
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        for name in (svc, f"{svc}-worker"):
            labels = pods[name]["spec"]["template"]["metadata"]["labels"]
            selector = pdbs[name]["spec"]["selector"]["matchLabels"]
            assert selector and all(labels.get(k) == v for k, v in selector.items()), name
            assert pods[name]["spec"]["selector"]["matchLabels"] == selector
        assert f"{svc}-worker" not in services and f"{svc}-worker" not in hpas
    deployed = deployed_pods(docs)
    for svc in API_ONLY:
        api_labels = deployed[svc]["spec"]["template"]["metadata"]["labels"]
        service = services[svc]
        assert all(api_labels.get(k) == v for k, v in service["spec"]["selector"].items())
        assert service["spec"]["ports"] == [{"name": "http", "port": API_PORTS[svc], "targetPort": "http"}]
        hpa = hpas[svc]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc}
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        selector = pdbs[svc]["spec"]["selector"]["matchLabels"]
        assert selector and all(api_labels.get(k) == v for k, v in selector.items()), svc
        assert deployed[svc]["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize("target", TARGETS)
def test_config_references_resolve_and_no_secret_is_committed(render, target):
    docs = render(target)
    assert not of_kind(docs, "Secret"), "Secrets are created out of band, never rendered"
    config_maps = {d["metadata"]["name"]: d["data"] for d in of_kind(docs, "ConfigMap")}
    mongo_secrets = {
        user["connectionStringSecretName"]
        for mongo in of_kind(docs, "MongoDBCommunity")
        for user in mongo["spec"]["users"]
    }
    # Strimzi writes a Secret named after each KafkaUser (a SCRAM user's password).
    kafka_user_secrets = set(by_name(docs, "KafkaUser"))
    for deployment in of_kind(docs, "Deployment"):
        box = container(deployment)
        for source in box.get("envFrom", []):
            assert source["configMapRef"]["name"] in config_maps
        for env in box.get("env", []):
            ref = env.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                assert ref["configMapKeyRef"]["key"] in config_maps[ref["configMapKeyRef"]["name"]], env
            if "secretKeyRef" in ref:
                name = ref["secretKeyRef"]["name"]
                if target == "base":
                    continue  # the MongoDB users come with the overlays
                assert name in OUT_OF_BAND_SECRETS | mongo_secrets | kafka_user_secrets, (
                    f"{deployment['metadata']['name']}: {name}"
                )
    for data in config_maps.values():
        assert data["KAFKA_BOOTSTRAP_SERVERS"] == KAFKA_BOOTSTRAP
        assert data["JWKS_URL"] == f"http://identity:{API_PORTS['identity']}/.well-known/jwks.json"
        assert "MONGODB_URI" not in data
        # Spans to the collector's OTLP/HTTP port (jmo_shared.tracing adds /v1/traces).
        assert re.fullmatch(r"http://otel-collector\.[a-z-]+\.svc:4318", data["OTEL_EXPORTER_OTLP_ENDPOINT"])


@pytest.mark.parametrize("target", TARGETS)
def test_the_pod_grace_period_covers_the_process_drain(render, target):
    """SIGTERM: preStop sleep, then SHUTDOWN_GRACE_SECONDS for requests / the batch in hand, then closing
    clients (bounded at 10 s each); Kubernetes must not SIGKILL before that."""
    docs = render(target)
    config = {d["metadata"]["name"]: d["data"] for d in of_kind(docs, "ConfigMap")}
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        box = container(deployment)
        grace = float(next(config[src["configMapRef"]["name"]] for src in box["envFrom"])["SHUTDOWN_GRACE_SECONDS"])
        pre_stop = box.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        sleep = float(m.group(1)) if (m := re.search(r"sleep\((\d+(?:\.\d+)?)\)", " ".join(pre_stop))) else 0.0
        period = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert period >= sleep + grace + 10, f"{name}: {period}s < preStop {sleep}s + drain {grace}s + 10s"


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_everything_lives_in_the_overlay_namespace(render, target):
    docs = render(target)
    (namespace,) = of_kind(docs, "Namespace")
    name = namespace["metadata"]["name"]
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == name, f"{doc['kind']}/{doc['metadata']['name']}"


# --- Kafka --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_kafka_cluster_serves_the_bootstrap_address_the_services_use(render, target):
    docs = render(target)
    (kafka,) = of_kind(docs, "Kafka")
    cluster = kafka["metadata"]["name"]
    host, port = KAFKA_BOOTSTRAP.split(":")
    assert host == f"{cluster}-kafka-bootstrap"
    (listener,) = [lst for lst in kafka["spec"]["kafka"]["listeners"] if lst["port"] == int(port)]
    assert listener["type"] == "internal"
    # dev: plaintext without identities; prod: TLS and a SCRAM user per service (test_kafka_identities).
    assert (listener["tls"], listener.get("authentication")) == (
        (False, None) if target == "overlays/dev" else (True, {"type": "scram-sha-512"})
    )
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    pools = of_kind(docs, "KafkaNodePool")
    roles = {role for pool in pools for role in pool["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    for doc in (*pools, *of_kind(docs, "KafkaTopic"), *of_kind(docs, "KafkaUser")):
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == cluster


@pytest.mark.parametrize(("target", "replicas", "min_isr"), [("overlays/dev", 1, 1), ("overlays/prod", 3, 2)])
def test_topics_match_topics_py(render, target, replicas, min_isr):
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(render(target), "KafkaTopic")}
    assert set(topics) == {t.name for t in TOPICS}
    for spec in TOPICS:
        topic = topics[spec.name]
        assert topic["partitions"] == spec.partitions, spec.name
        assert topic["replicas"] == replicas, spec.name
        # Every config topics.py declares (retention.ms, or cleanup.policy for a compacted changelog), and
        # nothing else; min.insync.replicas is the environment's.
        declared = {key: value for key, value in spec.configs.items() if key != "min.insync.replicas"}
        assert topic["config"]["min.insync.replicas"] == min_isr, spec.name
        configs = {key: str(value) for key, value in topic["config"].items() if key != "min.insync.replicas"}
        assert configs == declared, spec.name


def test_prod_kafka_is_replicated_and_authorizes(prod):
    (kafka,) = of_kind(prod, "Kafka")
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["transaction.state.log.min.isr"] == 2
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]
    for pool in of_kind(prod, "KafkaNodePool"):
        assert pool["spec"]["replicas"] >= 3
    # Every listener authenticates its clients over TLS; none is anonymous, and nobody is a super user.
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["tls"] is True and listener["authentication"]["type"] in ("tls", "scram-sha-512"), listener
    assert not kafka["spec"]["kafka"]["authorization"].get("superUsers")


def test_each_bank_reads_only_its_payouts_and_writes_only_its_status(prod):
    # Banks only: the autoscaler's own user (keda-scaler) has its own test.
    users = {name: user for name, user in by_name(prod, "KafkaUser").items() if name.startswith("bank-")}
    assert set(users) == {f"bank-{code}" for code in PARTNER_BANKS}
    for code in PARTNER_BANKS:
        spec = users[f"bank-{code}"]["spec"]
        assert spec["authentication"]["type"] == "tls"
        grants = {
            (acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"]): set(acl["operations"])
            for acl in spec["authorization"]["acls"]
        }
        assert all(acl.get("type", "allow") == "allow" for acl in spec["authorization"]["acls"])
        assert grants == {
            ("topic", bank_topic(code), "literal"): {"Read", "Describe"},
            ("group", f"bank-{code}", "prefix"): {"Read"},
            ("topic", bank_status_topic(code), "literal"): {"Write", "Describe"},
        }


# --- MongoDB ------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "members"), [("overlays/dev", 1), ("overlays/prod", 3)])
def test_mongodb_replica_set_with_one_user_per_service(render, target, members):
    (mongo,) = of_kind(render(target), "MongoDBCommunity")
    spec = mongo["spec"]
    assert spec["type"] == "ReplicaSet" and spec["members"] == members
    assert spec["security"]["authentication"]["modes"] == ["SCRAM"]
    users = {u["name"]: u for u in spec["users"]}
    expected = set(SERVICES) | set(API_ONLY) | ({"banksim"} if target.endswith("dev") else set())
    assert set(users) == expected
    for name, user in users.items():
        assert user["roles"] == [{"name": "readWrite", "db": name}], "a service owns one database, no more"
        assert user["connectionStringSecretName"] == f"jmo-mongo-{name}"
        assert user["passwordSecretRef"]["name"] == f"jmo-mongo-{name}-password"


# --- overlays -----------------------------------------------------------------------


def test_dev_runs_one_of_everything_with_the_bank_simulator(dev):
    for deployment in of_kind(dev, "Deployment"):
        assert deployment["spec"]["replicas"] == 1, deployment["metadata"]["name"]
    for hpa in of_kind(dev, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1
    banksim = by_name(dev, "Deployment")["banksim"]
    assert container(banksim)["ports"][0]["containerPort"] == BANKSIM_PORT
    assert env_of(banksim)["BANKSIM_PORT"]["value"] == str(BANKSIM_PORT)
    assert by_name(dev, "Service")["banksim"]["spec"]["ports"][0]["port"] == BANKSIM_PORT
    (config,) = of_kind(dev, "ConfigMap")
    assert config["data"]["PROFILE_BANK_INQUIRY_URL"] == f"http://banksim:{BANKSIM_PORT}"
    assert config["data"]["PAYOUT_PUBLIC_URL"] == f"http://payout:{API_PORTS['payout']}"
    for pool in of_kind(dev, "KafkaNodePool"):
        assert pool["spec"]["replicas"] == 1


def test_prod_runs_at_least_two_of_everything_and_no_simulator(prod):
    for deployment in of_kind(prod, "Deployment"):
        assert deployment["spec"]["replicas"] >= 2, deployment["metadata"]["name"]
        assert deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        image = container(deployment)["image"]
        assert ":" in image and not image.endswith(":latest") and not image.endswith(":dev"), image
    for hpa in of_kind(prod, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2
    assert "banksim" not in json.dumps(prod), "the bank simulator never goes to production"
    (config,) = of_kind(prod, "ConfigMap")
    for key in ("PROFILE_BANK_INQUIRY_URL", "PAYOUT_PUBLIC_URL"):
        assert config["data"][key].startswith("https://"), key


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_overlays_replace_every_placeholder_address(render, target):
    """The base names `.invalid` placeholders (identity provider, SMTP relay, banks) that each environment must set."""
    docs = render(target)
    for deployment in of_kind(docs, "Deployment"):
        for name, item in env_of(deployment).items():
            assert ".invalid" not in str(item.get("value", "")), f"{deployment['metadata']['name']}: {name}"
    for config in of_kind(docs, "ConfigMap"):
        for key, value in config["data"].items():
            assert ".invalid" not in value, f"{config['metadata']['name']}: {key}"


def test_prod_secrets_are_mandatory(prod):
    deployments = by_name(prod, "Deployment")
    needs = {
        "identity": "IDENTITY_SIGNING_KEY_PEM",
        "payout": "PAYOUT_BANK_NOTIFY_SECRETS",
        "payout-worker": "PAYOUT_BANK_NOTIFY_SECRETS",
        "risk-worker": "RISK_ACCOUNT_HASH_KEY",
    }
    for name, variable in needs.items():
        ref = env_of(deployments[name])[variable]["valueFrom"]["secretKeyRef"]
        assert ref["name"] in OUT_OF_BAND_SECRETS and ref.get("optional") is False, name
