"""Every Kafka topic of the system, with its partition count and configuration.

Topics are created up front (never auto-created): a consumer group that starts
against an auto-created topic with the wrong partition count silently loses
its per-key ordering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Upstream feeds (published by systems outside this project).
CORE_MEMBERSHIP = "core.membership.events"
POPULATION_RECORDS = "population.records"

# Our own domain events, one topic per owning service.
IDENTITY_EVENTS = "identity.events"
PROFILE_EVENTS = "profile.events"
BALANCE_EVENTS = "balance.events"
CLAIMS_EVENTS = "claims.events"
PAYOUT_EVENTS = "payout.events"
HELPDESK_EVENTS = "helpdesk.events"
RISK_EVENTS = "risk.events"
# The risk service's own stream (faust): what it saw, re-keyed by what its rules count.
RISK_SIGNALS = "risk.signals"
RISK_APP_ID = "risk"
# The risk service's faust tables; each has a changelog topic `<app id>-<table>-changelog`
# with the partition count of risk.signals (faust refuses a table whose changelog differs).
RISK_TABLES = (
    "member_accounts",
    "account_members",
    "card_employers",
    "employer_claims",
    "face_refusals",
    "registrations",
)

# Partner banks: PayoutSent for a bank goes only to its own topic.
BANK_TOPIC_PREFIX = "payout.bank."
BANK_STATUS_PREFIX = "bank.status."

# Partner banks known to the system (3-digit bank codes, see domain-rules.md).
PARTNER_BANKS: dict[str, str] = {
    "002": "BRI",
    "008": "Mandiri",
    "009": "BNI",
    "014": "BCA",
    "200": "BTN",
    "451": "BSI",
    "022": "CIMB Niaga",
    "028": "OCBC",
}


def bank_topic(bank_code: str) -> str:
    """The topic a partner bank reads its PayoutSent instructions from."""
    return f"{BANK_TOPIC_PREFIX}{bank_code}"


def bank_status_topic(bank_code: str) -> str:
    """The topic a partner bank may report payout results on."""
    return f"{BANK_STATUS_PREFIX}{bank_code}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


_RETAIN_FOREVER = {"retention.ms": "-1", "min.insync.replicas": "1"}
_RETAIN_WEEKS = {"retention.ms": str(28 * 24 * 3600 * 1000), "min.insync.replicas": "1"}
# A table's changelog keeps the last value of each key (and windows expire in the table itself).
_CHANGELOG = {"cleanup.policy": "compact", "min.insync.replicas": "1"}


def risk_stream_topics(app_id: str = RISK_APP_ID, partitions: int = 6) -> tuple[TopicSpec, ...]:
    """The faust app's signals topic and its tables' changelogs (tests pass their own app id)."""
    signals = RISK_SIGNALS if app_id == RISK_APP_ID else f"{app_id}.signals"
    return (
        TopicSpec(signals, partitions, _RETAIN_WEEKS),
        *(TopicSpec(f"{app_id}-{table}-changelog", partitions, _CHANGELOG) for table in RISK_TABLES),
    )


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(CORE_MEMBERSHIP, 6, _RETAIN_FOREVER),
    TopicSpec(POPULATION_RECORDS, 6, _RETAIN_FOREVER),
    TopicSpec(IDENTITY_EVENTS, 6, _RETAIN_FOREVER),
    TopicSpec(PROFILE_EVENTS, 6, _RETAIN_FOREVER),
    TopicSpec(BALANCE_EVENTS, 6, _RETAIN_FOREVER),
    TopicSpec(CLAIMS_EVENTS, 6, _RETAIN_FOREVER),
    TopicSpec(PAYOUT_EVENTS, 6, _RETAIN_FOREVER),
    TopicSpec(HELPDESK_EVENTS, 6, _RETAIN_FOREVER),
    TopicSpec(RISK_EVENTS, 6, _RETAIN_FOREVER),
    *risk_stream_topics(),
    *(TopicSpec(bank_topic(code), 3, _RETAIN_WEEKS) for code in PARTNER_BANKS),
    *(TopicSpec(bank_status_topic(code), 3, _RETAIN_WEEKS) for code in PARTNER_BANKS),
)


def topic_names() -> list[str]:
    return [t.name for t in TOPICS]
