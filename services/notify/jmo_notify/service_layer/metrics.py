"""notify's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS = Counter("notify_notifications_total", "Inbox entries written, by kind", ["kind"])
DELIVERIES = Counter(
    "notify_deliveries_total",
    "Delivery attempts by channel, kind and outcome (sent, failed, dead)",
    ["channel", "kind", "outcome"],
)
SKIPPED = Counter(
    "notify_deliveries_skipped_total",
    "Channels a member chose that a notice did not go to, by reason (no_contact, unconfirmed)",
    ["channel", "kind", "reason"],
)
REPLAYS = Counter(
    "notify_dead_letter_replays_total", "Dead deliveries an operator sent back to pending", ["channel", "kind"]
)
