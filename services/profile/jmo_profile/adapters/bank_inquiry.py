"""The bank's account inquiry over HTTP (BI SNAP style; the partner-bank simulator locally).

POST {base_url}/sim/account-inquiry {bank_code, account_number}
  200 {bank_code, account_number, holder_name} | 404 problem (account_not_found)
"""

from __future__ import annotations

import httpx

from jmo_shared import httpclient
from jmo_shared.logging import get_logger

from ..service_layer.ports import AccountHolder, BankInquiryUnavailable

log = get_logger(__name__)


class HttpBankInquiry:
    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self._url = base_url.rstrip("/") + "/sim/account-inquiry"
        self._timeout = timeout_seconds
        # Made on first use, so processes that never ask a bank (the worker) hold no client.
        self._client: httpx.AsyncClient | None = None

    async def inquire(self, bank_code: str, account_number: str) -> AccountHolder | None:
        if self._client is None:
            self._client = httpclient.async_client(timeout=self._timeout)
        try:
            resp = await self._client.post(self._url, json={"bank_code": bank_code, "account_number": account_number})
        except httpx.HTTPError as exc:
            log.warning("bank_inquiry_failed", bank_code=bank_code, error=repr(exc))
            raise BankInquiryUnavailable(str(exc) or type(exc).__name__) from exc
        if resp.status_code == 404:
            if _problem_code(resp) in (None, "account_not_found"):
                return None
            # A 404 for another reason (a wrong URL, a missing route) says nothing about the account.
            raise BankInquiryUnavailable(f"the inquiry endpoint answered 404 {_problem_code(resp)}")
        if resp.status_code != 200:
            log.warning("bank_inquiry_bad_status", bank_code=bank_code, status=resp.status_code)
            raise BankInquiryUnavailable(f"the bank answered {resp.status_code}")
        try:
            body = resp.json()
            holder = str(body["holder_name"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise BankInquiryUnavailable("the bank's answer could not be read") from exc
        # An answer about another account than the one asked for must not confirm anything.
        if str(body.get("account_number", account_number)) != account_number or not holder:
            raise BankInquiryUnavailable("the bank answered about another account")
        return AccountHolder(bank_code=bank_code, account_number=account_number, holder_name=holder)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _problem_code(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
