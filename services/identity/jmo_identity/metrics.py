"""Identity's own Prometheus metrics (served on /metrics with the shared HTTP and consumer metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REGISTRATIONS = Counter("identity_registrations_total", "Account registrations by outcome", ["outcome"])
LOGINS = Counter("identity_logins_total", "Login attempts by outcome", ["outcome"])
REFRESHES = Counter("identity_refreshes_total", "Refresh token uses by outcome", ["outcome"])
FACE_VERIFICATIONS = Counter(
    "identity_face_verifications_total", "Face verifications by purpose and outcome", ["purpose", "outcome"]
)
FACE_SECONDS = Histogram(
    "identity_face_analysis_seconds", "Time to analyse one selfie, queueing included",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)
