"""Kafka with identities in prod (components/kafka-identities): who each service connects as, and what it may do.

Each process's connection comes from jmo_shared.kafka.client_options run on the rendered Deployment's
environment; what a service reads comes from its own worker factory (test_autoscaling's recorder),
what it publishes from the events it declares (jmo_shared.events.<service>).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import PurePosixPath

from deploy_support import API_ONLY, SERVICES, by_name, container, deployed_pods, env_of, of_kind, services_pods
from test_autoscaling import _settings, consumed, process_env, scaled  # noqa: F401 - fixtures used here

import jmo_shared.kafka
from jmo_shared.events.base import EventData
from jmo_shared.kafka import client_options
from jmo_shared.topics import PARTNER_BANKS, RISK_APP_ID, RISK_SIGNALS, TOPICS, bank_topic, risk_stream_topics

CLUSTER_CA_SECRET = "jmo-cluster-ca-cert"
# Services that declare no events (no jmo_shared.events.<service>, no outbox relay): no Write at all.
PUBLISH_NOTHING = {"notify"}


def _published(service: str) -> set[str]:
    """The topics of the events a service declares; an event without a fixed topic goes to every bank's."""
    if service in PUBLISH_NOTHING:
        assert importlib.util.find_spec(f"jmo_shared.events.{service}") is None, f"{service} now declares events"
        return set()
    module = importlib.import_module(f"jmo_shared.events.{service}")
    events = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, EventData) and value.__module__ == module.__name__
    ]
    assert events, service
    return {e.topic for e in events if e.topic} | (
        {bank_topic(code) for code in PARTNER_BANKS} if any(e.topic is None for e in events) else set()
    )


def _streamed(subscriptions) -> set[str]:
    """What a faust app writes besides its events: its tables' changelogs, and the topics it reads that are
    its own (named after its app id, e.g. risk.signals: the agents re-key what they read onto it)."""
    written: set[str] = set()
    for sub in subscriptions:
        if sub.changelogs:  # a faust app
            own = {t.name for t in TOPICS if t.name.startswith((f"{sub.group}.", f"{sub.group}-"))}
            written |= own & {*sub.reads(), *sub.changelogs}
    return written


def _allows(acls: list[dict], kind: str, name: str, operation: str) -> bool:
    implied = {"Describe": {"Describe", "Read", "Write", "All"}}.get(operation, {operation, "All"})
    for acl in acls:
        resource = acl["resource"]
        if acl.get("type", "allow") != "allow" or resource["type"] != kind or not implied & set(acl["operations"]):
            continue
        pattern = resource.get("patternType", "literal")
        if (pattern == "literal" and resource["name"] in (name, "*")) or (
            pattern == "prefix" and name.startswith(resource["name"])
        ):
            return True
    return False


def test_no_prod_listener_is_anonymous(prod):
    (kafka,) = of_kind(prod, "Kafka")
    spec = kafka["spec"]["kafka"]
    for listener in spec["listeners"]:
        assert listener["tls"] is True, listener["name"]
        assert listener.get("authentication", {}).get("type") in ("scram-sha-512", "tls"), listener["name"]
    assert spec["authorization"]["type"] == "simple"
    assert not spec["authorization"].get("superUsers"), "no super user but Strimzi's own operators"
    assert "ANONYMOUS" not in str(kafka)


def test_every_prod_service_process_connects_as_its_own_kafka_user(prod, monkeypatch):
    (kafka,) = of_kind(prod, "Kafka")
    (config,) = of_kind(prod, "ConfigMap")
    (listener,) = [
        lst
        for lst in kafka["spec"]["kafka"]["listeners"]
        if lst["port"] == int(config["data"]["KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])
    ]
    users = by_name(prod, "KafkaUser")
    cafiles: list[str] = []
    monkeypatch.setattr(
        jmo_shared.kafka, "create_ssl_context", lambda cafile=None, **_: cafiles.append(cafile) or "context"
    )
    seen: dict[str, str] = {}
    for name, deployment in services_pods(prod).items():
        service = name.removesuffix("-worker")
        options = client_options(_settings(service, process_env(prod, deployment)))
        user = f"{service}-kafka"
        assert options == {
            "security_protocol": "SASL_SSL",  # what the listener speaks: TLS, then SCRAM
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": user,
            "sasl_plain_password": "stand-in-for-the-kafka-user-password",
            "ssl_context": "context",
        }, name
        assert (listener["tls"], listener["authentication"]["type"]) == (True, "scram-sha-512")
        assert seen.setdefault(user, service) == service, f"{name} shares {user}"
        # The password is the one Strimzi wrote for this service's user, and nothing starts without it.
        password = env_of(deployment)["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": user, "key": "password", "optional": False}, name
        assert users[user]["spec"]["authentication"] == {"type": "scram-sha-512"}
        # The brokers' certificates are checked against the cluster CA, mounted from Strimzi's Secret.
        cafile = PurePosixPath(cafiles[-1])
        (mount,) = [m for m in container(deployment)["volumeMounts"] if cafile.parent == PurePosixPath(m["mountPath"])]
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] == CLUSTER_CA_SECRET and {"key": "ca.crt", "path": cafile.name} in secret["items"]
    assert set(seen.values()) == set(SERVICES)


def test_each_service_user_may_use_exactly_its_own_topics_and_groups(prod, consumed):
    users = by_name(prod, "KafkaUser")
    subscriptions = consumed("overlays/prod")
    groups = {svc: {sub.group for sub in subscriptions[f"{svc}-worker"]} for svc in SERVICES}
    for svc in SERVICES:
        acls = users[f"{svc}-kafka"]["spec"]["authorization"]["acls"]
        assert {op for acl in acls for op in acl["operations"]} <= {"Read", "Write", "Describe"}, svc
        assert all(acl.get("type", "allow") == "allow" for acl in acls), svc
        reads = {topic for sub in subscriptions[f"{svc}-worker"] for topic in (*sub.reads(), *sub.changelogs)}
        writes = _published(svc) | _streamed(subscriptions[f"{svc}-worker"])
        for topic in (t.name for t in TOPICS):
            assert _allows(acls, "topic", topic, "Read") == (topic in reads), (svc, topic, "Read")
            assert _allows(acls, "topic", topic, "Write") == (topic in writes), (svc, topic, "Write")
        for other, theirs in groups.items():
            for group in theirs:
                assert _allows(acls, "group", group, "Read") == (other == svc), (svc, group)
        assert not any(acl["resource"]["type"] in ("cluster", "transactionalId") for acl in acls), svc


def test_helpdesk_runs_no_consumer_group(consumed):
    """So its user has no group ACL at all (and if it gets a consumer, the test above asks for one)."""
    assert consumed("overlays/prod")["helpdesk-worker"] == ()


def test_the_risk_worker_runs_its_faust_app(consumed):
    """The recorder sees faust's consumer too: one group (the app id) over the agents' topics, and the changelogs."""
    (stream,) = consumed("overlays/prod")["risk-worker"]
    assert stream.group == RISK_APP_ID and RISK_SIGNALS in stream.reads()
    assert set(stream.changelogs) == {t.name for t in risk_stream_topics() if t.name.endswith("-changelog")}


def test_notify_publishes_nothing_so_its_worker_runs_no_outbox_relay():
    """So its user has no Write ACL (the test above); if it gets events, PUBLISH_NOTHING must lose it."""
    source = inspect.getsource(importlib.import_module("jmo_notify.entrypoints.worker"))
    assert "relay=False" in source
    assert importlib.util.find_spec("jmo_shared.events.notify") is None


def test_api_only_services_have_no_kafka_user(prod):
    users = by_name(prod, "KafkaUser")
    pods = deployed_pods(prod)
    for svc in API_ONLY:
        assert f"{svc}-kafka" not in users, svc
        env = env_of(pods[svc])
        assert "KAFKA_SASL_USERNAME" not in env and "KAFKA_SASL_PASSWORD" not in env, svc


def test_dev_stays_without_identities(dev):
    for name, deployment in services_pods(dev).items():
        assert process_env(dev, deployment).get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") == "PLAINTEXT", name
    assert not [user for user in by_name(dev, "KafkaUser") if user.endswith("-kafka")]
