"""Lag-based autoscaling of the workers (deploy/k8s/components/keda), rendered and checked offline.

Each overlay lists the KEDA component and its environment component (keda/dev, keda/prod);
test_manifests validates everything they render, custom resources included. Nothing about the consumers is written down here: their groups and topics come
from each service's own worker factory, run with the rendered Deployment's environment and
with jmo_shared's Kafka and MongoDB parts replaced by recorders.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import inspect
import json
import os
import re
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import faust
import jsonschema
import pytest
import yaml
from deploy_support import K8S, SERVICES, by_name, container, of_kind, services_pods, validate
from fastapi import FastAPI

import jmo_shared.consumer
import jmo_shared.kafka
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.runtime import Runtime
from jmo_shared.settings import ServiceSettings
from jmo_shared.topics import TOPICS

KEDA = K8S / "components" / "keda"
ENVIRONMENT_COMPONENT = {"overlays/dev": KEDA / "dev", "overlays/prod": KEDA / "prod"}
TARGETS = tuple(ENVIRONMENT_COMPONENT)
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
# Where the KEDA Helm chart runs its operator, the one process that queries Kafka.
KEDA_NAMESPACE = "keda"


# --- rendering ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scaled(render):
    """scaled("overlays/prod") -> the overlay's documents; dev and prod list the KEDA components."""
    return render


# --- what the code consumes -------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    group: str
    topics: tuple[str, ...]
    pattern: str | None
    # A faust app's tables' changelog topics: read back (by assignment, no committed offsets in the
    # group) to rebuild the tables, and written on every table change. Not lag to scale on.
    changelogs: tuple[str, ...] = ()

    def reads(self) -> set[str]:
        # aiokafka matches a subscription pattern with re.match against every topic name.
        matched = {t.name for t in TOPICS if self.pattern and re.match(self.pattern, t.name)}
        return set(self.topics) | matched


def faust_subscriptions(apps: list[faust.App]) -> list[Subscription]:
    """What faust apps built by a worker consume: one group (the app id) over its agents' topics, and its
    tables' changelogs."""
    return [
        Subscription(
            group=app.conf.id,
            topics=tuple(sorted({topic for agent in app.agents.values() for topic in agent.channel.topics})),
            pattern=None,
            changelogs=tuple(sorted(table.changelog_topic.get_topic_name() for table in app.tables.values())),
        )
        for app in apps
    ]


# Secrets are created out of band: a stand-in for those a factory refuses to start without.
SECRET_STAND_INS = {
    "PAYOUT_BANK_NOTIFY_SECRETS": '{"014": "stand-in-for-the-out-of-band-secret"}',
    "RISK_ACCOUNT_HASH_KEY": "stand-in-for-the-out-of-band-risk-key",
    "KAFKA_SASL_PASSWORD": "stand-in-for-the-kafka-user-password",
}


_create_default_context = ssl.create_default_context


def stand_in_ssl_context(cafile=None, **kwargs) -> ssl.SSLContext:
    """For jmo_shared.kafka.create_ssl_context: the cluster CA is a Secret mounted in the pod, not here."""
    return _create_default_context()


def stand_in_default_context(purpose=ssl.Purpose.SERVER_AUTH, *, cafile=None, **kwargs) -> ssl.SSLContext:
    """For ssl.create_default_context as faust's credentials call it (the risk stream): same mounted CA."""
    return _create_default_context(purpose)


def process_env(docs: list[dict], deployment: dict) -> dict[str, str]:
    """The environment a Deployment's container gets from the manifests (Secrets are out of band)."""
    config_maps = {cm["metadata"]["name"]: cm.get("data", {}) for cm in of_kind(docs, "ConfigMap")}
    box = container(deployment)
    env: dict[str, str] = {}
    for source in box.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
    for item in box.get("env", []):
        ref = item.get("valueFrom", {}).get("configMapKeyRef")
        if "value" in item:
            env[item["name"]] = item["value"]
        elif ref:
            env[item["name"]] = config_maps[ref["name"]][ref["key"]]
        elif "secretKeyRef" in item.get("valueFrom", {}) and item["name"] in SECRET_STAND_INS:
            env[item["name"]] = SECRET_STAND_INS[item["name"]]
    return env


def _settings(service: str, env: dict[str, str]) -> ServiceSettings:
    module = importlib.import_module(f"jmo_{service}.settings")
    (cls,) = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ServiceSettings) and value.__module__ == module.__name__
    ]
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):  # the container gets the manifests' environment and nothing else
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        return cls()


def _worker_factory(service: str):
    return importlib.import_module(f"jmo_{service}.entrypoints.worker").create_worker


@functools.cache
def _subscriptions(service: str, env: tuple[tuple[str, str], ...]) -> tuple[Subscription, ...]:
    """The consumer groups the worker process runs, from its own factory with this environment."""
    settings = _settings(service, dict(env))
    factory = _worker_factory(service)
    made: list[Subscription] = []
    running: list[str] = []
    runtimes: list[Runtime] = []
    # Faust apps (the risk stream) consume through faust's own consumer, not Runtime.consumer: every
    # app the worker builds is recorded and read for its agents' topics and tables (nothing is started).
    faust_apps: list[faust.App] = []
    make_consumer = Runtime.consumer
    make_faust_app = faust.App.__init__

    def recording_faust_app(self, *args, **kwargs):
        make_faust_app(self, *args, **kwargs)
        faust_apps.append(self)

    def recording_consumer(self, name, topics=None, pattern=None):
        made.append(Subscription(self.group(name), tuple(topics or ()), pattern))
        return make_consumer(self, name, topics=topics, pattern=pattern)

    def idle_worker_app(runtime, consumers, *args, **kwargs):
        # Stands in for jmo_shared.runtime.worker_app: notes what would run, starts nothing.
        running.extend(c.group_id for c in consumers)
        runtimes.append(runtime)

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI):
            # As worker_app's: on the app whose lifespan runs (a service's own app may run this one's).
            app.state.runtime, app.state.readiness = runtime, runtime.readiness()
            yield

        app = FastAPI(lifespan=lifespan)
        app.state.runtime, app.state.readiness = runtime, runtime.readiness()
        return app

    async def run_lifespan() -> None:
        app = factory(settings)
        async with app.router.lifespan_context(app):
            pass
        for runtime in runtimes:
            await runtime.client.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Runtime, "consumer", recording_consumer)
        patch.setattr(faust.App, "__init__", recording_faust_app)
        patch.setattr(jmo_shared.kafka, "create_ssl_context", stand_in_ssl_context)
        patch.setattr(ssl, "create_default_context", stand_in_default_context)
        patch.setitem(factory.__globals__, "worker_app", idle_worker_app)
        # A thread of its own: asyncio.run must not touch pytest-asyncio's session loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, run_lifespan()).result(timeout=120)
    return (*(s for s in made if s.group in running), *faust_subscriptions(faust_apps))


@pytest.fixture(scope="session")
def consumed(scaled):
    """consumed(target) -> {"<service>-worker": the Subscriptions its process runs there}."""

    def by_worker(target: str) -> dict[str, tuple[Subscription, ...]]:
        docs = scaled(target)
        pods = services_pods(docs)
        return {
            f"{svc}-worker": _subscriptions(svc, tuple(sorted(process_env(docs, pods[f"{svc}-worker"]).items())))
            for svc in SERVICES
        }

    return functools.cache(by_worker)


def scaled_objects(docs: list[dict]) -> dict[str, dict]:
    """ScaledObjects by the Deployment they scale (a duplicate target fails here)."""
    found: dict[str, dict] = {}
    for so in of_kind(docs, "ScaledObject"):
        name = so["spec"]["scaleTargetRef"]["name"]
        assert name not in found, f"two ScaledObjects scale {name}"
        found[name] = so
    return found


def kafka_triggers(so: dict) -> list[dict]:
    triggers = so["spec"]["triggers"]
    assert triggers and all(t["type"] == "kafka" for t in triggers), so["metadata"]["name"]
    return triggers


# --- schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_overlay_includes_the_keda_component(scaled, target):
    """Each overlay lists the component and its environment part (test_manifests validates what they render)."""
    listed = yaml.safe_load((K8S / target / "kustomization.yaml").read_text()).get("components", [])
    assert {(K8S / target / c).resolve() for c in listed} >= {KEDA.resolve(), ENVIRONMENT_COMPONENT[target].resolve()}
    assert {"ScaledObject", "TriggerAuthentication"} <= {d["kind"] for d in scaled(target)}


def test_keda_schemas_reject_mistakes(scaled):
    docs = scaled("overlays/prod")
    so, auth = of_kind(docs, "ScaledObject")[0], of_kind(docs, "TriggerAuthentication")[0]
    mistakes = (
        (so, lambda d: d["spec"].__setitem__("maxReplicas", d["spec"].pop("maxReplicaCount"))),
        (so, lambda d: d["spec"]["triggers"][0].pop("type")),
        (so, lambda d: d["spec"]["triggers"][0]["metadata"].__setitem__("lagThreshold", 200)),  # strings only
        (so, lambda d: d["spec"]["scaleTargetRef"].__setitem__("containerName", "app")),  # KEDA 1.x spelling
        (auth, lambda d: d["spec"]["secretTargetRef"][0].pop("key")),
        (auth, lambda d: d["spec"].__setitem__("secretTargetRefs", d["spec"].pop("secretTargetRef"))),
    )
    for doc, mutate in mistakes:
        validate(doc, KUBERNETES_VERSIONS[-1])
        broken = json.loads(json.dumps(doc))
        mutate(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken, KUBERNETES_VERSIONS[-1])


# --- targets ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_each_consuming_worker_has_exactly_one_scaled_object(scaled, consumed, target):
    docs = scaled(target)
    pods, subscriptions, objects = services_pods(docs), consumed(target), scaled_objects(docs)
    consuming = {worker for worker, subs in subscriptions.items() if subs}
    assert consuming, "the recorder saw no consumer at all"
    # A worker without a consumer group (helpdesk: outbox relay and SLA sweep) has no lag to scale on.
    assert set(objects) == consuming
    for worker, so in objects.items():
        deployment = pods[worker]
        assert so["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": worker,
            "envSourceContainerName": container(deployment)["name"],
        }
        assert so["metadata"]["namespace"] == deployment["metadata"]["namespace"]
        assert so["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"


@pytest.mark.parametrize("target", TARGETS)
def test_triggers_watch_exactly_the_groups_and_topics_the_worker_consumes(scaled, consumed, target):
    subscriptions = consumed(target)
    for worker, so in scaled_objects(scaled(target)).items():
        for sub in subscriptions[worker]:
            assert sub.reads(), f"{sub.group} reads no topic of topics.py"
        expected = {(sub.group, topic) for sub in subscriptions[worker] for topic in sub.reads()}
        watched = [(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in kafka_triggers(so)]
        assert len(watched) == len(set(watched)), f"{worker}: a (group, topic) watched twice"
        assert set(watched) == expected, f"{worker}: missing {expected - set(watched)}, extra {set(watched) - expected}"


@pytest.mark.parametrize("target", TARGETS)
def test_replicas_stay_within_the_partitions_of_every_topic_read(scaled, target):
    docs = scaled(target)
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(docs, "KafkaTopic")}
    assert partitions == {t.name: t.partitions for t in TOPICS}
    deployments = by_name(docs, "Deployment")
    for worker, so in scaled_objects(docs).items():
        spec = so["spec"]
        topics = {t["metadata"]["topic"] for t in kafka_triggers(so)}
        # Never zero: the worker also runs its service's outbox relay.
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= min(partitions[t] for t in topics), worker
        assert "idleReplicaCount" not in spec, worker
        # What `kubectl apply` sets must be a count KEDA would keep.
        assert spec["minReplicaCount"] <= deployments[worker]["spec"]["replicas"] <= spec["maxReplicaCount"], worker
        if target == "overlays/dev":
            assert spec["maxReplicaCount"] == 1, "dev runs one of everything"
        else:
            assert spec["minReplicaCount"] >= 2, "prod runs at least two of every process"


@pytest.mark.parametrize("target", TARGETS)
def test_no_hpa_fights_a_scaled_object(scaled, target):
    docs = scaled(target)
    hpa_targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(docs, "HorizontalPodAutoscaler")}
    assert hpa_targets, "the APIs keep their CPU HPAs"
    assert not hpa_targets & set(scaled_objects(docs))


# --- how KEDA reads the lag ---------------------------------------------------------------


def _consumer_offset_reset() -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jmo_shared.consumer, "AIOKafkaConsumer", lambda *topics, **options: options)
        patch.setattr(jmo_shared.consumer, "with_paced_metadata", lambda client: client)
        options = IdempotentConsumer(None, "broker:9092", "group", topics=["topic"])._make_consumer()
    return options["auto_offset_reset"]


@pytest.mark.parametrize("target", TARGETS)
def test_lag_is_measured_the_way_the_consumers_read(scaled, target):
    max_records = inspect.signature(IdempotentConsumer).parameters["max_records"].default
    reset = _consumer_offset_reset()
    for so in of_kind(scaled(target), "ScaledObject"):
        for trigger in kafka_triggers(so):
            meta = trigger["metadata"]
            # Below one poll's worth of records a worker is merely busy; see scaledobjects.yaml.
            assert int(meta["lagThreshold"]) >= max_records, so["metadata"]["name"]
            assert meta["offsetResetPolicy"] == reset
            assert meta.get("allowIdleConsumers", "false") == "false"
            assert meta["excludePersistentLag"] == "true"


def _allows(acls: list[dict], kind: str, name: str) -> bool:
    for acl in acls:
        resource = acl["resource"]
        if acl.get("type", "allow") != "allow" or resource["type"] != kind or "Describe" not in acl["operations"]:
            continue
        if resource.get("patternType", "literal") == "prefix" and name.startswith(resource["name"]):
            return True
        if resource.get("patternType", "literal") == "literal" and resource["name"] in (name, "*"):
            return True
    return False


@pytest.mark.parametrize("target", TARGETS)
def test_keda_reaches_the_brokers_of_this_environment(scaled, target):
    docs = scaled(target)
    assert not of_kind(docs, "Secret"), "Secrets are created out of band, never rendered"
    (namespace,) = of_kind(docs, "Namespace")
    (kafka,) = of_kind(docs, "Kafka")
    cluster, listeners = kafka["metadata"]["name"], kafka["spec"]["kafka"]["listeners"]
    auths, users, pods = by_name(docs, "TriggerAuthentication"), by_name(docs, "KafkaUser"), services_pods(docs)
    for worker, so in scaled_objects(docs).items():
        env = process_env(docs, pods[worker])  # what KEDA resolves from the worker's container
        for trigger in kafka_triggers(so):
            meta, ref = trigger["metadata"], trigger["authenticationRef"]
            assert "bootstrapServers" not in meta and ref.get("kind") in (None, "TriggerAuthentication")
            auth = auths[ref["name"]]["spec"]
            # KEDA runs in its own namespace: the bootstrap Service must be namespace-qualified.
            host, port = env[meta["bootstrapServersFromEnv"]].rsplit(":", 1)
            assert host == f"{cluster}-kafka-bootstrap.{namespace['metadata']['name']}.svc", worker
            (listener,) = [lst for lst in listeners if lst["port"] == int(port)]
            params = {e["parameter"]: env[e["name"]] for e in auth.get("env", [])}
            params |= {s["parameter"]: (s["name"], s["key"]) for s in auth.get("secretTargetRef", [])}
            assert params["tls"] == ("enable" if listener["tls"] else "disable"), worker
            peers = listener.get("networkPolicyPeers")
            if peers is not None:  # Strimzi admits only these peers to the listener
                assert any(
                    p.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": KEDA_NAMESPACE}
                    for p in peers
                ), f"{listener['name']} does not admit KEDA"
            if "authentication" not in listener:
                assert target == "overlays/dev", "prod: KEDA authenticates (TLS client certificate)"
                continue
            assert listener["authentication"]["type"] == "tls" and listener["tls"] is True
            assert params["ca"] == (f"{cluster}-cluster-ca-cert", "ca.crt")
            (user_secret, _), (key_secret, _) = params["cert"], params["key"]
            assert (params["cert"][1], params["key"][1]) == ("user.crt", "user.key")
            assert user_secret == key_secret and users[user_secret]["spec"]["authentication"]["type"] == "tls"
            acls = users[user_secret]["spec"]["authorization"]["acls"]
            assert {op for acl in acls for op in acl["operations"]} == {"Describe"}, "offsets only, no messages"
            assert _allows(acls, "group", meta["consumerGroup"]), meta["consumerGroup"]
            assert _allows(acls, "topic", meta["topic"]), meta["topic"]


def test_prod_keda_listener_is_its_own(scaled):
    """KEDA gets a listener of its own; the services' one (SCRAM users) still admits only them."""
    (kafka,) = of_kind(scaled("overlays/prod"), "Kafka")
    listeners = {lst["name"]: lst for lst in kafka["spec"]["kafka"]["listeners"]}
    services = listeners["services"]
    assert services["networkPolicyPeers"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "jmo"}}}]
    scaler = listeners["scaler"]
    assert scaler["type"] == "internal" and scaler["tls"] is True and scaler["authentication"] == {"type": "tls"}
    assert scaler["networkPolicyPeers"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KEDA_NAMESPACE}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}},
        }
    ]
