"""The simulator's answers that are not an account: behaviour, transfers, the camt.053 statement.

Each with an example. Element names of the statement are camt.053.001.08's own (ISO 20022), as the
payout service's reconciliation reads them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from ..domain.behaviour import Mode
from ..domain.statement import StatementLie

# A stored time, written as Python writes it (`2026-03-03T03:15:07.123000+00:00`), as before it was typed.
StoredTime = Annotated[
    datetime,
    PlainSerializer(lambda at: at.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# A time the statement already wrote as an ISO-8601 string (with the bank's or UTC's offset).
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


# --- behaviour ----------------------------------------------------------------------------


class BehaviourState(BaseModel):
    mode: Mode
    delay_seconds: float | None
    reason_code: str | None
    reason: str | None
    statement: StatementLie | None = Field(description="how the bank's statements lie; null: honestly")


_NORMAL = {"mode": "normal", "delay_seconds": None, "reason_code": None, "reason": None, "statement": None}


class BehaviourBookAnswer(BaseModel):
    """Every bank's behaviour: `default` for the banks not named in `banks`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "default": _NORMAL,
                    "banks": {
                        "009": {
                            "mode": "reject",
                            "delay_seconds": 2.0,
                            "reason_code": "AC04",
                            "reason": "closed account",
                            "statement": None,
                        },
                        "014": {**_NORMAL, "statement": "wrong_amount"},
                    },
                }
            ]
        }
    )

    default: BehaviourState
    banks: dict[str, BehaviourState] = Field(description="by bank code")


# --- transfers ----------------------------------------------------------------------------


class TransferPlan(BaseModel):
    """What the bank decided to do with the transfer when the instruction arrived."""

    answer: bool
    delay_seconds: float
    reject_code: str | None
    reject_reason: str
    copies: int
    reorder: bool


class TransferRecord(BaseModel):
    """One credit transfer as the bank holds it; the execution's fields once executed, the report's once reported."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bank_code": "009",
                    "end_to_end_id": "E2E20260303PAY7F3A9C21",
                    "payout_id": "pay-7f3a9c21",
                    "account_number": "0123456789",
                    "creditor_name": "SITI AMINAH",
                    "amount_idr": 14_250_000,
                    "remittance_info": "JHT CLM-7F3A9C21",
                    "notify_url": "http://127.0.0.1:8005/v1/bank/notifications",
                    "plan": {
                        "answer": True,
                        "delay_seconds": 2.0,
                        "reject_code": None,
                        "reject_reason": "",
                        "copies": 1,
                        "reorder": False,
                    },
                    "status": "ACSC",
                    "received_at": "2026-03-03T03:15:05.120000+00:00",
                    "execute_at": "2026-03-03T03:15:07.120000+00:00",
                    "notified_at": "2026-03-03T03:15:07.310000+00:00",
                    "notifications": 1,
                    "trace": {},
                    "reason_code": None,
                    "reason": "",
                    "bank_reference": "SIM009482019374651",
                    "executed_at": "2026-03-03T03:15:07.150000+00:00",
                    "notify_outcome": "accepted:200",
                }
            ]
        }
    )

    bank_code: str
    end_to_end_id: str
    payout_id: str
    account_number: str
    creditor_name: str
    amount_idr: int
    remittance_info: str
    notify_url: str | None
    plan: TransferPlan
    status: str = Field(description="RECEIVED, IGNORED (silent), or once executed ACSC or RJCT")
    received_at: StoredTime
    execute_at: StoredTime
    notified_at: StoredTime | None = Field(description="when the bank reported it; null until then")
    notifications: int = Field(description="reports sent (two for a duplicating bank)")
    trace: dict[str, str] = Field(description="W3C trace headers of the payout that sent it")
    reason_code: str | None = Field(default=None, description="once executed: the rejection's code")
    reason: str | None = Field(default=None, description="once executed: the rejection's reason, empty if accepted")
    bank_reference: str | None = Field(default=None, description="once executed")
    executed_at: StoredTime | None = Field(default=None, description="once executed")
    notify_outcome: str | None = Field(default=None, description="once reported: how the report went")


# --- the camt.053 statement ---------------------------------------------------------------


class Code(BaseModel):
    Cd: str


class Amount(BaseModel):
    Ccy: str = Field(description="IDR")
    Value: int = Field(description="integer rupiah")


class DateOnly(BaseModel):
    Dt: date


class OtherId(BaseModel):
    Id: str


class OtherIdentification(BaseModel):
    Othr: OtherId


class FinancialInstitution(BaseModel):
    FinInstnId: OtherIdentification


class Party(BaseModel):
    Nm: str


class GroupHeader(BaseModel):
    MsgId: str
    CreDtTm: Time


class FromToDate(BaseModel):
    FrDtTm: Time
    ToDtTm: Time


class StatementAccount(BaseModel):
    Id: OtherIdentification
    Ccy: str
    Ownr: Party
    Svcr: FinancialInstitution


class BalanceType(BaseModel):
    CdOrPrtry: Code = Field(description="OPBD (opening booked) or CLBD (closing booked)")


class Balance(BaseModel):
    Tp: BalanceType
    Amt: Amount
    CdtDbtInd: str = Field(description="CRDT or DBIT")
    Dt: DateOnly


class EntryCount(BaseModel):
    NbOfNtries: int
    Sum: int


class TransactionsSummary(BaseModel):
    TtlNtries: EntryCount
    TtlDbtNtries: EntryCount
    TtlCdtNtries: EntryCount


class BankTransactionFamily(BaseModel):
    Cd: str
    SubFmlyCd: str


class BankTransactionDomain(BaseModel):
    Cd: str
    Fmly: BankTransactionFamily


class BankTransactionCode(BaseModel):
    Domn: BankTransactionDomain


class References(BaseModel):
    EndToEndId: str
    AcctSvcrRef: str


class TransactionAmount(BaseModel):
    Amt: Amount


class AmountDetails(BaseModel):
    TxAmt: TransactionAmount


class PartyRef(BaseModel):
    Pty: Party


class AccountId(BaseModel):
    Id: OtherIdentification


class RelatedParties(BaseModel):
    Cdtr: PartyRef
    CdtrAcct: AccountId


class RelatedAgents(BaseModel):
    CdtrAgt: FinancialInstitution


class Remittance(BaseModel):
    Ustrd: list[str]


class TransactionDetails(BaseModel):
    Refs: References
    AmtDtls: AmountDetails
    RltdPties: RelatedParties
    RltdAgts: RelatedAgents
    RmtInf: Remittance


class EntryDetails(BaseModel):
    TxDtls: list[TransactionDetails]


class Entry(BaseModel):
    NtryRef: str
    Amt: Amount
    CdtDbtInd: str
    Sts: Code
    BookgDt: DateOnly
    ValDt: DateOnly
    AcctSvcrRef: str
    BkTxCd: BankTransactionCode
    NtryDtls: list[EntryDetails]


class Statement(BaseModel):
    Id: str
    ElctrncSeqNb: int
    CreDtTm: Time
    FrToDt: FromToDate
    Acct: StatementAccount
    Bal: list[Balance]
    TxsSummry: TransactionsSummary
    Ntry: list[Entry]


class BankToCustomerStatement(BaseModel):
    GrpHdr: GroupHeader
    Stmt: list[Statement]


def _example_statement() -> dict:
    amount = {"Ccy": "IDR", "Value": 14_250_000}
    return {
        "BkToCstmrStmt": {
            "GrpHdr": {"MsgId": "CAMT053-009-20260303-180000000000", "CreDtTm": "2026-03-03T18:00:00+00:00"},
            "Stmt": [
                {
                    "Id": "STMT-009-20260303",
                    "ElctrncSeqNb": 739678,
                    "CreDtTm": "2026-03-03T18:00:00+00:00",
                    "FrToDt": {"FrDtTm": "2026-03-03T00:00:00+07:00", "ToDtTm": "2026-03-04T00:00:00+07:00"},
                    "Acct": {
                        "Id": {"Othr": {"Id": "0097000001"}},
                        "Ccy": "IDR",
                        "Ownr": {"Nm": "BPJS Ketenagakerjaan"},
                        "Svcr": {"FinInstnId": {"Othr": {"Id": "009"}}},
                    },
                    "Bal": [
                        {
                            "Tp": {"CdOrPrtry": {"Cd": "OPBD"}},
                            "Amt": {"Ccy": "IDR", "Value": 1_000_000_000},
                            "CdtDbtInd": "CRDT",
                            "Dt": {"Dt": "2026-03-03"},
                        },
                        {
                            "Tp": {"CdOrPrtry": {"Cd": "CLBD"}},
                            "Amt": {"Ccy": "IDR", "Value": 985_750_000},
                            "CdtDbtInd": "CRDT",
                            "Dt": {"Dt": "2026-03-03"},
                        },
                    ],
                    "TxsSummry": {
                        "TtlNtries": {"NbOfNtries": 1, "Sum": 14_250_000},
                        "TtlDbtNtries": {"NbOfNtries": 1, "Sum": 14_250_000},
                        "TtlCdtNtries": {"NbOfNtries": 0, "Sum": 0},
                    },
                    "Ntry": [
                        {
                            "NtryRef": "SIM009482019374651",
                            "Amt": amount,
                            "CdtDbtInd": "DBIT",
                            "Sts": {"Cd": "BOOK"},
                            "BookgDt": {"Dt": "2026-03-03"},
                            "ValDt": {"Dt": "2026-03-03"},
                            "AcctSvcrRef": "SIM009482019374651",
                            "BkTxCd": {"Domn": {"Cd": "PMNT", "Fmly": {"Cd": "ICDT", "SubFmlyCd": "ESCT"}}},
                            "NtryDtls": [
                                {
                                    "TxDtls": [
                                        {
                                            "Refs": {
                                                "EndToEndId": "E2E20260303PAY7F3A9C21",
                                                "AcctSvcrRef": "SIM009482019374651",
                                            },
                                            "AmtDtls": {"TxAmt": {"Amt": amount}},
                                            "RltdPties": {
                                                "Cdtr": {"Pty": {"Nm": "SITI AMINAH"}},
                                                "CdtrAcct": {"Id": {"Othr": {"Id": "0123456789"}}},
                                            },
                                            "RltdAgts": {"CdtrAgt": {"FinInstnId": {"Othr": {"Id": "009"}}}},
                                            "RmtInf": {"Ustrd": ["JHT CLM-7F3A9C21"]},
                                        }
                                    ]
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    }


class StatementAnswer(BaseModel):
    """The fund account's statement for one business day (camt.053 BkToCstmrStmt, amounts in rupiah)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_example_statement()]})

    BkToCstmrStmt: BankToCustomerStatement
