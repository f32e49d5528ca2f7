"""Every service's OpenAPI document is one a gateway team can generate a client from and code against.

The documents are taken from the apps (create_api in each service's entrypoints/api.py) without
starting them. Checked on every operation: a bearer-token scheme and per-operation security (public
operations say so with `security: []`), camelCase operationIds named after the route function and
unique per document, tags, every error response a Problem as application/problem+json (with the
statuses an operation can answer: 401/403 when it takes a token, 422 when it takes input, 404 with
a path id, 409 with an Idempotency-Key, 429 where throttled), FastAPI's HTTPValidationError nowhere,
the Idempotency-Key marked required where the API requires one. Then clients are generated from
them with openapi-python-client (PyPI) and imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from jmo_local.openapi_clients import APPS
from jmo_shared.http import PROBLEM, current_principal

METHODS = {"get", "put", "post", "delete", "patch"}
PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}

# Operations anyone may call: probes, the keys tokens are checked with, getting a token in the first
# place, public information, the partner bank's signed reports, and the bank simulator (tests only).
PUBLIC = {
    "identity": {
        ("post", "/v1/accounts"),
        ("post", "/v1/accounts/recovery"),
        ("post", "/v1/accounts/recovery/{recovery_id}/confirm"),
        ("post", "/v1/auth/login"),
        ("post", "/v1/auth/refresh"),
        ("post", "/v1/auth/logout"),
        ("post", "/v1/auth/password-reset"),
        ("post", "/v1/auth/password-reset/confirm"),
        ("get", "/.well-known/jwks.json"),
    },
    "balance": {("get", "/v1/card/keys")},
    "payout": {("post", "/v1/bank/notifications")},
    "helpdesk": {
        ("get", "/v1/places"),
        ("get", "/v1/places/{place_id}"),
        ("get", "/v1/programs"),
        ("get", "/v1/programs/{code}"),
    },
    "banksim": {
        ("post", "/sim/accounts"),
        ("get", "/sim/accounts/{bank_code}/{account_number}"),
        ("post", "/sim/account-inquiry"),
        ("get", "/sim/behaviour"),
        ("post", "/sim/behaviour"),
        ("get", "/sim/transfers"),
        ("get", "/sim/statements/{bank_code}"),
    },
}
OPERATIONAL = {("get", "/healthz"), ("get", "/readyz")}

# Where the API answers 429 (it throttles these).
THROTTLED = {
    "identity": {
        ("post", "/v1/accounts"),
        ("post", "/v1/accounts/recovery"),
        ("post", "/v1/accounts/recovery/{recovery_id}/confirm"),
        ("post", "/v1/accounts/me/contact/verifications"),
        ("post", "/v1/accounts/me/contact/changes"),
        ("post", "/v1/auth/login"),
        ("post", "/v1/auth/password-reset"),
        ("post", "/v1/auth/password-reset/confirm"),
    },
    "profile": {("put", "/v1/profile/updates/{update_id}/tax-bank")},
}

# Idempotency-Key: required (True) or optional (False), by operation.
IDEMPOTENCY_KEYS = {
    ("claims", "post", "/v1/claims"): True,
    ("helpdesk", "post", "/v1/complaints"): True,
    ("balance", "post", "/v1/balance/merges"): False,
}


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {name: build() for name, build in APPS.items()}


@pytest.fixture(scope="module")
def documents(apps: dict[str, FastAPI]) -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in apps.items()}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path, route) of every documented route, as mounted (FastAPI keeps included routers whole)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                yield method.lower(), route.path, route


def takes_a_token(dependant: Dependant) -> bool:
    """Whether the route depends, however deep, on jmo_shared.http's current_principal (so on
    current_member, require_role and the services' own wrappers of them)."""
    return any(dep.call is current_principal or takes_a_token(dep) for dep in dependant.dependencies)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def test_every_service_is_documented(documents: dict[str, dict[str, Any]]) -> None:
    assert set(documents) == set(APPS)
    for name, doc in documents.items():
        assert doc["openapi"].startswith("3."), name
        assert doc["info"]["title"] and doc["info"]["description"], name


def test_a_bearer_token_scheme_and_security_on_every_operation(
    apps: dict[str, FastAPI], documents: dict[str, dict[str, Any]]
) -> None:
    for name, app in apps.items():
        doc = documents[name]
        scheme = doc["components"]["securitySchemes"]["bearerAuth"]
        assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, name
        ops = {(method, path): op for method, path, op in operations(doc)}
        public = {(m, p) for m, p, route in routes(app) if not takes_a_token(route.dependant)}
        assert public == PUBLIC.get(name, set()) | OPERATIONAL, name
        for method, path, _ in routes(app):
            op = ops[(method, path)]
            if (method, path) in public:
                assert op["security"] == [], (name, method, path)
            else:
                assert op["security"] == [{"bearerAuth": []}], (name, method, path)


def test_operation_ids_are_the_route_names_in_camel_case_and_unique(
    apps: dict[str, FastAPI], documents: dict[str, dict[str, Any]]
) -> None:
    for name, app in apps.items():
        ops = {(method, path): op for method, path, op in operations(documents[name])}
        ids = [op["operationId"] for op in ops.values()]
        assert len(ids) == len(set(ids)), (name, sorted(ids))
        for method, path, route in routes(app):
            op_id = ops[(method, path)]["operationId"]
            assert op_id == camel(route.name), (name, method, path, op_id)
            assert re.fullmatch(r"[a-z][a-zA-Z0-9]+", op_id), (name, op_id)
            # A verb first, not a bare noun taken from the path (`places`, `eligibility`).
            assert re.match(
                r"(get|list|create|submit|upload|download|decide|confirm|start|enter|review|send|change|register|"
                r"login|logout|refresh|request|verify|check|receive|run|file|reply|close|mark|set|replay|clear|"
                r"open|inquire)[A-Z]|(login|logout)$",
                op_id,
            ), (name, op_id)
            assert ops[(method, path)].get("tags"), (name, method, path)


def test_every_error_is_a_problem(documents: dict[str, dict[str, Any]]) -> None:
    for name, doc in documents.items():
        assert "HTTPValidationError" not in json.dumps(doc), name
        problem = doc["components"]["schemas"]["Problem"]
        assert {"type", "title", "status", "detail", "code"} <= set(problem["required"]), name
        assert {"errors", "hint", "correlation_id"} <= set(problem["properties"]), name
        field_error = doc["components"]["schemas"]["ProblemFieldError"]
        assert set(field_error["required"]) == {"field", "code", "message"}, name
        for method, path, op in operations(doc):
            for status, response in op["responses"].items():
                if status[0] not in "45" or (path, status) == ("/readyz", "503"):
                    continue  # /readyz's 503 is its readiness answer, which says what is down
                assert response["content"] == PROBLEM_CONTENT, (name, method, path, status)
                assert response["description"], (name, method, path, status)


def test_the_errors_each_operation_can_answer_are_documented(documents: dict[str, dict[str, Any]]) -> None:
    for name, doc in documents.items():
        for method, path, op in operations(doc):
            if (method, path) in OPERATIONAL:
                continue
            statuses = set(op["responses"])
            params = op.get("parameters", [])
            expected = {"503"}
            if op["security"]:
                expected |= {"401", "403"}
            if params or "requestBody" in op:
                expected.add("422")
            if "{" in path:
                expected.add("404")
            if any(p["name"] == "Idempotency-Key" for p in params):
                expected |= {"400", "409"}
            if (method, path) in THROTTLED.get(name, set()):
                expected.add("429")
            assert expected <= statuses, (name, method, path, sorted(expected - statuses))
            assert any(s.startswith("2") for s in statuses), (name, method, path)


def test_idempotency_keys_are_marked_required_where_the_api_requires_one(
    documents: dict[str, dict[str, Any]],
) -> None:
    found = {}
    for name, doc in documents.items():
        for method, path, op in operations(doc):
            for param in op.get("parameters", []):
                if param["name"] == "Idempotency-Key":
                    assert param["in"] == "header"
                    found[(name, method, path)] = param.get("required", False)
                    if param.get("required"):
                        assert param["schema"]["type"] == "string", (name, path)
                else:
                    assert "x-jmo-required-in-document" not in json.dumps(param), (name, path)
    assert found == IDEMPOTENCY_KEYS


# Lists a caller pages through, each with `?page=&page_size=` and a `{items, page, page_size, total}` answer.
PAGED_LISTS = {
    ("claims", "/v1/claims"),
    ("claims", "/v1/review/claims"),
    ("risk", "/v1/risk/flags"),
    ("helpdesk", "/v1/places"),
    ("helpdesk", "/v1/complaints"),
    ("helpdesk", "/v1/officer/complaints"),
    ("profile", "/v1/profile/bank-account/changes"),
    ("notify", "/v1/notifications"),
    ("notify", "/v1/ops/notifications/dead-letters"),
}


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def json_successes(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if status.startswith("2") and "application/json" in response.get("content", {}):
                yield method, path, status, response["content"]["application/json"]


def test_every_success_is_typed_with_an_example(documents: dict[str, dict[str, Any]]) -> None:
    for name, doc in documents.items():
        for method, path, status, media in json_successes(doc):
            where = (name, method, path, status)
            schema = media.get("schema", {})
            named = schema.get("items", schema) if schema.get("type") == "array" else schema
            # A named model (a class in a generated client), not a bare object or a map of anything.
            assert "$ref" in named, where
            body = resolve(doc, named)
            assert body.get("properties"), where
            assert "example" in media or "examples" in media or body.get("examples"), where


def test_lists_are_paged_the_same_way_everywhere(documents: dict[str, dict[str, Any]]) -> None:
    found = set()
    for name, doc in documents.items():
        for method, path, op in operations(doc):
            if method != "get":
                continue
            params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
            body = resolve(doc, op["responses"]["200"]["content"].get("application/json", {}).get("schema", {}))
            paged = {"page", "page_size"} <= set(params)
            if not paged:
                assert "page_size" not in params, (name, path)
                continue
            found.add((name, path))
            assert params["page"]["schema"]["minimum"] == 1, (name, path)
            assert params["page_size"]["schema"]["maximum"] == 100, (name, path)
            assert {"items", "page", "page_size", "total"} <= set(body["required"]), (name, path)
            assert body["properties"]["items"]["type"] == "array", (name, path)
    assert PAGED_LISTS <= found, sorted(PAGED_LISTS - found)


@pytest.mark.parametrize("service", sorted(APPS))
def test_a_client_generated_from_the_document_imports(
    service: str, openapi_client: Callable[[str], ModuleType], documents: dict[str, dict[str, Any]]
) -> None:
    client = openapi_client(service)
    assert client.AuthenticatedClient and client.Client
    for _, _, op in operations(documents[service]):
        tag = re.sub(r"[^a-z0-9]+", "_", op["tags"][0].lower()).strip("_")
        module_name = re.sub(r"(?<!^)(?=[A-Z])", "_", op["operationId"]).lower()
        __import__(f"{client.__name__}.api.{tag}.{module_name}")


def test_the_generated_claims_client_speaks_the_contract(openapi_client: Callable[[str], ModuleType]) -> None:
    """The calls a gateway makes for a claim, as the generated client types them."""
    import inspect

    claims = openapi_client("claims")
    from importlib import import_module

    submit = import_module(f"{claims.__name__}.api.claims.submit_claim")
    get_claim = import_module(f"{claims.__name__}.api.claims.get_claim")
    models = import_module(f"{claims.__name__}.models")
    signature = inspect.signature(submit.asyncio_detailed)
    # The key is a required argument, and only an authenticated client may call.
    assert signature.parameters["idempotency_key"].default is inspect.Parameter.empty
    assert "AuthenticatedClient" in str(signature.parameters["client"].annotation)
    body = models.ClaimRequest.from_dict(
        {"reason": "resignation", "kpj": "12345678901", "document_ids": ["d1"], "verification_id": "v1"}
    )
    assert body.to_dict()["reason"] == "resignation"
    kwargs = submit._get_kwargs(body=body, idempotency_key="k-1")  # noqa: SLF001 - what goes on the wire
    assert (kwargs["method"], kwargs["url"], kwargs["headers"]["Idempotency-Key"]) == ("post", "/v1/claims", "k-1")
    problem = models.Problem.from_dict(
        {
            "type": "https://errors.jmo.bpjsketenagakerjaan.go.id/open_claim_exists",
            "title": "open claim exists",
            "status": 409,
            "detail": "a claim is open",
            "code": "open_claim_exists",
            "errors": [],
            "retry_after": 3,
        }
    )
    assert (problem.code, problem.additional_properties) == ("open_claim_exists", {"retry_after": 3})
    assert "ClaimAnswer" in str(inspect.signature(get_claim.asyncio).return_annotation)
