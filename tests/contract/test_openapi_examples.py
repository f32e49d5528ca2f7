"""The examples in every service's OpenAPI document are answers its models accept.

An example sits on its pydantic model (`model_config = ConfigDict(json_schema_extra={"examples": [...]})`)
and reaches the document as the component schema's `examples`. Here every model a documented route
takes or answers, and every model inside those (however nested: lists, optionals, pages), has each
of its examples validated as that model, read from the model itself (the served document leaves
out null values). A renamed or retyped field fails validation; a key the model does not know, which
pydantic would drop from a real answer, fails too; a page's deprecated alias of `items` (`claims`,
`complaints`, `changes`) must hold the same items. That every 2xx answer has an example at all is
`test_openapi_documents.py::test_every_success_is_typed_with_an_example`.
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

# Put in every document by jmo_shared.http rather than by a route: the error answer.
DOCUMENT_MODELS: tuple[type[BaseModel], ...] = (Problem,)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation names, however nested (list[X], X | None, Page[X], ...)."""
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


def documented_models(app: FastAPI) -> list[type[BaseModel]]:
    """Every model the app's document is made of: its routes' models and the models in their fields."""
    found: dict[str, type[BaseModel]] = {}
    todo = [*_route_models(app), *DOCUMENT_MODELS]
    while todo:
        model = todo.pop()
        name = f"{model.__module__}.{model.__qualname__}"
        if name in found:
            continue
        found[name] = model
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return [found[name] for name in sorted(found)]


def examples_of(model: type[BaseModel]) -> list[Any]:
    extra = model.model_config.get("json_schema_extra")
    return list(extra.get("examples", [])) if isinstance(extra, dict) else []


def unknown_keys(example: Any, dumped: Any, where: str = "") -> list[str]:
    """Keys of the example the validated model did not keep, at any depth."""
    if isinstance(example, dict) and isinstance(dumped, dict):
        return [f"{where}.{key}" for key in example if key not in dumped] + [
            found
            for key in example
            if key in dumped
            for found in unknown_keys(example[key], dumped[key], f"{where}.{key}")
        ]
    if isinstance(example, list) and isinstance(dumped, list) and len(example) == len(dumped):
        return [found for i, (e, d) in enumerate(zip(example, dumped)) for found in unknown_keys(e, d, f"{where}[{i}]")]
    return []


CASES = [
    pytest.param(model, example, id=f"{service}-{model.__qualname__}-{n}")
    for service in sorted(APPS)
    for model in documented_models(APPS[service]())
    for n, example in enumerate(examples_of(model))
]


@pytest.mark.parametrize(("model", "example"), CASES)
def test_each_example_is_an_answer_its_model_accepts(model: type[BaseModel], example: Any) -> None:
    dumped = model.model_validate(example).model_dump(mode="json")
    assert not unknown_keys(example, dumped), unknown_keys(example, dumped)
    for name, field in model.model_fields.items():
        if field.deprecated and "items" in model.model_fields:
            assert example[name] == example["items"], f"the deprecated {name} is not the page's items"


def test_the_examples_of_every_service_are_checked() -> None:
    covered = {case.id.split("-", 1)[0] for case in CASES}
    assert covered == set(APPS)
    named = {case.id.split("-")[1] for case in CASES}
    assert {"ClaimPage", "OfficerClaim", "ProfileView", "FlagPage", "Problem"} <= named
