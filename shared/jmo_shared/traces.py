"""Print one trace from the JSON-lines span files the local stack writes (TRACE_FILE_DIR).

    python -m jmo_shared.traces <trace_id>            one trace as a tree
    python -m jmo_shared.traces --claim <claim_id>    every trace that touched the claim
    python -m jmo_shared.traces --recent 10           the last traces started (root spans)

A claim is found by the CloudEvents subject of the events about it (claims emits its
events with subject = claim id); each matching trace is printed whole, from the request
that started it, with service, span name, duration and offset from the trace's start.
In Kubernetes the same spans go to the collector (OTEL_EXPORTER_OTLP_ENDPOINT): search
Jaeger/Tempo by trace id, or by the tag cloudevents.event_subject=<claim id>.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

DEFAULT_DIR = "./.data/traces"
# What a tree line shows after the duration, and under which short name.
SHOWN_ATTRIBUTES = (
    ("cloudevents.event_type", "type"),
    ("cloudevents.event_subject", "subject"),
    ("messaging.destination.partition.id", "partition"),
    ("messaging.kafka.offset", "offset"),
    ("http.response.status_code", "status"),
)


def read_spans(directory: Path) -> Iterator[dict]:
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    span = json.loads(line)
                except ValueError:  # a line cut by a crash mid-write
                    continue
                if isinstance(span, dict) and "trace_id" in span and "span_id" in span:
                    yield span


def trace_ids_of_claim(spans: Iterable[dict], claim_id: str) -> list[str]:
    found: dict[str, int] = {}
    for span in spans:
        attrs = span.get("attributes") or {}
        if claim_id in (attrs.get("cloudevents.event_subject"), attrs.get("jmo.claim_id")):
            found[span["trace_id"]] = min(found.get(span["trace_id"], span["start_ns"]), span["start_ns"])
    return sorted(found, key=found.get)  # type: ignore[arg-type]


def render(spans: list[dict]) -> str:
    """An indented tree: children under their parent, in start order; orphans (parent not recorded) at the top."""
    if not spans:
        return "no spans"
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str | None, list[dict]] = defaultdict(list)
    for span in spans:
        parent = span.get("parent_id")
        children[parent if parent in by_id else None].append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: s["start_ns"])
    start = min(s["start_ns"] for s in spans)
    end = max(s["start_ns"] + s["duration_ms"] * 1e6 for s in spans)
    services = sorted({s["service"] for s in spans})
    out = [
        f"trace {spans[0]['trace_id']}  {len(spans)} spans, {len(services)} services "
        f"({', '.join(services)}), {(end - start) / 1e6:.1f} ms"
    ]
    width = max(len(s["service"]) for s in spans)

    def walk(span: dict, depth: int) -> None:
        attrs = span.get("attributes") or {}
        extra = " ".join(f"{label}={attrs[key]}" for key, label in SHOWN_ATTRIBUTES if key in attrs)
        flag = "  ERROR" if span.get("status") == "ERROR" else ""
        out.append(
            f"{'  ' * depth}{span['service']:<{width}}  {span['name']}  {span['duration_ms']:.1f} ms"
            f"  @+{(span['start_ns'] - start) / 1e6:.1f} ms{flag}{'  ' + extra if extra else ''}"
        )
        for child in children.get(span["span_id"], []):
            walk(child, depth + 1)

    for root in children[None]:
        walk(root, 0)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jmo_shared.traces", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("trace_id", nargs="?", help="32 hex digits (a log line's trace_id)")
    parser.add_argument("--claim", help="print every trace that touched this claim id")
    parser.add_argument("--recent", type=int, metavar="N", help="list the N most recent root spans")
    parser.add_argument(
        "--dir",
        default=os.environ.get("TRACE_FILE_DIR", DEFAULT_DIR),
        help="directory of *.jsonl span files (default: $TRACE_FILE_DIR or ./.data/traces)",
    )
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    if not directory.is_dir():
        print(f"no trace directory {directory}: start the stack with TRACE_FILE_DIR set", file=sys.stderr)
        return 2
    spans = list(read_spans(directory))
    if args.recent:
        roots = sorted((s for s in spans if not s.get("parent_id")), key=lambda s: s["start_ns"])[-args.recent :]
        for s in roots:
            print(f"{s['trace_id']}  {s['start']}  {s['service']}  {s['name']}  {s['duration_ms']:.1f} ms")
        return 0
    if args.claim:
        trace_ids = trace_ids_of_claim(spans, args.claim)
    elif args.trace_id:
        trace_ids = [args.trace_id.lower()]
    else:
        parser.error("give a trace id, --claim CLAIM_ID or --recent N")
    by_trace: dict[str, list[dict]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span)
    found = [t for t in trace_ids if by_trace.get(t)]
    if not found:
        print(f"no spans for {args.claim or args.trace_id} in {directory}", file=sys.stderr)
        return 1
    print("\n\n".join(render(by_trace[t]) for t in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
