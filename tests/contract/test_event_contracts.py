"""The checked-in event schemas and AsyncAPI document are the contract partners code against."""

from __future__ import annotations

import copy
import json

import pytest

from jmo_shared import contracts
from jmo_shared.events import REGISTRY, ClaimSubmitted, PayoutSent


def test_checked_in_contracts_match_the_code() -> None:
    problems = contracts.check()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_every_event_type_is_versioned_and_documented(event_type: str) -> None:
    model = REGISTRY[event_type]
    assert event_type.startswith("jht.") and event_type.rsplit(".", 1)[1].startswith("v")
    assert model.summary, f"{event_type} has no summary for the AsyncAPI document"
    assert contracts.schema_path(event_type).exists()
    assert event_type in contracts.render_asyncapi()


def _schema(model) -> dict:
    return contracts.event_schema(model)


def test_removing_a_field_is_breaking() -> None:
    old = _schema(ClaimSubmitted)
    new = copy.deepcopy(old)
    del new["properties"]["data"]["properties"]["kpj"]
    assert "data.kpj: field removed" in contracts.breaking_changes(old, new)


def test_changing_a_type_is_breaking() -> None:
    old = _schema(ClaimSubmitted)
    new = copy.deepcopy(old)
    new["properties"]["data"]["properties"]["claim_id"] = {"type": "integer"}
    assert any(p.startswith("data.claim_id: type changed") for p in contracts.breaking_changes(old, new))


def test_a_new_required_field_is_breaking_but_an_optional_one_is_not() -> None:
    old = _schema(ClaimSubmitted)
    optional = copy.deepcopy(old)
    optional["properties"]["data"]["properties"]["channel"] = {"type": "string"}
    assert contracts.breaking_changes(old, optional) == []
    required = copy.deepcopy(optional)
    required["properties"]["data"]["required"].append("channel")
    assert "data.channel: new required field" in contracts.breaking_changes(old, required)


def test_narrowing_allowed_values_is_breaking() -> None:
    old = _schema(ClaimSubmitted)
    new = copy.deepcopy(old)
    reason = new["properties"]["data"]["properties"]["reason"]
    reason["enum"] = [v for v in reason["enum"] if v != "death"]
    assert any("allowed values removed ['death']" in p for p in contracts.breaking_changes(old, new))


def test_nested_fields_are_compared_too() -> None:
    old = _schema(PayoutSent)
    new = copy.deepcopy(old)
    del new["$defs"]["Party"]["properties"]["account_number"]
    problems = contracts.breaking_changes(old, new)
    assert "data.creditor.account_number: field removed" in problems


def test_a_real_event_validates_against_its_checked_in_schema() -> None:
    event = ClaimSubmitted(
        claim_id="c-1",
        member_id="m-1",
        nik="3174011201900001",
        kpj="12345678901",
        reason="resignation",
        document_ids=["d-1"],
        verification_id="v-1",
        submitted_at="2026-01-05T01:00:00Z",
        sla_due_at="2026-01-06T01:00:00Z",
    ).to_event("/jmo/claims")
    contracts.validate_event(event)
    broken = json.loads(event.to_bytes())
    broken["data"]["reason"] = "holiday"
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(contracts.schema_path(event.type).read_text()))
