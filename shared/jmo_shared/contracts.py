"""JSON Schemas and the AsyncAPI document, generated from the event classes.

The generated files are checked in (shared/schemas/, shared/asyncapi.yaml) so a
partner bank or another team reads the contract without running our code; the
contract tests fail when the code and the checked-in files disagree, and name
every incompatible change (a removed field, a changed type, a new required field).

    python -m jmo_shared.contracts write   # regenerate after an additive change
    python -m jmo_shared.contracts check   # what CI runs (through the tests)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from .events import REGISTRY, CloudEvent, EventData
from .topics import BANK_STATUS_PREFIX, BANK_TOPIC_PREFIX, TOPICS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "schemas" / "events"
ASYNCAPI = ROOT / "asyncapi.yaml"

_ENVELOPE_FIELDS = {
    "specversion": {"type": "string", "const": "1.0"},
    "id": {"type": "string", "minLength": 1},
    "source": {"type": "string", "minLength": 1},
    "time": {"type": "string", "format": "date-time"},
    "subject": {"type": "string"},
    "datacontenttype": {"type": "string", "const": "application/json"},
    "correlationid": {"type": "string"},
}


def topic_of(model: type[EventData]) -> str:
    if model.topic:
        return model.topic
    return (
        f"{BANK_STATUS_PREFIX}{{bank_code}}"
        if "bank.PayoutStatus" in model.event_type
        else f"{BANK_TOPIC_PREFIX}{{bank_code}}"
    )


def event_schema(model: type[EventData]) -> dict[str, Any]:
    data = model.model_json_schema(mode="serialization")
    defs = data.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:jmo:event:{model.event_type}",
        "title": model.event_type,
        "description": model.summary,
        "x-topic": topic_of(model),
        "x-kafka-key": model.key_field,
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {**_ENVELOPE_FIELDS, "type": {"type": "string", "const": model.event_type}, "data": data},
    }
    if defs:
        schema["$defs"] = defs
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    return {name: event_schema(model) for name, model in sorted(REGISTRY.items())}


def schema_path(event_type: str) -> Path:
    return SCHEMA_DIR / f"{event_type}.json"


def _dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


# --- compatibility ------------------------------------------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return schema.get("$defs", {}).get(ref.split("/")[-1], {})
    return node


def _types(node: dict[str, Any]) -> set[str]:
    if "type" in node:
        t = node["type"]
        return set(t) if isinstance(t, list) else {t}
    if "anyOf" in node:
        out: set[str] = set()
        for option in node["anyOf"]:
            out |= _types(option) or {"ref"}
        return out
    if "$ref" in node:
        return {"object"}
    return set()


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a consumer written against `old` would trip over in `new`."""
    problems: list[str] = []
    if old.get("title") != new.get("title"):
        problems.append(f"event type renamed: {old.get('title')} -> {new.get('title')}")
    _compare_object(old, new, old["properties"]["data"], new["properties"]["data"], "data", problems)
    return problems


def _compare_object(old_root, new_root, old, new, path, problems) -> None:
    old, new = _resolve(old_root, old), _resolve(new_root, new)
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: field removed")
            continue
        new_prop = new_props[name]
        old_t, new_t = _types(old_prop), _types(new_prop)
        if old_t and new_t and not old_t <= new_t:
            problems.append(f"{path}.{name}: type changed {sorted(old_t)} -> {sorted(new_t)}")
        old_enum = set(_resolve(old_root, old_prop).get("enum", []))
        new_enum = set(_resolve(new_root, new_prop).get("enum", []))
        if old_enum and new_enum and not old_enum <= new_enum:
            problems.append(f"{path}.{name}: allowed values removed {sorted(old_enum - new_enum)}")
        if _resolve(old_root, old_prop).get("properties") or "$ref" in old_prop:
            _compare_object(old_root, new_root, old_prop, new_prop, f"{path}.{name}", problems)
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{path}.{name}: new required field")


# --- AsyncAPI -----------------------------------------------------------------


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages_by_topic: dict[str, list[str]] = {}
    components: dict[str, Any] = {}
    for name, model in sorted(REGISTRY.items()):
        topic = topic_of(model)
        message_id = name.replace(".", "_")
        messages_by_topic.setdefault(topic, []).append(message_id)
        components[message_id] = {
            "name": name,
            "title": model.__name__,
            "summary": model.summary,
            "contentType": "application/cloudevents+json",
            "bindings": {"kafka": {"key": {"type": "string", "description": f"the event's {model.key_field}"}}},
            "payload": {"$ref": f"./schemas/events/{name}.json"},
        }
    partitions = {t.name: t.partitions for t in TOPICS}
    for topic, message_ids in sorted(messages_by_topic.items()):
        channel: dict[str, Any] = {
            "address": topic,
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message_ids},
        }
        if topic in partitions:
            channel["bindings"] = {"kafka": {"partitions": partitions[topic]}}
        else:
            channel["description"] = "One topic per partner bank (3-digit bank code); a bank is granted only its own."
            channel["parameters"] = {"bank_code": {"description": "The partner bank's 3-digit code, e.g. 014."}}
        channels[topic.replace(".", "_").replace("{", "").replace("}", "")] = channel
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "JMO member self-service events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka's structured mode. Generated by `python -m jmo_shared.contracts write`.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka"}},
        "channels": channels,
        "components": {"messages": components},
    }


def render_asyncapi() -> str:
    return yaml.safe_dump(asyncapi_document(), sort_keys=False, width=120)


# --- CLI ----------------------------------------------------------------------


def write() -> None:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, schema in all_schemas().items():
        schema_path(name).write_text(_dump_json(schema))
    ASYNCAPI.write_text(render_asyncapi())
    print(f"wrote {len(REGISTRY)} schemas to {SCHEMA_DIR} and {ASYNCAPI}")


def check() -> list[str]:
    problems: list[str] = []
    for name, schema in all_schemas().items():
        path = schema_path(name)
        if not path.exists():
            problems.append(f"{name}: no checked-in schema (run `python -m jmo_shared.contracts write`)")
            continue
        old = json.loads(path.read_text())
        problems += [f"{name}: {p}" for p in breaking_changes(old, schema)]
        if old != json.loads(_dump_json(schema)):
            problems.append(f"{name}: checked-in schema differs from the code (regenerate if the change is additive)")
    known = {f"{n}.json" for n in REGISTRY}
    for path in SCHEMA_DIR.glob("*.json"):
        if path.name not in known:
            problems.append(f"{path.stem}: event type removed from the code (publish a new version instead)")
    if not ASYNCAPI.exists() or ASYNCAPI.read_text() != render_asyncapi():
        problems.append("asyncapi.yaml differs from the code (run `python -m jmo_shared.contracts write`)")
    return problems


def main(argv: list[str]) -> int:
    if argv[1:] == ["write"]:
        write()
        return 0
    problems = check()
    for p in problems:
        print(p)
    return 1 if problems else 0


def validate_event(event: CloudEvent) -> None:
    """Validate a whole event against its checked-in schema (used by tests and tooling)."""
    import jsonschema

    schema = json.loads(schema_path(event.type).read_text())
    jsonschema.validate(json.loads(event.to_bytes()), schema, format_checker=jsonschema.FormatChecker())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
