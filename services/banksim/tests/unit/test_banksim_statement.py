from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from jmo_banksim.domain.behaviour import Behaviour
from jmo_banksim.domain.statement import (
    EXTRA_ENTRY_AMOUNT_IDR,
    WRONG_AMOUNT_DELTA_IDR,
    BookedTransfer,
    FundAccount,
    build_statement,
)

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 11, 23)
ACCOUNT = FundAccount("014", "0147000001", "BPJS Ketenagakerjaan")
CREATED = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def booked(n: int, amount: int, at: datetime) -> BookedTransfer:
    return BookedTransfer(
        end_to_end_id=f"E2E{n}",
        payout_id=f"p{n}",
        amount_idr=amount,
        creditor_account="1234567890",
        creditor_name="SITI AMINAH",
        remittance_info=f"JHT CLM-{n}",
        bank_reference=f"SIM014{n:012d}",
        booked_at=at,
    )


# 23:30 WIB on the 22nd is the 22nd; 00:30 WIB on the 23rd is 17:30 UTC on the 22nd.
FIRST = booked(1, 1_000_000, datetime(2026, 11, 22, 17, 30, tzinfo=UTC))
SECOND = booked(2, 2_500_000, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


def stmt(transfers: list[BookedTransfer], lie=None) -> dict:
    return build_statement(ACCOUNT, DAY, WIB, CREATED, 10_000_000, transfers, lie)["BkToCstmrStmt"]["Stmt"][0]


def test_an_honest_statement_lists_each_booked_transfer_as_a_debit() -> None:
    s = stmt([SECOND, FIRST])
    assert s["Id"] == "STMT-014-20261123"
    assert s["Acct"]["Id"]["Othr"]["Id"] == "0147000001" and s["Acct"]["Svcr"]["FinInstnId"]["Othr"]["Id"] == "014"
    assert s["FrToDt"] == {"FrDtTm": "2026-11-23T00:00:00+07:00", "ToDtTm": "2026-11-24T00:00:00+07:00"}
    assert [e["NtryDtls"][0]["TxDtls"][0]["Refs"]["EndToEndId"] for e in s["Ntry"]] == ["E2E1", "E2E2"]
    first = s["Ntry"][0]
    assert first["Amt"] == {"Ccy": "IDR", "Value": 1_000_000} and first["CdtDbtInd"] == "DBIT"
    assert first["Sts"] == {"Cd": "BOOK"}
    assert first["BookgDt"] == first["ValDt"] == {"Dt": "2026-11-23"}  # Jakarta date, not UTC's
    details = first["NtryDtls"][0]["TxDtls"][0]
    assert details["RltdPties"]["CdtrAcct"]["Id"]["Othr"]["Id"] == "1234567890"
    assert details["RmtInf"]["Ustrd"] == ["JHT CLM-1"]
    assert first["NtryRef"] == "SIM014000000000001"
    balances = {b["Tp"]["CdOrPrtry"]["Cd"]: b["Amt"]["Value"] for b in s["Bal"]}
    assert balances == {"OPBD": 10_000_000, "CLBD": 10_000_000 - 3_500_000}
    assert s["TxsSummry"]["TtlDbtNtries"] == {"NbOfNtries": 2, "Sum": 3_500_000}


def test_an_empty_day_has_equal_balances_and_no_entries() -> None:
    s = stmt([])
    assert s["Ntry"] == [] and s["Bal"][0]["Amt"] == s["Bal"][1]["Amt"]


@pytest.mark.parametrize("lie", ["drop_one", "wrong_amount", "duplicate_entry"])
def test_each_lie_is_about_the_last_booked_transfer(lie: str) -> None:
    entries = stmt([FIRST, SECOND], lie)["Ntry"]
    ids = [e["NtryDtls"][0]["TxDtls"][0]["Refs"]["EndToEndId"] for e in entries]
    amounts = [e["Amt"]["Value"] for e in entries]
    if lie == "drop_one":
        assert ids == ["E2E1"]
    elif lie == "wrong_amount":
        assert ids == ["E2E1", "E2E2"] and amounts == [1_000_000, 2_500_000 + WRONG_AMOUNT_DELTA_IDR]
    else:
        assert ids == ["E2E1", "E2E2", "E2E2"] and entries[1]["NtryRef"] != entries[2]["NtryRef"]


def test_extra_entry_adds_a_debit_nobody_instructed_even_on_an_empty_day() -> None:
    entries = stmt([], "extra_entry")["Ntry"]
    assert len(entries) == 1 and entries[0]["Amt"]["Value"] == EXTRA_ENTRY_AMOUNT_IDR
    assert entries[0]["NtryDtls"][0]["TxDtls"][0]["Refs"]["EndToEndId"] == "SIMEXTRA01420261123"
    assert entries[0]["BookgDt"] == {"Dt": "2026-11-23"}
    assert stmt([], "drop_one")["Ntry"] == []


def test_the_lie_belongs_to_the_behaviour_and_defaults_to_honest() -> None:
    assert Behaviour().statement is None
    assert Behaviour("normal", statement="drop_one").as_dict()["statement"] == "drop_one"
