"""Where a bank's end-of-day statement (camt.053-like JSON) comes from, and how it is read.

Each partner bank has a source: an HTTP base URL (the simulator locally, `GET
{base}/sim/statements/{bank_code}?date=YYYY-MM-DD`) or a `file://` directory that a bank's
file drop fills (`{dir}/{bank_code}-{date}.json`). Either may instead be a template with
`{bank_code}` and `{date}` placeholders.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import httpx

from ..domain.reconciliation import StatementEntry


class StatementUnavailable(Exception):
    """The statement could not be fetched or read; the reconciliation cannot run (yet)."""


@dataclass(frozen=True)
class Statement:
    statement_id: str
    bank_code: str
    business_date: date
    account: str
    created_at: str
    opening_balance_idr: int | None
    closing_balance_idr: int | None
    entries: list[StatementEntry]


class StatementSource(Protocol):
    async def fetch(self, bank_code: str, business_date: date) -> Statement: ...


def _get(doc: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(doc, list) or len(doc) <= key:
                return None
        elif not isinstance(doc, dict):
            return None
        doc = doc[key] if isinstance(key, int) else doc.get(key)
    return doc


def _amount(amt: Any) -> tuple[int, str]:
    """An ISO amount {Ccy, Value} in whole rupiah; a fractional or unreadable value is refused."""
    if not isinstance(amt, dict):
        raise StatementUnavailable("an entry has no amount")
    try:
        value = Decimal(str(amt.get("Value")))
    except InvalidOperation as exc:
        raise StatementUnavailable(f"unreadable amount {amt.get('Value')!r}") from exc
    if value != value.to_integral_value():
        raise StatementUnavailable(f"amount {value} is not whole rupiah")
    return int(value), str(amt.get("Ccy") or "IDR")


def _dt(choice: Any) -> date | None:
    text = _get(choice, "Dt") or (_get(choice, "DtTm") or "")[:10]
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise StatementUnavailable(f"unreadable date {text!r}") from exc


def _balance(stmt: dict, code: str) -> int | None:
    for bal in stmt.get("Bal") or []:
        if _get(bal, "Tp", "CdOrPrtry", "Cd") == code:
            value, _ = _amount(bal.get("Amt"))
            return -value if bal.get("CdtDbtInd") == "DBIT" else value
    return None


def _entries(ntry: dict) -> list[StatementEntry]:
    """One entry per transaction: a batch booking (several TxDtls) is split into its transfers."""
    if _get(ntry, "Sts", "Cd") not in (None, "BOOK"):
        return []  # pending or informational: not booked
    amount, currency = _amount(ntry.get("Amt"))
    booked_on = _dt(ntry.get("BookgDt"))
    ref = str(ntry.get("NtryRef") or ntry.get("AcctSvcrRef") or "")
    details = [tx for d in ntry.get("NtryDtls") or [] for tx in (d.get("TxDtls") or [])]
    out = []
    for tx in details or [{}]:
        if len(details) > 1:
            amount, currency = _amount(_get(tx, "AmtDtls", "TxAmt", "Amt"))
        out.append(
            StatementEntry(
                entry_ref=ref,
                end_to_end_id=str(_get(tx, "Refs", "EndToEndId") or ""),
                amount_idr=amount,
                currency=currency,
                credit_debit=str(ntry.get("CdtDbtInd") or ""),
                booking_date=booked_on,
                creditor_account=str(_get(tx, "RltdPties", "CdtrAcct", "Id", "Othr", "Id") or ""),
            )
        )
    return out


def parse_camt053(doc: Any, bank_code: str, business_date: date) -> Statement:
    """The first statement of a BkToCstmrStmt document, checked to be this bank's and this day's."""
    stmt = _get(doc, "BkToCstmrStmt", "Stmt", 0)
    if not isinstance(stmt, dict):
        raise StatementUnavailable("not a camt.053 document (no BkToCstmrStmt.Stmt)")
    servicer = _get(stmt, "Acct", "Svcr", "FinInstnId", "Othr", "Id")
    if servicer is not None and servicer != bank_code:
        raise StatementUnavailable(f"statement of bank {servicer}, not {bank_code}")
    entries = [e for ntry in stmt.get("Ntry") or [] for e in _entries(ntry)]
    if any(e.booking_date not in (None, business_date) for e in entries):
        raise StatementUnavailable(f"entries booked on another day than {business_date}")
    return Statement(
        statement_id=str(stmt.get("Id") or ""),
        bank_code=bank_code,
        business_date=business_date,
        account=str(_get(stmt, "Acct", "Id", "Othr", "Id") or _get(stmt, "Acct", "Id", "IBAN") or ""),
        created_at=str(stmt.get("CreDtTm") or ""),
        opening_balance_idr=_balance(stmt, "OPBD"),
        closing_balance_idr=_balance(stmt, "CLBD"),
        entries=entries,
    )


def _fill(template: str, bank_code: str, business_date: date) -> str:
    return template.replace("{bank_code}", bank_code).replace("{date}", business_date.isoformat())


class HttpStatementSource:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def fetch(self, bank_code: str, business_date: date) -> Statement:
        if "{date}" in self._base:
            url, params = _fill(self._base, bank_code, business_date), None
        else:
            url, params = f"{self._base}/sim/statements/{bank_code}", {"date": business_date.isoformat()}
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise StatementUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise StatementUnavailable(f"{url} answered {response.status_code}: {response.text[:200]}")
        try:
            doc = response.json()
        except ValueError as exc:
            raise StatementUnavailable("the statement is not JSON") from exc
        return parse_camt053(doc, bank_code, business_date)


class FileStatementSource:
    def __init__(self, location: str) -> None:
        path = unquote(urlparse(location).path) if location.startswith("file:") else location
        self._template = path if "{date}" in path else str(Path(path) / "{bank_code}-{date}.json")

    async def fetch(self, bank_code: str, business_date: date) -> Statement:
        path = Path(_fill(self._template, bank_code, business_date))
        try:
            text = await asyncio.to_thread(path.read_text, "utf-8")
            doc = json.loads(text)
        except (OSError, ValueError) as exc:
            raise StatementUnavailable(f"{path}: {exc}") from exc
        return parse_camt053(doc, bank_code, business_date)


class StatementSources:
    """The source of each bank: its own if configured, else the default."""

    def __init__(self, client: httpx.AsyncClient, default: str, per_bank: dict[str, str]) -> None:
        self._client = client
        self._default = default
        self._per_bank = per_bank

    def for_bank(self, bank_code: str) -> StatementSource:
        location = self._per_bank.get(bank_code, self._default)
        if location.startswith(("http://", "https://")):
            return HttpStatementSource(self._client, location)
        return FileStatementSource(location)

    async def fetch(self, bank_code: str, business_date: date) -> Statement:
        return await self.for_bank(bank_code).fetch(bank_code, business_date)
