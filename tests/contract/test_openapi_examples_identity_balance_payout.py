"""The examples in the OpenAPI documents of identity, balance and payout are answers their models accept.

An example sits on the pydantic model (`model_config = ConfigDict(json_schema_extra={"examples": [...]})`),
so it reaches the document as the component schema's `examples`. Each component with examples is
mapped back to the model it was made from (every model a documented route takes or answers, and
the models inside those) and each example must validate as that model and come back unchanged: a
renamed, retyped or dropped field makes the example fail here instead of misleading a gateway team.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from jmo_local.openapi_clients import APPS
from jmo_shared.http import Problem

SERVICES = ("identity", "balance", "payout")
# Put in every document by jmo_shared.http rather than by a route: the error answer.
DOCUMENT_MODELS: tuple[type[BaseModel], ...] = (Problem,)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation names, however nested (list[X], X | None, dict[str, X], ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _route_models(app: FastAPI) -> Iterator[type[BaseModel]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        yield from _models_in(route.response_model)
        for response in route.responses.values():
            yield from _models_in(response.get("model"))
        for param in route.dependant.body_params:
            yield from _models_in(param.field_info.annotation)


def documented_models(app: FastAPI) -> dict[str, type[BaseModel]]:
    """Every model the app's document is made of, by its component name (the class name)."""
    found: dict[str, type[BaseModel]] = {}
    todo = [*_route_models(app), *DOCUMENT_MODELS]
    while todo:
        model = todo.pop()
        known = found.get(model.__name__)
        if known is model:
            continue
        assert known is None, f"two models named {model.__name__}: {known} and {model}"
        found[model.__name__] = model
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return found


def _component_name(name: str) -> str:
    # FastAPI splits a model whose input and output schemas differ into `Name-Input` / `Name-Output`.
    return name.removesuffix("-Input").removesuffix("-Output")


def _examples(service: str) -> Iterator[tuple[str, type[BaseModel], int, dict[str, Any]]]:
    app = APPS[service]()
    models = documented_models(app)
    for name, schema in app.openapi()["components"]["schemas"].items():
        for n, example in enumerate(schema.get("examples", [])):
            model = models.get(_component_name(name))
            assert model is not None, f"{service}: component {name} has examples but no model was found for it"
            yield name, model, n, example


CASES = [
    pytest.param(model, example, id=f"{service}-{name}-{n}")
    for service in SERVICES
    for name, model, n, example in _examples(service)
]


@pytest.mark.parametrize(("model", "example"), CASES)
def test_each_example_is_an_answer_its_model_accepts(model: type[BaseModel], example: dict[str, Any]) -> None:
    value = model.model_validate(example)
    # Nothing in the example that the model drops or reshapes (a stale field name, a wrong type).
    assert value.model_dump(mode="json", exclude_unset=True) == example


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_answer_of_the_service_has_examples(service: str) -> None:
    doc = APPS[service]().openapi()
    with_examples = {name for name, schema in doc["components"]["schemas"].items() if schema.get("examples")}
    missing = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if not status.startswith("2") or not schema:
                    continue
                named = schema.get("items", schema) if schema.get("type") == "array" else schema
                ref = named.get("$ref", "")
                if ref.rsplit("/", 1)[-1] not in with_examples:
                    missing.append((method, path, status, ref))
    assert not missing, missing


def test_the_examples_are_checked_for_every_service() -> None:
    covered = {case.id.split("-", 1)[0] for case in CASES}
    assert covered == set(SERVICES)
