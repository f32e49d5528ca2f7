"""What a member can be told about (a notification's kind), and the channels it can go out on."""

from __future__ import annotations

from dataclasses import dataclass

EMAIL = "email"
SMS = "sms"
PUSH = "push"
CHANNELS: tuple[str, ...] = (EMAIL, SMS, PUSH)

CLAIM_SUBMITTED = "claim_submitted"
CLAIM_NEEDS_REVIEW = "claim_needs_review"
CLAIM_REJECTED = "claim_rejected"
CLAIM_PAID = "claim_paid"
PAYOUT_FAILED = "payout_failed"
CLAIM_SLA_BREACHED = "claim_sla_breached"
COMPLAINT_ANSWERED = "complaint_answered"
SECURITY_CONTACT_CHANGED = "security_contact_changed"


@dataclass(frozen=True)
class KindSpec:
    name: str
    # Urgent kinds go out at once, also during the member's quiet hours.
    urgent: bool
    # The channels a member who never chose gets (the inbox in the app is always written).
    default_channels: tuple[str, ...]
    # Security notices are not the member's to turn off: always sent, to the old and the new contact.
    configurable: bool = True


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(CLAIM_SUBMITTED, urgent=False, default_channels=(EMAIL, PUSH)),
        KindSpec(CLAIM_NEEDS_REVIEW, urgent=False, default_channels=(EMAIL, PUSH)),
        KindSpec(CLAIM_REJECTED, urgent=False, default_channels=(EMAIL, PUSH)),
        KindSpec(CLAIM_PAID, urgent=False, default_channels=(EMAIL, PUSH)),
        KindSpec(PAYOUT_FAILED, urgent=True, default_channels=(EMAIL, SMS, PUSH)),
        KindSpec(CLAIM_SLA_BREACHED, urgent=False, default_channels=(EMAIL, PUSH)),
        KindSpec(COMPLAINT_ANSWERED, urgent=False, default_channels=(EMAIL, PUSH)),
        KindSpec(SECURITY_CONTACT_CHANGED, urgent=True, default_channels=(EMAIL, SMS), configurable=False),
    )
}

CONFIGURABLE_KINDS: tuple[str, ...] = tuple(k for k, spec in KINDS.items() if spec.configurable)
