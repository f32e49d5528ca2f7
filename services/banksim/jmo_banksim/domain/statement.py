"""The bank's end-of-day statement of the fund's account (ISO 20022 camt.053 BkToCstmrStmt in JSON).

Built only from what the simulator booked: every executed credit transfer (ACSC) is one debit
entry on the fund's account; rejected and ignored transfers are never booked. Element names
follow camt.053.001.08; amounts are integer rupiah (IDR has no minor unit in practice).

A statement can be told to lie (`StatementLie`), so the payout service's reconciliation
can be shown to catch each kind of disagreement. Pure Python, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

StatementLie = Literal["drop_one", "extra_entry", "wrong_amount", "duplicate_entry"]

# What the "wrong_amount" lie adds to the last entry, and the amount of the "extra_entry" lie.
WRONG_AMOUNT_DELTA_IDR = 1_000
EXTRA_ENTRY_AMOUNT_IDR = 750_000


@dataclass(frozen=True)
class FundAccount:
    """The fund's account at this bank, which the payouts are debited from."""

    bank_code: str
    account_number: str
    owner_name: str


@dataclass(frozen=True)
class BookedTransfer:
    end_to_end_id: str
    payout_id: str
    amount_idr: int
    creditor_account: str
    creditor_name: str
    remittance_info: str
    bank_reference: str
    booked_at: datetime


def business_day(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The bank's business day [start, end) as aware datetimes in its own time zone."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def apply_lie(
    booked: list[BookedTransfer], lie: StatementLie | None, day: date, bank_code: str, tz: tzinfo
) -> list[BookedTransfer]:
    """The entries as the lying bank would list them; the last booked transfer is the one lied about."""
    entries = sorted(booked, key=lambda b: (b.booked_at, b.end_to_end_id))
    if lie is None:
        return entries
    if lie == "extra_entry":
        # A debit the fund never instructed: an end-to-end id no payout has.
        at = entries[-1].booked_at if entries else datetime.combine(day, time(12), tzinfo=tz)
        return [
            *entries,
            BookedTransfer(
                end_to_end_id=f"SIMEXTRA{bank_code}{day:%Y%m%d}",
                payout_id="",
                amount_idr=EXTRA_ENTRY_AMOUNT_IDR,
                creditor_account="0000000001",
                creditor_name="UNKNOWN",
                remittance_info="unknown transfer",
                bank_reference=f"SIMX{bank_code}{day:%Y%m%d}",
                booked_at=at,
            ),
        ]
    if not entries:
        return entries
    last = entries[-1]
    if lie == "drop_one":
        return entries[:-1]
    if lie == "wrong_amount":
        return [*entries[:-1], replace(last, amount_idr=last.amount_idr + WRONG_AMOUNT_DELTA_IDR)]
    # duplicate_entry: the bank booked the same transfer twice, under a second entry reference.
    return [*entries, replace(last, bank_reference=f"{last.bank_reference}D")]


def _amount(value: int) -> dict[str, Any]:
    return {"Ccy": "IDR", "Value": value}


def _balance(code: str, amount_idr: int, day: date) -> dict[str, Any]:
    return {
        "Tp": {"CdOrPrtry": {"Cd": code}},
        "Amt": _amount(abs(amount_idr)),
        "CdtDbtInd": "CRDT" if amount_idr >= 0 else "DBIT",
        "Dt": {"Dt": day.isoformat()},
    }


def _entry(b: BookedTransfer, tz: tzinfo, bank_code: str) -> dict[str, Any]:
    booked_on = b.booked_at.astimezone(tz).date().isoformat()
    return {
        "NtryRef": b.bank_reference,
        "Amt": _amount(b.amount_idr),
        "CdtDbtInd": "DBIT",
        "Sts": {"Cd": "BOOK"},
        "BookgDt": {"Dt": booked_on},
        "ValDt": {"Dt": booked_on},
        "AcctSvcrRef": b.bank_reference,
        # Payments / issued credit transfers / SEPA-like credit transfer: an outgoing payment.
        "BkTxCd": {"Domn": {"Cd": "PMNT", "Fmly": {"Cd": "ICDT", "SubFmlyCd": "ESCT"}}},
        "NtryDtls": [
            {
                "TxDtls": [
                    {
                        "Refs": {"EndToEndId": b.end_to_end_id, "AcctSvcrRef": b.bank_reference},
                        "AmtDtls": {"TxAmt": {"Amt": _amount(b.amount_idr)}},
                        "RltdPties": {
                            "Cdtr": {"Pty": {"Nm": b.creditor_name}},
                            "CdtrAcct": {"Id": {"Othr": {"Id": b.creditor_account}}},
                        },
                        "RltdAgts": {"CdtrAgt": {"FinInstnId": {"Othr": {"Id": bank_code}}}},
                        "RmtInf": {"Ustrd": [b.remittance_info]},
                    }
                ]
            }
        ],
    }


def build_statement(
    account: FundAccount,
    day: date,
    tz: tzinfo,
    created_at: datetime,
    opening_balance_idr: int,
    booked: list[BookedTransfer],
    lie: StatementLie | None = None,
) -> dict[str, Any]:
    """camt.053 for one business day; the closing balance follows from the entries it lists."""
    entries = apply_lie(booked, lie, day, account.bank_code, tz)
    debits = sum(e.amount_idr for e in entries)
    start, end = business_day(day, tz)
    statement_id = f"STMT-{account.bank_code}-{day:%Y%m%d}"
    return {
        "BkToCstmrStmt": {
            "GrpHdr": {
                "MsgId": f"CAMT053-{account.bank_code}-{day:%Y%m%d}-{created_at:%H%M%S%f}",
                "CreDtTm": created_at.isoformat(),
            },
            "Stmt": [
                {
                    "Id": statement_id,
                    # One statement a business day: its sequence number is the day's ordinal.
                    "ElctrncSeqNb": day.toordinal(),
                    "CreDtTm": created_at.isoformat(),
                    "FrToDt": {"FrDtTm": start.isoformat(), "ToDtTm": end.isoformat()},
                    "Acct": {
                        "Id": {"Othr": {"Id": account.account_number}},
                        "Ccy": "IDR",
                        "Ownr": {"Nm": account.owner_name},
                        "Svcr": {"FinInstnId": {"Othr": {"Id": account.bank_code}}},
                    },
                    "Bal": [
                        _balance("OPBD", opening_balance_idr, day),
                        _balance("CLBD", opening_balance_idr - debits, day),
                    ],
                    "TxsSummry": {
                        "TtlNtries": {"NbOfNtries": len(entries), "Sum": debits},
                        "TtlDbtNtries": {"NbOfNtries": len(entries), "Sum": debits},
                        "TtlCdtNtries": {"NbOfNtries": 0, "Sum": 0},
                    },
                    "Ntry": [_entry(e, tz, account.bank_code) for e in entries],
                }
            ],
        }
    }
