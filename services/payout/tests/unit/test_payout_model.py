from datetime import UTC, datetime, timedelta

import pytest

from jmo_payout.domain.model import BANK_TIMEOUT, BankReport, Payout, PayoutStatus
from jmo_shared.errors import DomainError, ErrorKind

SENT_AT = datetime(2025, 7, 15, 3, 0, tzinfo=UTC)
LATER = SENT_AT + timedelta(seconds=30)


def payout() -> Payout:
    return Payout(
        payout_id="p1",
        claim_id="c1",
        member_id="m1",
        bank_code="014",
        end_to_end_id="E2E1",
        gross_idr=60_000_000,
        tax_idr=500_000,
        net_idr=59_500_000,
        rail="BI_FAST",
        status=PayoutStatus.SENT,
        sent_at=SENT_AT,
    )


def report(status: str = "ACSC", **kw: object) -> BankReport:
    fields = dict(
        payout_id="p1",
        end_to_end_id="E2E1",
        bank_code="014",
        status=status,
        bank_reference="REF1",
        reported_at=LATER,
        reason_code=None,
        reason="",
    )
    fields.update(kw)
    return BankReport(**fields)  # type: ignore[arg-type]


def test_acsc_settles_once_then_duplicates_change_nothing() -> None:
    p = payout()
    assert p.apply_report(report(), LATER) == "settled"
    assert (p.status, p.settled_at, p.bank_reference) == (PayoutStatus.SETTLED, LATER, "REF1")
    assert p.apply_report(report(bank_reference="REF2"), LATER + timedelta(seconds=5)) == "duplicate"
    assert p.apply_report(report("RJCT", reason_code="AC04"), LATER) == "late"
    assert (p.status, p.settled_at, p.bank_reference) == (PayoutStatus.SETTLED, LATER, "REF1")


def test_rjct_fails_with_the_banks_reason() -> None:
    p = payout()
    assert p.apply_report(report("RJCT", reason_code="AC01", reason="account not found"), LATER) == "failed"
    assert (p.status, p.failure_code, p.failure_reason) == (PayoutStatus.FAILED, "AC01", "account not found")
    assert p.apply_report(report(), LATER) == "late"
    assert p.status is PayoutStatus.FAILED


def test_only_the_members_bank_may_report() -> None:
    with pytest.raises(DomainError) as err:
        payout().apply_report(report(bank_code="002"), LATER)
    assert (err.value.kind, err.value.code) == (ErrorKind.FORBIDDEN, "wrong_bank")


def test_report_must_name_the_transfer_sent() -> None:
    with pytest.raises(DomainError) as err:
        payout().apply_report(report(end_to_end_id="E2E2"), LATER)
    assert (err.value.kind, err.value.code) == (ErrorKind.INVALID, "end_to_end_id_mismatch")


def test_timeout_only_after_the_limit_and_only_in_flight() -> None:
    p = payout()
    limit = timedelta(minutes=15)
    assert not p.is_overdue(SENT_AT + limit - timedelta(seconds=1), limit)
    assert p.is_overdue(SENT_AT + limit, limit)
    p.time_out(SENT_AT + limit)
    assert (p.status, p.failure_code) == (PayoutStatus.FAILED, BANK_TIMEOUT)
    assert not p.is_overdue(SENT_AT + 2 * limit, limit)
    with pytest.raises(DomainError):
        p.time_out(SENT_AT + 2 * limit)
