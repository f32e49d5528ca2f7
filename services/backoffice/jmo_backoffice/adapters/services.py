"""The services' HTTP APIs, called with the signed-in officer's staff token.

The back office holds no claims, complaints or payouts: every page is read from the
service that owns the data, and every action is that service's own endpoint, so the
services' role checks and audit trails see the officer, not the back office.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from jmo_shared.logging import get_logger

log = get_logger(__name__)

# The document kinds a browser may be shown inline; anything else is not proxied.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf"})


class UpstreamError(Exception):
    """A service answered with an error (its problem+json `code` and `detail`), or could not be reached."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Upstreams:
    claims: str
    helpdesk: str
    payout: str
    claims_metrics: tuple[str, ...] = ()
    payout_metrics: tuple[str, ...] = ()
    risk: str | None = None


def _error(resp: httpx.Response) -> UpstreamError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    code = str(body.get("code") or body.get("title") or "upstream_error")
    detail = str(body.get("detail") or resp.reason_phrase)
    return UpstreamError(resp.status_code, code, detail)


class ServicesClient:
    def __init__(
        self, upstreams: Upstreams, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.upstreams = upstreams
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, url: str, token: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        try:
            resp = await self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("upstream_unreachable", url=url, error=str(exc), error_type=type(exc).__name__)
            raise UpstreamError(503, "service_unreachable", "the service cannot be reached right now") from exc
        if resp.status_code >= 400:
            raise _error(resp)
        return resp.json() if resp.content else {}

    # --- claims: manual review -------------------------------------------------

    async def review_queue(
        self, token: str, reason: str | None, escalated: bool | None, page: int, page_size: int
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page, "page_size": page_size}
        if reason:
            params["reason"] = reason
        if escalated is not None:
            params["escalated"] = str(escalated).lower()
        return await self._call("GET", f"{self.upstreams.claims}/v1/review/claims", token, params=params)

    async def review_claim(self, token: str, claim_id: str) -> dict[str, Any]:
        return await self._call("GET", f"{self.upstreams.claims}/v1/review/claims/{_segment(claim_id)}", token)

    async def reason_codes(self, token: str) -> dict[str, Any]:
        return await self._call("GET", f"{self.upstreams.claims}/v1/review/reason-codes", token)

    async def decide(self, token: str, claim_id: str, decision: str, reason_code: str, note: str) -> dict[str, Any]:
        return await self._call(
            "POST",
            f"{self.upstreams.claims}/v1/review/claims/{_segment(claim_id)}/decision",
            token,
            json={"decision": decision, "reason_code": reason_code, "note": note},
        )

    @asynccontextmanager
    async def document(self, token: str, claim_id: str, document_id: str) -> AsyncIterator[httpx.Response]:
        """The document's response, streaming; the caller relays its body."""
        url = f"{self.upstreams.claims}/v1/review/claims/{_segment(claim_id)}/documents/{_segment(document_id)}"
        request = self._http.build_request("GET", url, headers={"Authorization": f"Bearer {token}"})
        try:
            resp = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise UpstreamError(503, "service_unreachable", "the service cannot be reached right now") from exc
        try:
            if resp.status_code >= 400:
                await resp.aread()
                raise _error(resp)
            yield resp
        finally:
            await resp.aclose()

    # --- helpdesk: complaints -------------------------------------------------

    async def complaints(self, token: str, status: str, page: int = 1, page_size: int = 50) -> dict[str, Any]:
        return await self._call(
            "GET",
            f"{self.upstreams.helpdesk}/v1/officer/complaints",
            token,
            params={"status": status, "page": page, "page_size": page_size},
        )

    async def reply(self, token: str, ticket: str, text: str) -> dict[str, Any]:
        return await self._call(
            "POST",
            f"{self.upstreams.helpdesk}/v1/officer/complaints/{_segment(ticket)}/replies",
            token,
            json={"text": text},
        )

    async def close_complaint(self, token: str, ticket: str, resolution: str) -> dict[str, Any]:
        return await self._call(
            "POST",
            f"{self.upstreams.helpdesk}/v1/officer/complaints/{_segment(ticket)}/close",
            token,
            json={"resolution": resolution},
        )

    # --- risk: flags -------------------------------------------------------------

    async def clear_flag(self, token: str, flag_id: str, note: str) -> dict[str, Any]:
        if not self.upstreams.risk:
            raise UpstreamError(503, "service_unreachable", "the risk service is not configured")
        return await self._call(
            "POST", f"{self.upstreams.risk}/v1/risk/flags/{_segment(flag_id)}/clear", token, json={"note": note}
        )

    # --- payout: reconciliation -------------------------------------------------

    async def reconciliations(
        self, token: str, bank_code: str | None = None, day: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if bank_code:
            params["bank_code"] = bank_code
        if day:
            params["date"] = day
        return await self._call("GET", f"{self.upstreams.payout}/v1/reconciliations", token, params=params)

    async def reconciliation(self, token: str, reconciliation_id: str) -> dict[str, Any]:
        return await self._call(
            "GET", f"{self.upstreams.payout}/v1/reconciliations/{_segment(reconciliation_id)}", token
        )

    async def run_reconciliation(self, token: str, bank_code: str, day: str) -> dict[str, Any]:
        return await self._call(
            "POST", f"{self.upstreams.payout}/v1/reconciliations", token, json={"bank_code": bank_code, "date": day}
        )

    # --- metrics (the dashboard) -------------------------------------------------

    async def metric_samples(self, urls: tuple[str, ...], name: str) -> list[tuple[dict[str, str], float]]:
        """Every sample of one metric across the given /metrics endpoints; an endpoint down is skipped."""
        samples: list[tuple[dict[str, str], float]] = []
        for url in urls:
            try:
                resp = await self._http.get(url)
                resp.raise_for_status()
            except httpx.HTTPError as exc:
                log.info("metrics_unreachable", url=url, error=str(exc))
                continue
            for family in text_string_to_metric_families(resp.text):
                for sample in family.samples:
                    if sample.name in (name, f"{name}_total"):
                        samples.append((dict(sample.labels), sample.value))
        return samples

    async def ready(self) -> bool:
        """The claims API answers (the service officers need first)."""
        try:
            return (await self._http.get(f"{self.upstreams.claims}/healthz", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False


def _segment(value: str) -> str:
    """A path segment taken from a URL or a form: only the characters ids are made of."""
    if not value or not all(c.isalnum() or c in "-_." for c in value) or value in (".", ".."):
        raise UpstreamError(404, "not_found", "no such item")
    return value
