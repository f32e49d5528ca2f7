"""Identity's own Prometheus metrics (served on /metrics with the shared HTTP and consumer metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REGISTRATIONS = Counter("identity_registrations_total", "Account registrations by outcome", ["outcome"])
# What registration tells a prober: refusals of the registry check, and refusals over their limits
# (reason client_address_limit / nik_limit; not in identity_client_throttled_total).
REGISTRATION_REFUSALS = Counter(
    "identity_registration_refusals_total",
    "Registrations refused by the registry check or for too many such refusals",
    ["reason"],
)
LOGINS = Counter("identity_logins_total", "Login attempts by outcome", ["outcome"])
REFRESHES = Counter("identity_refreshes_total", "Refresh token uses by outcome", ["outcome"])
FACE_VERIFICATIONS = Counter(
    "identity_face_verifications_total", "Face verifications by purpose and outcome", ["purpose", "outcome"]
)
FACE_SECONDS = Histogram(
    "identity_face_analysis_seconds",
    "Time to analyse one selfie, queueing included",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)
CLIENT_THROTTLED = Counter("identity_client_throttled_total", "Requests refused for their client address", ["scope"])
CODES_SENT = Counter("identity_codes_sent_total", "One-time codes sent", ["purpose", "channel"])
CODE_CHECKS = Counter(
    "identity_code_checks_total", "One-time codes presented, by purpose and outcome", ["purpose", "outcome"]
)
PASSWORD_CHANGES = Counter(
    "identity_password_changes_total", "Password changes and resets by kind and outcome", ["kind", "outcome"]
)
RECOVERIES = Counter("identity_account_recoveries_total", "Account recovery steps by outcome", ["outcome"])
