"""The matching of payouts sent, the bank's reports and its statement (pure rules, no I/O)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from jmo_payout.adapters.statements import StatementUnavailable, parse_camt053
from jmo_payout.domain.reconciliation import (
    CODES,
    BankNotice,
    SentPayout,
    StatementEntry,
    Window,
    reconcile,
)
from jmo_payout.service_layer.scheduler import due_days

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 11, 23)
START = datetime.combine(DAY, time(0), tzinfo=WIB)
END = START + timedelta(days=1)
# The daily job runs at 01:00 WIB the next day.
WINDOW = Window(DAY, START, END, now=END + timedelta(hours=1), bank_timeout=timedelta(minutes=15))
NOON = START + timedelta(hours=12)


def payout(n: int, status: str = "SETTLED", net: int = 1_000_000, sent_at: datetime = NOON, **kw) -> SentPayout:
    settled_at = kw.pop("settled_at", sent_at + timedelta(seconds=30) if status == "SETTLED" else None)
    return SentPayout(
        payout_id=f"p{n}",
        claim_id=f"c{n}",
        end_to_end_id=f"E2E{n}",
        net_idr=net,
        status=status,
        sent_at=sent_at,
        settled_at=settled_at,
        **kw,
    )


def notice(n: int, status: str = "ACSC", outcome: str = "settled", at: datetime = NOON) -> BankNotice:
    return BankNotice(f"p{n}", status, outcome, at + timedelta(seconds=30))


def entry(n: int | str, amount: int = 1_000_000, ref: str | None = None) -> StatementEntry:
    e2e = f"E2E{n}" if isinstance(n, int) else n
    return StatementEntry(entry_ref=ref or f"REF{n}", end_to_end_id=e2e, amount_idr=amount, booking_date=DAY)


def codes(outcome) -> list[tuple[str, str | None]]:
    return sorted((m.code.value, m.payout_id or m.end_to_end_id) for m in outcome.mismatches)


def test_a_settled_payout_booked_once_for_its_amount_is_clean() -> None:
    out = reconcile(
        WINDOW, [payout(1), payout(2, net=2_500_000)], [], [notice(1), notice(2)], [entry(1), entry(2, 2_500_000)]
    )
    assert out.clean and codes(out) == []
    assert out.counts["matched"] == 2 and out.counts["payouts_sent"] == 2
    assert out.totals == {
        "sent_idr": 3_500_000,
        "settled_idr": 3_500_000,
        "booked_idr": 3_500_000,
        "matched_idr": 3_500_000,
    }
    assert out.by_code == {code: 0 for code in CODES}


def test_a_rejected_payout_that_is_not_booked_is_clean() -> None:
    rejected = payout(1, "FAILED", failure_code="AC04", failed_at=NOON)
    out = reconcile(WINDOW, [rejected], [], [notice(1, "RJCT", "failed")], [])
    assert out.clean and out.counts["failed"] == 1


def test_duplicate_and_late_notifications_are_counted_not_flagged() -> None:
    out = reconcile(WINDOW, [payout(1)], [], [notice(1), notice(1, outcome="duplicate")], [entry(1)])
    assert out.clean and out.counts["duplicate_notifications"] == 1 and out.counts["notifications"] == 2


def test_refused_reports_are_not_notifications() -> None:
    timed_out = payout(1, "FAILED", failure_code="bank_timeout", failed_at=NOON)
    out = reconcile(WINDOW, [timed_out], [], [notice(1, outcome="refused:wrong_bank")], [])
    assert codes(out) == [("notification_missing", "p1")]


def test_settled_but_not_on_the_statement() -> None:
    out = reconcile(WINDOW, [payout(1), payout(2)], [], [notice(1), notice(2)], [entry(1)])
    assert codes(out) == [("settled_but_not_booked", "p2")]
    assert out.by_code["settled_but_not_booked"] == 1 and out.counts["mismatches"] == 1


def test_a_debit_no_payout_explains() -> None:
    out = reconcile(WINDOW, [payout(1)], [], [notice(1)], [entry(1), entry("SIMEXTRA", 750_000)])
    assert codes(out) == [("on_statement_not_sent", "SIMEXTRA")]
    assert out.mismatches[0].booked_idr == 750_000 and out.mismatches[0].payout_id is None


def test_booked_for_another_amount() -> None:
    out = reconcile(WINDOW, [payout(1, net=59_400_000)], [], [notice(1)], [entry(1, 59_401_000)])
    assert codes(out) == [("amount_mismatch", "p1")]
    m = out.mismatches[0]
    assert (m.expected_idr, m.booked_idr, m.entry_refs) == (59_400_000, 59_401_000, ("REF1",))


def test_a_foreign_currency_booking_is_an_amount_mismatch() -> None:
    usd = StatementEntry("REF1", "E2E1", 1_000_000, currency="USD")
    assert codes(reconcile(WINDOW, [payout(1)], [], [notice(1)], [usd])) == [("amount_mismatch", "p1")]


def test_booked_twice() -> None:
    out = reconcile(WINDOW, [payout(1)], [], [notice(1)], [entry(1), entry(1, ref="REF1D")])
    assert codes(out) == [("duplicate_booking", "p1")]
    assert out.mismatches[0].entry_refs == ("REF1", "REF1D") and out.mismatches[0].booked_idr == 2_000_000


def test_failed_here_but_booked_by_the_bank_with_a_late_settled_report() -> None:
    timed_out = payout(1, "FAILED", failure_code="bank_timeout", failed_at=NOON + timedelta(minutes=15))
    out = reconcile(WINDOW, [timed_out], [], [notice(1, outcome="late", at=NOON + timedelta(minutes=20))], [entry(1)])
    assert codes(out) == [("booked_but_failed", "p1")]


def test_failed_and_booked_without_any_report() -> None:
    timed_out = payout(1, "FAILED", failure_code="bank_timeout", failed_at=NOON)
    out = reconcile(WINDOW, [timed_out], [], [], [entry(1)])
    assert codes(out) == [("booked_but_failed", "p1"), ("notification_missing", "p1")]


def test_a_late_acsc_for_a_failed_payout_without_a_booking_is_settled_but_not_booked() -> None:
    timed_out = payout(1, "FAILED", failure_code="bank_timeout", failed_at=NOON)
    out = reconcile(WINDOW, [timed_out], [], [notice(1, outcome="late")], [])
    assert codes(out) == [("settled_but_not_booked", "p1")]


def test_a_silent_bank_after_its_answer_window() -> None:
    out = reconcile(WINDOW, [payout(1, "SENT")], [], [], [])
    assert codes(out) == [("notification_missing", "p1"), ("sent_not_on_statement", "p1")]


def test_in_flight_within_the_answer_window_is_pending_not_a_mismatch() -> None:
    now = NOON + timedelta(minutes=5)
    today = Window(DAY, START, END, now=now, bank_timeout=timedelta(minutes=15))
    out = reconcile(today, [payout(1, "SENT", sent_at=NOON)], [], [], [])
    assert out.clean and out.pending == ["p1"] and out.counts["in_flight"] == 1


def test_booked_but_not_yet_reported() -> None:
    now = NOON + timedelta(minutes=5)
    today = Window(DAY, START, END, now=now, bank_timeout=timedelta(minutes=15))
    out = reconcile(today, [payout(1, "SENT")], [], [], [entry(1)])
    assert codes(out) == [("notification_missing", "p1")]


def test_settled_after_midnight_is_carried_over_to_the_next_statement() -> None:
    late = END - timedelta(seconds=5)
    crossing = payout(1, sent_at=late, settled_at=END + timedelta(seconds=20))
    out = reconcile(WINDOW, [crossing], [], [notice(1, at=END)], [])
    assert out.clean and out.carried_over == ["p1"]
    # The next day's statement books it; that day's run finds the payout by its end-to-end id.
    next_day = Window(
        DAY + timedelta(days=1), END, END + timedelta(days=1), END + timedelta(days=1, hours=1), timedelta(minutes=15)
    )
    nxt = reconcile(next_day, [], [crossing], [notice(1, at=END)], [entry(1)])
    assert nxt.clean and nxt.counts["booked_from_earlier_days"] == 1


def test_credits_on_the_account_are_not_payouts() -> None:
    refund = StatementEntry("R1", "RETURN1", 5_000, credit_debit="CRDT")
    out = reconcile(WINDOW, [payout(1)], [], [notice(1)], [entry(1), refund])
    assert out.clean and out.counts["statement_entries"] == 1


def camt(entries: list[dict], bank: str = "014") -> dict:
    return {
        "BkToCstmrStmt": {
            "Stmt": [
                {
                    "Id": "STMT-014-20261123",
                    "Acct": {"Id": {"Othr": {"Id": "0147000001"}}, "Svcr": {"FinInstnId": {"Othr": {"Id": bank}}}},
                    "Bal": [
                        {"Tp": {"CdOrPrtry": {"Cd": "OPBD"}}, "Amt": {"Ccy": "IDR", "Value": 10}, "CdtDbtInd": "CRDT"},
                        {"Tp": {"CdOrPrtry": {"Cd": "CLBD"}}, "Amt": {"Ccy": "IDR", "Value": 5}, "CdtDbtInd": "DBIT"},
                    ],
                    "Ntry": entries,
                }
            ]
        }
    }


def ntry(e2e: str, value, status: str = "BOOK", day: str = "2026-11-23") -> dict:
    return {
        "NtryRef": f"R-{e2e}",
        "Amt": {"Ccy": "IDR", "Value": value},
        "CdtDbtInd": "DBIT",
        "Sts": {"Cd": status},
        "BookgDt": {"Dt": day},
        "NtryDtls": [{"TxDtls": [{"Refs": {"EndToEndId": e2e}}]}],
    }


def test_reading_a_camt053_statement() -> None:
    batch = {
        **ntry("", 3_000),
        "NtryDtls": [
            {
                "TxDtls": [
                    {"Refs": {"EndToEndId": "E2Ea"}, "AmtDtls": {"TxAmt": {"Amt": {"Ccy": "IDR", "Value": 1_000}}}},
                    {"Refs": {"EndToEndId": "E2Eb"}, "AmtDtls": {"TxAmt": {"Amt": {"Ccy": "IDR", "Value": "2000.00"}}}},
                ]
            }
        ],
    }
    s = parse_camt053(camt([ntry("E2E1", 1_000_000), ntry("E2E2", 7, status="PDNG"), batch]), "014", DAY)
    assert (s.statement_id, s.account, s.opening_balance_idr, s.closing_balance_idr) == (
        "STMT-014-20261123",
        "0147000001",
        10,
        -5,
    )
    assert [(e.end_to_end_id, e.amount_idr) for e in s.entries] == [
        ("E2E1", 1_000_000),
        ("E2Ea", 1_000),
        ("E2Eb", 2_000),
    ]


@pytest.mark.parametrize(
    "doc",
    [
        {"not": "camt"},
        camt([], bank="008"),
        camt([ntry("E2E1", "12.50")]),
        camt([ntry("E2E1", "lots")]),
        camt([ntry("E2E1", 5, day="2026-11-22")]),
    ],
)
def test_an_unusable_statement_is_refused(doc: dict) -> None:
    with pytest.raises(StatementUnavailable):
        parse_camt053(doc, "014", DAY)


def test_the_daily_job_reconciles_the_previous_day_after_its_time() -> None:
    run_at = time(1, 0)
    before = datetime(2026, 11, 24, 0, 30, tzinfo=WIB)  # 00:30 WIB: yesterday's run not due yet
    after = datetime(2026, 11, 24, 1, 0, tzinfo=WIB)
    assert due_days(before, run_at, WIB, 2) == [date(2026, 11, 22), date(2026, 11, 21)]
    assert due_days(after, run_at, WIB, 2) == [date(2026, 11, 23), date(2026, 11, 22)]
    # 18:30 UTC on the 23rd is already 01:30 WIB on the 24th.
    assert due_days(datetime(2026, 11, 23, 18, 30, tzinfo=UTC), run_at, WIB, 1) == [date(2026, 11, 23)]
