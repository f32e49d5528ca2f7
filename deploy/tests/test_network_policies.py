"""The prod NetworkPolicies, evaluated for each service pod as a CNI would select them."""

from __future__ import annotations

import pytest
from deploy_support import API_PORTS, SERVICES, by_name, of_kind, services_pods


def _selects(selector: dict, labels: dict) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and labels.get(expr["key"]) in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


def test_prod_services_reach_only_the_broker_their_database_dns_identity_and_the_collector(prod):
    policies = of_kind(prod, "NetworkPolicy")
    pods = services_pods(prod)
    broker = {"strimzi.io/cluster": "jmo", "strimzi.io/kind": "Kafka", "strimzi.io/broker-role": "true"}
    mongo = {"app": "jmo-mongo-svc"}
    identity_api = pods["identity"]["spec"]["template"]["metadata"]["labels"]
    for name, deployment in pods.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        # Default deny both ways for every service pod.
        assert any(
            set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
            for p in mine
        ), name
        egress = [
            (peer, {(port["protocol"], port["port"]) for port in rule["ports"]})
            for p in mine
            if "Egress" in p["spec"]["policyTypes"]
            for rule in p["spec"].get("egress", [])
            for peer in rule["to"]
        ]
        reachable = set()
        for peer, ports in egress:
            if "ipBlock" in peer:
                assert name == "profile", f"{name} may leave the cluster"
                assert ports == {("TCP", 443)}
                reachable.add("bank-gateway")
            elif peer.get("namespaceSelector") == {"matchLabels": {"jmo.io/monitoring": "true"}}:
                # Spans only: the collector's OTLP/HTTP port, not the whole monitoring namespace.
                assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "opentelemetry-collector"}}
                assert ports == {("TCP", 4318)}
                reachable.add("otel-collector")
            elif "namespaceSelector" in peer:
                assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
                assert ports == {("UDP", 53), ("TCP", 53)}
                reachable.add("dns")
            elif _selects(peer["podSelector"], broker):
                assert ports == {("TCP", 9092)}
                reachable.add("kafka")
            elif _selects(peer["podSelector"], mongo):
                assert ports == {("TCP", 27017)}
                reachable.add("mongodb")
            elif _selects(peer["podSelector"], identity_api):
                assert ports == {("TCP", API_PORTS["identity"])}
                reachable.add("identity-jwks")
            else:
                pytest.fail(f"{name} may reach {peer}")
        assert {"kafka", "mongodb", "dns", "otel-collector"} <= reachable, name


def test_prod_mongodb_and_identity_accept_only_the_services(prod):
    policies = by_name(prod, "NetworkPolicy")
    mongo_rules = policies["mongodb-from-services"]["spec"]["ingress"]
    service_peer = mongo_rules[0]["from"][0]["podSelector"]
    for svc in SERVICES:
        assert _selects(service_peer, {"app.kubernetes.io/name": svc})
    assert not _selects(service_peer, {"app.kubernetes.io/name": "banksim"})
    jwks = policies["identity-jwks-from-services"]["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert all(_selects(jwks, {"app.kubernetes.io/name": svc}) for svc in SERVICES if svc != "identity")
