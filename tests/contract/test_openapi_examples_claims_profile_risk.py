"""The examples the claims, profile and risk documents show are answers those services could give.

Every answer model of their routes (and every model with examples in their schema modules) has its
examples validated against the model itself, so an example cannot drift from the contract: a field
renamed or retyped in the model fails here, and so does a key the model does not know (pydantic
would drop it silently). A paged answer's deprecated alias of `items` holds the same items.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from jmo_claims.entrypoints import review_schemas as claims_review_schemas
from jmo_claims.entrypoints import schemas as claims_schemas
from jmo_local.openapi_clients import APPS
from jmo_profile.entrypoints import schemas as profile_schemas
from jmo_risk.entrypoints import schemas as risk_schemas

SERVICES = ("claims", "profile", "risk")
SCHEMA_MODULES: tuple[ModuleType, ...] = (claims_schemas, claims_review_schemas, profile_schemas, risk_schemas)


def answer_models(service: str) -> Iterator[type[BaseModel]]:
    for route in APPS[service]().routes:
        model = route.response_model if isinstance(route, APIRoute) else None
        if isinstance(model, type) and issubclass(model, BaseModel):
            yield model


def models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for service in SERVICES:
        for model in answer_models(service):
            found[f"{model.__module__}.{model.__qualname__}"] = model
    for module in SCHEMA_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and examples_of(value):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return sorted(found.values(), key=lambda m: f"{m.__module__}.{m.__qualname__}")


def examples_of(model: type[BaseModel]) -> list[dict[str, Any]]:
    extra = model.model_config.get("json_schema_extra")
    return list(extra.get("examples", [])) if isinstance(extra, dict) else []


def unknown_keys(example: Any, dumped: Any, where: str = "") -> list[str]:
    """Keys of the example the validated model did not keep (it ignores what it does not know)."""
    if isinstance(example, dict) and isinstance(dumped, dict):
        missing = [f"{where}.{key}" for key in example if key not in dumped]
        return missing + [
            found
            for key in example
            if key in dumped
            for found in unknown_keys(example[key], dumped[key], f"{where}.{key}")
        ]
    if isinstance(example, list) and isinstance(dumped, list) and len(example) == len(dumped):
        return [found for i, (e, d) in enumerate(zip(example, dumped)) for found in unknown_keys(e, d, f"{where}[{i}]")]
    return []


MODELS = models()


def test_the_services_answer_models_are_all_collected() -> None:
    names = {m.__qualname__ for m in MODELS}
    assert {"ClaimPage", "Queue", "OfficerClaim", "ProfileView", "BankAccountChangePage", "FlagPage"} <= names
    for service in SERVICES:
        for model in answer_models(service):
            assert examples_of(model), (service, model.__qualname__)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__qualname__)
def test_every_example_is_valid_for_its_model(model: type[BaseModel]) -> None:
    examples = examples_of(model)
    assert examples, f"{model.__qualname__} has no example"
    for example in examples:
        parsed = model.model_validate(example)
        dumped = parsed.model_dump(mode="json")
        assert not unknown_keys(example, dumped), (model.__qualname__, unknown_keys(example, dumped))
        # A deprecated alias of a page's items (`claims`, `changes`) holds the same items.
        for name, field in model.model_fields.items():
            if field.deprecated and "items" in model.model_fields:
                assert example[name] == example["items"], (model.__qualname__, name)
