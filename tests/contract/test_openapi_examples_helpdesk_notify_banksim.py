"""The examples in helpdesk's, notify's and the bank simulator's OpenAPI documents are valid answers.

Every model a route of theirs answers with (and every model inside one) that carries examples is
found from the apps' routes, and each example is validated against its model: an example cannot
drift from the model it illustrates. A model without examples has none to check; the OpenAPI
contract test asks for one on every success.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from jmo_local.openapi_clients import APPS

SERVICES = ("helpdesk", "notify", "banksim")


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
        return
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def answers(service: str) -> Iterator[tuple[str, Any]]:
    """(path, response model) of every route of the service's app that has one (included routers too)."""
    for context in iter_route_contexts(APPS[service]().routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.response_model is not None:
            yield context.path, route.response_model


def answer_models(service: str) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for _path, response_model in answers(service):
        for model in _models_in(response_model):
            found.setdefault(f"{model.__module__}.{model.__qualname__}", model)
    return [found[name] for name in sorted(found)]


def examples_of(model: type[BaseModel]) -> list[Any]:
    extra = model.model_config.get("json_schema_extra")
    return list(extra.get("examples", [])) if isinstance(extra, dict) else []


CASES = [
    pytest.param(model, n, example, id=f"{service}-{model.__name__}-{n}")
    for service in SERVICES
    for model in answer_models(service)
    for n, example in enumerate(examples_of(model))
]


@pytest.mark.parametrize("model,n,example", CASES)
def test_each_example_is_valid_for_its_model(model: type[BaseModel], n: int, example: Any) -> None:
    answer = model.model_validate(example)
    # Nothing in the example the model does not know (it would vanish from a real answer).
    assert answer.model_dump(mode="json", exclude_unset=True).keys() == example.keys()


def test_every_answer_of_these_services_has_an_example() -> None:
    paths = set()
    for service in SERVICES:
        for path, model in answers(service):
            named = typing.get_args(model)[0] if typing.get_origin(model) is list else model
            assert examples_of(named), (service, path)
            paths.add((service, path))
    assert {("helpdesk", "/v1/complaints"), ("notify", "/v1/notifications"), ("banksim", "/sim/transfers")} <= paths
