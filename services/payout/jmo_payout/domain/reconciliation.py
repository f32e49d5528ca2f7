"""Daily reconciliation of one bank's business day: what we sent, what the bank told us, what it booked.

Three sources are matched on the end-to-end id:
- the payouts sent to the bank that day (and any payout the statement books that day),
- the bank's reports on them (signed notifications or its status topic),
- the bank's statement of the fund's account (camt.053 entries, debits).

Every disagreement becomes a `Mismatch` with a code. Two situations are not disagreements
yet and are listed apart: a payout still inside the bank's answer window (`pending`), and one
the bank settled after the day ended, expected on the next day's statement (`carried_over`).
Pure Python: no I/O, no framework.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum


class MismatchCode(StrEnum):
    SENT_NOT_ON_STATEMENT = "sent_not_on_statement"  # sent, never answered, not booked
    ON_STATEMENT_NOT_SENT = "on_statement_not_sent"  # a debit no payout of ours explains
    AMOUNT_MISMATCH = "amount_mismatch"  # booked for another amount (or currency) than the net sent
    SETTLED_BUT_NOT_BOOKED = "settled_but_not_booked"  # the bank said ACSC, its statement shows nothing
    BOOKED_BUT_FAILED = "booked_but_failed"  # we hold it FAILED but the money went out
    NOTIFICATION_MISSING = "notification_missing"  # the bank never reported on a transfer
    DUPLICATE_BOOKING = "duplicate_booking"  # one transfer booked more than once


CODES: tuple[str, ...] = tuple(c.value for c in MismatchCode)

SENT, SETTLED, FAILED = "SENT", "SETTLED", "FAILED"
# Report outcomes that came from the bank about the right transfer (refusals are not reports on it).
ACCEPTED_OUTCOMES = frozenset({"settled", "failed", "duplicate", "late"})


@dataclass(frozen=True)
class SentPayout:
    payout_id: str
    claim_id: str
    end_to_end_id: str
    net_idr: int
    status: str  # SENT | SETTLED | FAILED
    sent_at: datetime
    settled_at: datetime | None = None
    failed_at: datetime | None = None
    failure_code: str | None = None


@dataclass(frozen=True)
class BankNotice:
    """One report the bank made on a payout, as recorded in bank_reports."""

    payout_id: str
    status: str  # ACSC | RJCT
    outcome: str  # settled | failed | duplicate | late | refused:<code>
    received_at: datetime


@dataclass(frozen=True)
class StatementEntry:
    entry_ref: str
    end_to_end_id: str
    amount_idr: int
    currency: str = "IDR"
    credit_debit: str = "DBIT"
    booking_date: date | None = None
    creditor_account: str = ""


@dataclass(frozen=True)
class Mismatch:
    code: MismatchCode
    detail: str
    payout_id: str | None = None
    end_to_end_id: str | None = None
    claim_id: str | None = None
    expected_idr: int | None = None
    booked_idr: int | None = None
    entry_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """The business day [start, end) and when the matching runs, with the bank's answer window."""

    business_date: date
    start: datetime
    end: datetime
    now: datetime
    bank_timeout: timedelta


@dataclass
class Outcome:
    mismatches: list[Mismatch] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    carried_over: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def by_code(self) -> dict[str, int]:
        found = Counter(m.code.value for m in self.mismatches)
        return {code: found.get(code, 0) for code in CODES}

    @property
    def clean(self) -> bool:
        return not self.mismatches


def _first_acsc(notices: list[BankNotice]) -> datetime | None:
    times = [n.received_at for n in notices if n.status == "ACSC"]
    return min(times) if times else None


def _check_payout(
    p: SentPayout, bookings: list[StatementEntry], notices: list[BankNotice], window: Window, out: Outcome
) -> None:
    def flag(
        code: MismatchCode,
        detail: str,
        expected_idr: int | None = None,
        booked_idr: int | None = None,
        entry_refs: tuple[str, ...] = (),
    ) -> None:
        out.mismatches.append(
            Mismatch(code, detail, p.payout_id, p.end_to_end_id, p.claim_id, expected_idr, booked_idr, entry_refs)
        )

    refs = tuple(b.entry_ref for b in bookings)
    if len(bookings) > 1:
        flag(
            MismatchCode.DUPLICATE_BOOKING,
            f"booked {len(bookings)} times",
            expected_idr=p.net_idr,
            booked_idr=sum(b.amount_idr for b in bookings),
            entry_refs=refs,
        )
    wrong = [b for b in bookings if b.amount_idr != p.net_idr or b.currency != "IDR"]
    if wrong:
        flag(
            MismatchCode.AMOUNT_MISMATCH,
            f"booked {wrong[0].currency} {wrong[0].amount_idr}, sent IDR {p.net_idr}",
            expected_idr=p.net_idr,
            booked_idr=wrong[0].amount_idr,
            entry_refs=tuple(b.entry_ref for b in wrong),
        )
    if bookings:
        if p.status == FAILED:
            flag(
                MismatchCode.BOOKED_BUT_FAILED,
                f"failed ({p.failure_code}) here but booked by the bank: the money went out",
                expected_idr=p.net_idr,
                booked_idr=bookings[0].amount_idr,
                entry_refs=refs,
            )
        if not notices:
            flag(MismatchCode.NOTIFICATION_MISSING, "booked by the bank, which never reported on it", entry_refs=refs)
        return
    acsc_at = _first_acsc(notices)
    if p.status == SETTLED or acsc_at is not None:
        settled_at = p.settled_at if p.status == SETTLED and p.settled_at else acsc_at
        if settled_at is not None and settled_at >= window.end:
            out.carried_over.append(p.payout_id)
            return
        flag(
            MismatchCode.SETTLED_BUT_NOT_BOOKED,
            "the bank reported it settled but did not book it",
            expected_idr=p.net_idr,
        )
        return
    if p.status == SENT:
        if window.now - p.sent_at < window.bank_timeout:
            out.pending.append(p.payout_id)
            return
        flag(MismatchCode.SENT_NOT_ON_STATEMENT, "sent, not booked, and no final answer", expected_idr=p.net_idr)
        flag(MismatchCode.NOTIFICATION_MISSING, "the bank never reported on it")
        return
    # FAILED and not booked: consistent when the bank rejected it; a timeout means it stayed silent.
    if not notices:
        flag(MismatchCode.NOTIFICATION_MISSING, f"failed ({p.failure_code}) without any report from the bank")


def reconcile(
    window: Window,
    sent: Iterable[SentPayout],
    booked_elsewhere: Iterable[SentPayout],
    notices: Iterable[BankNotice],
    entries: Iterable[StatementEntry],
) -> Outcome:
    """`sent`: payouts sent to this bank in the window; `booked_elsewhere`: payouts of this bank sent on
    another day whose end-to-end id this day's statement books (a transfer that crossed midnight)."""
    sent = list(sent)
    sent_ids = {p.payout_id for p in sent}
    earlier = [p for p in booked_elsewhere if p.payout_id not in sent_ids]
    debits = [e for e in entries if e.credit_debit == "DBIT"]
    by_e2e: dict[str, list[StatementEntry]] = {}
    for entry in debits:
        by_e2e.setdefault(entry.end_to_end_id, []).append(entry)
    notices_of: dict[str, list[BankNotice]] = {}
    all_notices = [n for n in notices if n.outcome in ACCEPTED_OUTCOMES]
    for notice in all_notices:
        notices_of.setdefault(notice.payout_id, []).append(notice)

    out = Outcome()
    for payout in [*sent, *earlier]:
        _check_payout(payout, by_e2e.get(payout.end_to_end_id, []), notices_of.get(payout.payout_id, []), window, out)
    known = {p.end_to_end_id for p in [*sent, *earlier]}
    for e2e, unknown in by_e2e.items():
        if e2e not in known:
            out.mismatches.append(
                Mismatch(
                    MismatchCode.ON_STATEMENT_NOT_SENT,
                    f"debit of IDR {sum(u.amount_idr for u in unknown)} that no payout sent to this bank explains",
                    end_to_end_id=e2e,
                    booked_idr=sum(u.amount_idr for u in unknown),
                    entry_refs=tuple(u.entry_ref for u in unknown),
                )
            )

    matched = [
        p
        for p in sent
        if p.status == SETTLED
        and len(by_e2e.get(p.end_to_end_id, [])) == 1
        and by_e2e[p.end_to_end_id][0].amount_idr == p.net_idr
    ]
    out.counts = {
        "payouts_sent": len(sent),
        "settled": sum(p.status == SETTLED for p in sent),
        "failed": sum(p.status == FAILED for p in sent),
        "in_flight": sum(p.status == SENT for p in sent),
        "booked_from_earlier_days": len(earlier),
        "notifications": len(all_notices),
        "duplicate_notifications": sum(n.outcome == "duplicate" for n in all_notices),
        "late_notifications": sum(n.outcome == "late" for n in all_notices),
        "statement_entries": len(debits),
        "matched": len(matched),
        "pending": len(out.pending),
        "carried_over": len(out.carried_over),
        "mismatches": len(out.mismatches),
    }
    out.totals = {
        "sent_idr": sum(p.net_idr for p in sent),
        "settled_idr": sum(p.net_idr for p in sent if p.status == SETTLED),
        "booked_idr": sum(e.amount_idr for e in debits),
        "matched_idr": sum(p.net_idr for p in matched),
    }
    return out
