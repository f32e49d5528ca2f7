"""What each page of the back office reads and does, through the services' APIs with the officer's token."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from jmo_shared.clock import Clock

from ..adapters.services import ServicesClient, UpstreamError
from ..domain import review
from ..domain.charts import BarChart, bar_chart

COMPLAINT_STATUSES = ("open", "answered", "closed")
CLAIM_STATUSES = ("SUBMITTED", "VERIFYING", "NEEDS_REVIEW", "APPROVED", "PAYING", "PAID", "REJECTED", "PAYOUT_FAILED")
RAILS = ("BI_FAST", "SKN", "RTGS")
PAYOUT_INITIATED = "jht.payout.PayoutInitiated.v1"


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Desk:
    def __init__(self, services: ServicesClient, clock: Clock, page_size: int = 25) -> None:
        self.services = services
        self._clock = clock
        self._page_size = page_size

    # --- claims in review -------------------------------------------------------------

    async def queue(
        self, token: str, reason: str | None, escalated: bool | None, risk_only: bool, page: int
    ) -> dict[str, Any]:
        # The risk flag is not a filter of the claims API: read a whole page's worth and keep the flagged.
        size = 100 if risk_only else self._page_size
        answer = await self.services.review_queue(token, reason, escalated, page, size)
        items = answer.get("items", [])
        if risk_only:
            items = [i for i in items if review.is_risk_flagged(i)]
        now = self._clock.now()
        for item in review.earliest_sla_first(items):
            item["sla_state"] = review.sla_state(_parse_time(item.get("sla_due_at")), now)
            item["risk_flagged"] = review.is_risk_flagged(item)
        total = answer.get("total", len(items))
        return {
            "items": review.earliest_sla_first(items),
            "total": total if not risk_only else len(items),
            "page": page,
            "pages": max(1, -(-total // size)),
        }

    async def claim(self, token: str, claim_id: str) -> dict[str, Any]:
        claim, codes, complaints = await asyncio.gather(
            self.services.review_claim(token, claim_id),
            self.services.reason_codes(token),
            self.complaints_about(token, claim_id),
        )
        claim["sla_state"] = review.sla_state(_parse_time(claim.get("sla_due_at")), self._clock.now())
        claim["risk_flagged"] = review.is_risk_flagged(claim)
        return {
            "claim": claim,
            "reason_codes": codes,
            "decidable": claim.get("status") == "NEEDS_REVIEW",
            "complaints": complaints,
        }

    async def complaints_about(self, token: str, claim_id: str, max_pages: int = 5) -> list[dict[str, Any]] | None:
        """The helpdesk's complaints naming this claim, with their status (None: the helpdesk cannot be asked).

        The claims service's officer view does not list them and the helpdesk's officer API has no
        claim filter, so they are picked from its lists (most recent work: at most `max_pages` per status).
        """
        found: list[dict[str, Any]] = []
        try:
            for status in COMPLAINT_STATUSES:
                for page in range(1, max_pages + 1):
                    answer = await self.services.complaints(token, status, page, 100)
                    found += [c for c in answer.get("items", []) if c.get("claim_id") == claim_id]
                    if page * 100 >= answer.get("total", 0):
                        break
        except UpstreamError:
            return None
        return sorted(found, key=lambda c: c.get("filed_at") or "")

    async def decide(self, token: str, claim_id: str, decision: str, reason_code: str, note: str) -> dict[str, Any]:
        if decision not in ("approve", "reject"):
            raise UpstreamError(422, "invalid_decision", "choose approve or reject")
        return await self.services.decide(token, claim_id, decision, reason_code, note.strip())

    async def clear_flag(self, token: str, flag_id: str, note: str) -> dict[str, Any]:
        return await self.services.clear_flag(token, flag_id, note.strip())

    # --- complaints ---------------------------------------------------------------------

    async def complaints(self, token: str, status: str) -> dict[str, Any]:
        status = status if status in COMPLAINT_STATUSES else "open"
        answer = await self.services.complaints(token, status, 1, 100)
        now = self._clock.now()
        items = sorted(answer.get("items", []), key=lambda c: c.get("sla_due_at") or "")
        for item in items:
            item["sla_state"] = (
                "closed"
                if item.get("status") == "closed"
                else review.sla_state(_parse_time(item.get("sla_due_at")), now)
            )
        return {"items": items, "status": status, "total": answer.get("total", len(items))}

    async def complaint(self, token: str, ticket: str) -> dict[str, Any]:
        """One complaint with its thread. The helpdesk's officer API lists by status, so it is looked up there."""
        for status in COMPLAINT_STATUSES:
            page = 1
            while True:
                answer = await self.services.complaints(token, status, page, 100)
                for item in answer.get("items", []):
                    if item.get("ticket") == ticket:
                        item["sla_state"] = (
                            "closed"
                            if item.get("status") == "closed"
                            else review.sla_state(_parse_time(item.get("sla_due_at")), self._clock.now())
                        )
                        return item
                if page * 100 >= answer.get("total", 0) or page >= 20:
                    break
                page += 1
        raise UpstreamError(404, "complaint_not_found", "no complaint with this ticket")

    async def reply(self, token: str, ticket: str, text: str) -> dict[str, Any]:
        return await self.services.reply(token, ticket, text.strip())

    async def close(self, token: str, ticket: str, resolution: str) -> dict[str, Any]:
        return await self.services.close_complaint(token, ticket, resolution.strip())

    # --- reconciliation -----------------------------------------------------------------

    async def reconciliations(self, token: str, bank_code: str | None, day: str | None) -> dict[str, Any]:
        answer = await self.services.reconciliations(token, bank_code or None, day or None, 200)
        items = answer.get("items", [])
        days: dict[str, list[dict[str, Any]]] = {}
        for item in sorted(items, key=lambda r: (r.get("business_date", ""), r.get("bank_code", "")), reverse=True):
            days.setdefault(str(item.get("business_date")), []).append(item)
        return {"days": days, "total": len(items), "banks": sorted({i.get("bank_code", "") for i in items})}

    async def reconciliation(self, token: str, reconciliation_id: str) -> dict[str, Any]:
        return await self.services.reconciliation(token, reconciliation_id)

    async def run_reconciliation(self, token: str, bank_code: str, day: str) -> dict[str, Any]:
        try:
            date.fromisoformat(day)
        except ValueError as exc:
            raise UpstreamError(422, "invalid_date", "the business day must be a date (YYYY-MM-DD)") from exc
        return await self.services.run_reconciliation(token, bank_code, day)

    # --- dashboard ----------------------------------------------------------------------

    async def dashboard(self, token: str, roles: frozenset[str], labels: dict[str, str]) -> dict[str, Any]:
        upstreams = self.services.upstreams
        by_status = await self.services.metric_samples(upstreams.claims_metrics, "claims_by_status")
        breaches = await self.services.metric_samples(upstreams.claims_metrics, "claims_sla_breaches")
        initiated = await self.services.metric_samples(upstreams.payout_metrics, "domain_events")
        statuses = {s: 0 for s in CLAIM_STATUSES}
        for sample_labels, value in by_status:
            # Every claims worker reports the same totals: the largest, not the sum.
            status = sample_labels.get("status", "?")
            statuses[status] = max(statuses.get(status, 0), int(value))
        breach_by_reason: dict[str, int] = {}
        for sample_labels, value in breaches:
            reason = sample_labels.get("reason", "?")
            breach_by_reason[reason] = breach_by_reason.get(reason, 0) + int(value)
        rails = {r: 0 for r in RAILS}
        for sample_labels, value in initiated:
            if sample_labels.get("type") == PAYOUT_INITIATED:
                rail = sample_labels.get("detail") or "?"
                rails[rail] = rails.get(rail, 0) + int(value)
        charts: list[BarChart] = [
            bar_chart(labels["claims_by_status"], statuses),
            bar_chart(labels["sla_breaches"], breach_by_reason or {labels["none"]: 0}),
            bar_chart(labels["payouts_by_rail"], rails),
        ]
        # Each figure on its own: a service that is down blanks its tile, not the dashboard.
        overdue_in_review = complaints_overdue = None
        unavailable: list[str] = []
        if "officer" in roles:
            try:
                overdue_in_review = (await self.services.review_queue(token, None, True, 1, 1)).get("total", 0)
            except UpstreamError:
                unavailable.append("claims")
            try:
                open_complaints = (await self.services.complaints(token, "open", 1, 100)).get("items", [])
                complaints_overdue = sum(1 for c in open_complaints if c.get("sla_breached"))
            except UpstreamError:
                unavailable.append("helpdesk")
        week_ago = (self._clock.now() - timedelta(days=7)).date()
        recent: list[dict[str, Any]] | None = None
        try:
            recent = [
                r
                for r in (await self.services.reconciliations(token, None, None, 200)).get("items", [])
                if str(r.get("business_date", "")) >= week_ago.isoformat()
            ]
        except UpstreamError:
            unavailable.append("payout")
        return {
            "charts": charts,
            "overdue_in_review": overdue_in_review,
            "complaints_overdue": complaints_overdue,
            "reconciliations_week": len(recent) if recent is not None else None,
            "reconciliations_with_mismatches": sum(1 for r in recent if r.get("status") != "clean")
            if recent is not None
            else None,
            "metrics_available": bool(by_status or initiated),
            "unavailable": unavailable,
            "is_officer": "officer" in roles,
        }
