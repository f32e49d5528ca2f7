"""The prod NetworkPolicies, evaluated for each service pod as a CNI would select them."""

from __future__ import annotations

import pytest
from deploy_support import (
    API_ONLY,
    API_PORTS,
    BACKOFFICE_UPSTREAM_APIS,
    BACKOFFICE_UPSTREAM_METRICS,
    SERVICES,
    WORKER_PORTS,
    by_name,
    deployed_pods,
    of_kind,
)

# The only pods that may leave the cluster, where to and on which port: profile's API asks the banks'
# account-inquiry gateway (HTTPS); notify's worker hands its e-mails to the SMTP relay (submission, STARTTLS).
EXTERNAL = {
    "profile": ("bank-gateway", {("TCP", 443)}),
    "notify-worker": ("smtp-relay", {("TCP", 587)}),
}


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


def _labels(deployment: dict) -> dict:
    return deployment["spec"]["template"]["metadata"]["labels"]


def _backoffice_upstreams(pods: dict[str, dict]) -> dict[str, tuple[dict, int]]:
    """What the back office calls: the services' APIs and the workers whose /metrics it reads."""
    upstreams = {f"{svc}-api": (_labels(pods[svc]), API_PORTS[svc]) for svc in BACKOFFICE_UPSTREAM_APIS}
    upstreams |= {
        f"{svc}-metrics": (_labels(pods[f"{svc}-worker"]), WORKER_PORTS[svc]) for svc in BACKOFFICE_UPSTREAM_METRICS
    }
    return upstreams


def test_prod_services_reach_only_the_broker_their_database_dns_identity_and_the_collector(prod):
    policies = of_kind(prod, "NetworkPolicy")
    pods = deployed_pods(prod)
    broker = {"strimzi.io/cluster": "jmo", "strimzi.io/kind": "Kafka", "strimzi.io/broker-role": "true"}
    mongo = {"app": "jmo-mongo-svc"}
    identity_api = pods["identity"]["spec"]["template"]["metadata"]["labels"]
    upstreams = _backoffice_upstreams(pods)
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
                assert name in EXTERNAL, f"{name} may leave the cluster"
                where, allowed = EXTERNAL[name]
                assert ports == allowed, name
                reachable.add(where)
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
            elif name in API_ONLY and (
                called := [u for u, (lbl, _) in upstreams.items() if _selects(peer["podSelector"], lbl)]
            ):
                (upstream,) = called
                assert ports == {("TCP", upstreams[upstream][1])}, (name, upstream)
                reachable.add(upstream)
            else:
                pytest.fail(f"{name} may reach {peer}")
        if name in API_ONLY:
            # No Kafka and no member tokens (no JWKS): its database, and what its pages are made of.
            assert reachable == {"mongodb", "dns", "otel-collector", *upstreams}, name
        else:
            assert {"kafka", "mongodb", "dns", "otel-collector"} <= reachable, name
        if name in EXTERNAL:
            assert EXTERNAL[name][0] in reachable, name


def test_prod_mongodb_and_identity_accept_only_the_services(prod):
    policies = by_name(prod, "NetworkPolicy")
    mongo_rules = policies["mongodb-from-services"]["spec"]["ingress"]
    service_peer = mongo_rules[0]["from"][0]["podSelector"]
    for svc in (*SERVICES, *API_ONLY):
        assert _selects(service_peer, {"app.kubernetes.io/name": svc})
    assert not _selects(service_peer, {"app.kubernetes.io/name": "banksim"})
    jwks = policies["identity-jwks-from-services"]["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert all(_selects(jwks, {"app.kubernetes.io/name": svc}) for svc in SERVICES if svc != "identity")
    assert not any(_selects(jwks, {"app.kubernetes.io/name": svc}) for svc in API_ONLY)


def _ingress(policies: list[dict], labels: dict) -> list[tuple[dict, set]]:
    """(peer, ports) a pod with these labels accepts; ports are (protocol, number or name); empty = any."""
    return [
        (peer, {(port.get("protocol", "TCP"), port["port"]) for port in rule.get("ports", [])})
        for p in policies
        if "Ingress" in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], labels)
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
    ]


def test_prod_back_office_is_let_in_from_the_gateway_and_only_where_it_calls(prod):
    policies = of_kind(prod, "NetworkPolicy")
    pods = deployed_pods(prod)
    upstreams = _backoffice_upstreams(pods)
    for svc in API_ONLY:
        mine = _labels(pods[svc])
        gateway = {"matchLabels": {"jmo.io/api-gateway": "true"}}
        assert any(
            peer.get("namespaceSelector") == gateway and "podSelector" not in peer and ports == {("TCP", "http")}
            for peer, ports in _ingress(policies, mine)
        ), svc
        for name, deployment in pods.items():
            target = next((u for u, (lbl, _) in upstreams.items() if lbl == _labels(deployment)), None)
            from_me = [
                ports
                for peer, ports in _ingress(policies, _labels(deployment))
                if "namespaceSelector" not in peer and _selects(peer.get("podSelector", {}), mine)
            ]
            if target is None:
                assert not from_me, f"{name} lets {svc} in"
            else:
                port = upstreams[target][1]
                assert from_me and all(p <= {("TCP", "http"), ("TCP", port)} and p for p in from_me), (name, from_me)
