"""Ticket numbers, SLA due times and what officers may do with a complaint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jmo_helpdesk.domain.complaints import (
    Complaint,
    ComplaintError,
    SlaPolicy,
    Status,
    format_ticket,
    ticket_year,
)

FILED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SLA = SlaPolicy({"claim": 72, "payout": 24})


def complaint(due: datetime) -> Complaint:
    return Complaint("HD-2026-000001", "m-1", "3171012345670001", "claim", "my claim is stuck", "clm-1", FILED, due)


def test_ticket_format() -> None:
    assert format_ticket("HD", 2026, 123) == "HD-2026-000123"
    assert format_ticket("HD", 2026, 1_234_567) == "HD-2026-1234567"
    with pytest.raises(ValueError):
        format_ticket("HD", 2026, 0)


def test_ticket_year_is_the_year_in_jakarta() -> None:
    # 31 Dec 18:00 UTC is already 1 Jan 01:00 in Jakarta.
    assert ticket_year(datetime(2025, 12, 31, 18, 0, tzinfo=UTC)) == 2026
    assert ticket_year(datetime(2025, 12, 31, 16, 59, tzinfo=UTC)) == 2025


def test_sla_due_time_per_category() -> None:
    assert SLA.due_at("claim", FILED) == FILED + timedelta(hours=72)
    assert SLA.due_at("payout", FILED) == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ComplaintError) as err:
        SLA.due_at("weather", FILED)
    assert err.value.code == "unknown_category"
    assert "claim" in err.value.message


def test_overdue_only_after_the_due_time() -> None:
    c = complaint(FILED + timedelta(hours=72))
    assert not c.overdue(FILED + timedelta(hours=72))
    assert c.overdue(FILED + timedelta(hours=72, seconds=1))


def test_reply_answers_and_close_in_time_is_no_breach() -> None:
    c = complaint(FILED + timedelta(hours=72))
    c.reply("officer-1", "we are checking", FILED + timedelta(hours=1))
    assert c.status is Status.ANSWERED
    assert c.close("paid on 3 March", FILED + timedelta(hours=5)) is False
    assert (c.status, c.sla_breached, c.resolution) == (Status.CLOSED, False, "paid on 3 March")


def test_closing_late_reveals_a_breach_once() -> None:
    c = complaint(FILED + timedelta(hours=24))
    assert c.close("done", FILED + timedelta(hours=30)) is True
    assert c.sla_breached is True
    already = complaint(FILED + timedelta(hours=24))
    already.sla_breached = True  # the sweep counted it
    assert already.close("done", FILED + timedelta(hours=30)) is False


def test_a_closed_complaint_takes_no_more_replies_or_closing() -> None:
    c = complaint(FILED + timedelta(hours=24))
    c.close("done", FILED + timedelta(hours=2))
    for act in (lambda: c.reply("o", "more", FILED), lambda: c.close("again", FILED)):
        with pytest.raises(ComplaintError) as err:
            act()
        assert err.value.code == "complaint_closed"
