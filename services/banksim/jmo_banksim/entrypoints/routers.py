"""The simulator's HTTP surface: accounts, the account inquiry, behaviour switches, transfers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.errors import not_found

from ..domain.behaviour import Behaviour, Mode
from ..domain.statement import StatementLie
from ..service_layer import accounts
from ..service_layer.state import BankState
from .answers import BehaviourBookAnswer, StatementAnswer, TransferRecord

BankCode = Annotated[str, Field(pattern=r"^\d{3}$")]
AccountNumber = Annotated[str, Field(pattern=r"^\d{6,20}$")]


def get_state(request: Request) -> BankState:
    return request.app.state.bank


State = Annotated[BankState, Depends(get_state)]

router = APIRouter(prefix="/sim", tags=["partner-bank simulator"])


class OpenAccount(BaseModel):
    bank_code: BankCode
    account_number: AccountNumber
    holder_name: str = Field(min_length=1, max_length=140)


class AccountRef(BaseModel):
    # Lenient on purpose: an account this bank does not hold answers 404, whatever its shape.
    bank_code: str = Field(min_length=1, max_length=8)
    account_number: str = Field(min_length=1, max_length=34)


class Inquiry(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"bank_code": "009", "account_number": "0123456789", "holder_name": "SITI AMINAH"}]
        }
    )

    bank_code: str
    account_number: str
    holder_name: str


class AccountEntry(BaseModel):
    end_to_end_id: str
    payout_id: str
    amount_idr: int
    remittance_info: str
    at: datetime


class Account(Inquiry):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bank_code": "009",
                    "account_number": "0123456789",
                    "holder_name": "SITI AMINAH",
                    "balance_idr": 14_250_000,
                    "transactions": [
                        {
                            "end_to_end_id": "E2E20260303PAY7F3A9C21",
                            "payout_id": "pay-7f3a9c21",
                            "amount_idr": 14_250_000,
                            "remittance_info": "JHT CLM-7F3A9C21",
                            "at": "2026-03-03T03:15:07.150000Z",
                        }
                    ],
                }
            ]
        }
    )

    balance_idr: int
    transactions: list[AccountEntry] = []


class SetBehaviour(BaseModel):
    bank_code: BankCode | None = None
    mode: Mode
    delay_seconds: float | None = Field(default=None, ge=0, le=3600)
    reason_code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{2,8}$")
    reason: str | None = Field(default=None, max_length=140)
    # Make this bank's statements lie (for reconciliation tests); null: honest.
    statement: StatementLie | None = None


def _account(doc: dict[str, Any]) -> Account:
    return Account.model_validate({k: v for k, v in doc.items() if k != "_id"})


@router.post("/accounts", status_code=201, response_model=Account, summary="Open an account (idempotent)")
async def open_account(body: OpenAccount, state: State) -> Account:
    return _account(
        await accounts.open_account(state.db, state.clock, body.bank_code, body.account_number, body.holder_name)
    )


@router.get("/accounts/{bank_code}/{account_number}", response_model=Account, summary="Balance and credits")
async def get_account(
    state: State,
    bank_code: Annotated[str, Path(pattern=r"^\d{3}$")],
    account_number: Annotated[str, Path(pattern=r"^\d{6,20}$")],
) -> Account:
    return _account(await accounts.get_account(state.db, bank_code, account_number))


@router.post("/account-inquiry", response_model=Inquiry, summary="Who holds this account (404 account_not_found)")
async def inquire_account(body: AccountRef, state: State) -> Inquiry:
    doc = await accounts.get_account(state.db, body.bank_code, body.account_number)
    return Inquiry(bank_code=doc["bank_code"], account_number=doc["account_number"], holder_name=doc["holder_name"])


@router.post(
    "/behaviour",
    response_model=BehaviourBookAnswer,
    summary="Make one bank (or all) misbehave: normal|slow|reject|duplicate|reorder|silent",
    description="`statement`: drop_one | extra_entry | wrong_amount | duplicate_entry makes the bank's "
    "camt.053 statements lie about the last booked transfer (or add one nobody sent).",
)
async def set_behaviour(body: SetBehaviour, state: State) -> dict[str, Any]:
    behaviour = Behaviour(
        mode=body.mode,
        delay_seconds=body.delay_seconds,
        reason_code=body.reason_code,
        reason=body.reason,
        statement=body.statement,
    )
    state.book.set(behaviour, body.bank_code)
    return state.book.snapshot()


@router.get("/behaviour", response_model=BehaviourBookAnswer, summary="The current behaviour of every bank")
async def get_behaviour(state: State) -> dict[str, Any]:
    return state.book.snapshot()


# A transfer not yet executed or reported has no such fields yet: exclude_unset leaves them out, as stored.
@router.get(
    "/transfers",
    response_model=list[TransferRecord],
    response_model_exclude_unset=True,
    summary="What the bank did with a payout's transfer(s)",
)
async def list_transfers(
    state: State, payout_id: Annotated[str, Query(min_length=1, max_length=64)]
) -> list[dict[str, Any]]:
    docs = await state.transfers_of_payout(payout_id)
    if not docs:
        raise not_found("transfer", code="transfer_not_found")
    return [{k: v for k, v in d.items() if k != "_id"} for d in docs]


@router.get(
    "/statements/{bank_code}",
    response_model=StatementAnswer,
    summary="The fund account's statement for one business day (ISO 20022 camt.053 BkToCstmrStmt, JSON)",
    description="One DBIT entry per credit transfer the bank booked (executed, ACSC) that day in Jakarta time; "
    "rejected and ignored transfers are not booked. Amounts are integer rupiah.",
)
async def get_statement(
    state: State,
    bank_code: Annotated[str, Path(pattern=r"^\d{3}$")],
    day: Annotated[date, Query(alias="date", description="business day, YYYY-MM-DD")],
) -> dict[str, Any]:
    return await state.statements.statement(bank_code, day)
