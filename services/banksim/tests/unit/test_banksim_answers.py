"""The typed answers keep every field the simulator answered with before they were typed.

A response model filters what it is given: a field missing from one would silently vanish from
the answer. Each answer is built as the routes build it and put through its model the way FastAPI
does (validate, then dump to JSON), and must come out as FastAPI wrote the untyped answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter

from jmo_banksim.domain.behaviour import Behaviour, BehaviourBook, Plan
from jmo_banksim.domain.statement import BookedTransfer, FundAccount, build_statement
from jmo_banksim.entrypoints.answers import BehaviourBookAnswer, StatementAnswer, TransferRecord


def _through(model, answer, exclude_unset: bool = False):
    adapter = TypeAdapter(model)
    return adapter.dump_python(adapter.validate_python(answer), mode="json", exclude_unset=exclude_unset)


@pytest.mark.parametrize("lie", [None, "drop_one", "extra_entry", "wrong_amount", "duplicate_entry"])
def test_a_statement_keeps_every_element(lie) -> None:
    at = datetime(2026, 3, 3, 3, 15, 7, 150_000, tzinfo=UTC)
    booked = [
        BookedTransfer("E2E1", "p1", 1_500_000, "0123456789", "SITI AMINAH", "JHT CLM-1", "SIM009000000000001", at),
        BookedTransfer("E2E2", "p2", 900_000, "9876543210", "BUDI SANTOSO", "JHT CLM-2", "SIM009000000000002", at),
    ]
    statement = build_statement(
        FundAccount("009", "0097000001", "BPJS Ketenagakerjaan"),
        date(2026, 3, 3),
        ZoneInfo("Asia/Jakarta"),
        datetime(2026, 3, 3, 18, 0, tzinfo=UTC),
        1_000_000_000,
        booked,
        lie,
    )
    assert _through(StatementAnswer, statement) == jsonable_encoder(statement)


def test_the_behaviour_book_keeps_every_field() -> None:
    book = BehaviourBook()
    book.set(Behaviour("slow", delay_seconds=4.5))
    book.set(Behaviour("reject", reason_code="AC04", reason="closed account", statement="wrong_amount"), "009")
    snapshot = book.snapshot()
    assert _through(BehaviourBookAnswer, snapshot) == jsonable_encoder(snapshot)


def _transfer(**more):
    received = datetime(2026, 3, 3, 3, 15, 5, 120_000, tzinfo=UTC)
    return {
        "bank_code": "009",
        "end_to_end_id": "E2E1",
        "payout_id": "pay-1",
        "account_number": "0123456789",
        "creditor_name": "SITI AMINAH",
        "amount_idr": 1_500_000,
        "remittance_info": "JHT CLM-1",
        "notify_url": "http://127.0.0.1:8005/v1/bank/notifications",
        "plan": Plan(answer=True, delay_seconds=2.0).__dict__,
        "status": "RECEIVED",
        "received_at": received,
        "execute_at": received + timedelta(seconds=2),
        "notified_at": None,
        "notifications": 0,
        "trace": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        **more,
    }


def test_transfers_keep_every_field_and_gain_none_before_they_have_them() -> None:
    at = datetime(2026, 3, 3, 3, 15, 7, tzinfo=UTC)
    waiting = _transfer()
    reported = _transfer(
        status="ACSC",
        reason_code=None,
        reason="",
        bank_reference="SIM009000000000001",
        executed_at=at,
        notified_at=at + timedelta(milliseconds=200),
        notify_outcome="accepted:200",
        notifications=1,
    )
    docs = [waiting, reported]
    assert _through(list[TransferRecord], docs, exclude_unset=True) == jsonable_encoder(docs)
