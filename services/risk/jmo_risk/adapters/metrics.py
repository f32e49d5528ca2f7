"""Prometheus metrics of the risk rules (worker /metrics), one series per rule."""

from __future__ import annotations

from prometheus_client import Counter

SIGNALS = Counter("risk_signals_total", "Signals the rules counted, by kind", ["kind"])
EVALUATIONS = Counter("risk_rule_evaluations_total", "Times a rule looked at a new signal", ["rule"])
FLAGS = Counter("risk_flags_total", "New flags raised, by rule", ["rule"])
FLAGS_REPEATED = Counter(
    "risk_flags_repeated_total",
    "Flags raised again after a replay or redelivery (already stored, not published again)",
    ["rule"],
)
FLAGS_CLEARED = Counter("risk_flags_cleared_total", "Flags an officer cleared, by rule", ["rule"])
EVENTS_SKIPPED = Counter(
    "risk_events_unreadable_total", "Source messages that were not CloudEvents (skipped)", ["topic"]
)
