"""A back office on fakes: in-memory sessions, the services answered by an httpx MockTransport."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jmo_backoffice.adapters.services import ServicesClient, Upstreams
from jmo_backoffice.bootstrap import build
from jmo_backoffice.entrypoints.api import create_api
from jmo_backoffice.settings import BackofficeSettings

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def staff_files(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp / "signing-key.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    hasher = PasswordHasher()
    accounts = tmp / "accounts.json"
    accounts.write_text(
        json.dumps(
            {
                "officer-1": {
                    "password_hash": hasher.hash(PASSWORD),
                    "roles": ["officer"],
                    "display_name": "Officer One",
                },
                "ops-1": {"password_hash": hasher.hash(PASSWORD), "roles": ["ops"], "display_name": "Ops One"},
            }
        )
    )
    return accounts, key_file


QUEUE_ITEM = {
    "claim_id": "CLM-1",
    "member_id": "m1",
    "nik": "3171000000000001",
    "kpj": "12345678901",
    "reason": "resignation",
    "status": "NEEDS_REVIEW",
    "reason_code": "above_app_cap",
    "gross_idr": 27_360_000,
    "beneficiary_name": "Siti Aminah",
    "submitted_at": "2026-12-06T01:00:00+00:00",
    "sla_due_at": "2026-12-07T01:00:00+00:00",
    "sla_breached_at": None,
    "escalation_level": 0,
    "escalated_to": None,
}
CLAIM = {
    **QUEUE_ITEM,
    "partial_percent": None,
    "tax_idr": 0,
    "net_idr": 27_360_000,
    "amounts_source": "reservation",
    "estimated": {"gross_idr": 27_360_000, "tax_idr": 0, "net_idr": 27_360_000},
    "document_ids": ["D1", "D2"],
    "payout_id": None,
    "timeline": [
        {
            "status": "SUBMITTED",
            "at": "2026-12-06T01:00:00+00:00",
            "note": "Received.",
            "reason_code": None,
            "kind": "status",
            "actor": "member",
        },
        {
            "status": "NEEDS_REVIEW",
            "at": "2026-12-06T01:00:05+00:00",
            "note": "Above the cap.",
            "reason_code": "above_app_cap",
            "kind": "status",
            "actor": "claims",
        },
    ],
    "complaints": [{"ticket": "HD-2026-000001", "category": "claim", "filed_at": "2026-12-06T02:00:00+00:00"}],
    "bank_account": {
        "bank_code": "014",
        "account_number": "1234567890",
        "account_name": "SITI AMINAH",
        "inquiry_name": "SITI AMINAH",
    },
    "npwp": None,
    "documents": [
        {
            "document_id": "D1",
            "kind": "ktp",
            "kind_name": "KTP",
            "filename": "ktp.png",
            "content_type": "image/png",
            "size": 70,
            "sha256": "x",
            "uploaded_at": None,
            "download": "/v1/review/claims/CLM-1/documents/D1",
        },
        {
            "document_id": "D2",
            "kind": "resignation_letter",
            "kind_name": "Surat pengunduran diri",
            "filename": "letter.pdf",
            "content_type": "application/pdf",
            "size": 50,
            "sha256": "y",
            "uploaded_at": None,
            "download": "/v1/review/claims/CLM-1/documents/D2",
        },
    ],
    "missing_documents": [],
    "field_checks": [
        {
            "field": "full_name",
            "result": "match",
            "message": "same",
            "values": [{"source": "ktp", "value": "Siti Aminah"}, {"source": "profile", "value": "Siti Aminah"}],
        },
        {
            "field": "birth_date",
            "result": "mismatch",
            "message": "differs",
            "values": [{"source": "ktp", "value": "1980-01-01"}, {"source": "card", "value": "1980-01-02"}],
        },
    ],
    "mismatches": ["birth_date"],
    "review": None,
    "next_escalation_at": None,
    "audit": [],
    "risk_flags": [
        {
            "flag_id": "F1",
            "rule": "shared_bank_account",
            "flagged_at": "2026-12-06T01:00:03+00:00",
            "evidence": {"members": 3},
            "status": "open",
            "after_payout": False,
            "cleared_by": None,
            "cleared_at": None,
            "note": "",
        }
    ],
}
COMPLAINT = {
    "ticket": "HD-2026-000001",
    "status": "open",
    "category": "claim",
    "text": "My claim has waited for days.",
    "claim_id": "CLM-1",
    "filed_at": "2026-12-06T02:00:00+00:00",
    "sla_due_at": "2026-12-09T02:00:00+00:00",
    "sla_breached": False,
    "resolution": None,
    "closed_at": None,
    "replies": [],
    "member_id": "m1",
}
RECON = {
    "reconciliation_id": "014-2026-12-06",
    "bank_code": "014",
    "business_date": "2026-12-06",
    "status": "mismatches",
    "run_id": "r1",
    "trigger": "api",
    "started_at": "2026-12-07T01:00:00+00:00",
    "finished_at": None,
    "counts": {"payouts_sent": 3, "settled": 2},
    "totals": {"sent_idr": 3_000_000, "booked_idr": 2_000_000},
    "mismatch_counts": {"sent_not_on_statement": 1},
    "run_count": 1,
    "error": None,
    "mismatches": [
        {
            "code": "sent_not_on_statement",
            "detail": "sent, never booked",
            "payout_id": "P3",
            "claim_id": "CLM-9",
            "end_to_end_id": "E2E3",
            "expected_idr": 1_000_000,
            "booked_idr": None,
            "entry_refs": [],
        }
    ],
    "history": [],
}
CLAIMS_METRICS = """# TYPE claims_by_status gauge
claims_by_status{status="PAID"} 12.0
claims_by_status{status="NEEDS_REVIEW"} 3.0
# TYPE claims_sla_breaches_total counter
claims_sla_breaches_total{reason="resignation"} 2.0
"""
PAYOUT_METRICS = """# TYPE domain_events_total counter
domain_events_total{type="jht.payout.PayoutInitiated.v1",detail="BI_FAST"} 10.0
domain_events_total{type="jht.payout.PayoutInitiated.v1",detail="RTGS"} 1.0
domain_events_total{type="jht.payout.PayoutSettled.v1",detail=""} 9.0
"""


class FakeServices:
    """Records every call; answers like the claims, helpdesk and payout APIs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any] | None, str]] = []
        self.claim = json.loads(json.dumps(CLAIM))
        self.complaint = json.loads(json.dumps(COMPLAINT))

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, body, request.headers.get("authorization", "")))
        path, method = request.url.path, request.method
        if path == "/metrics":
            text = CLAIMS_METRICS if request.url.port == 8104 else PAYOUT_METRICS
            return httpx.Response(200, text=text)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return httpx.Response(401, json={"code": "missing_token"})
        if path == "/v1/review/claims":
            return httpx.Response(200, json={"items": [QUEUE_ITEM], "page": 1, "page_size": 25, "total": 1})
        if path == "/v1/review/reason-codes":
            return httpx.Response(
                200,
                json={
                    "approve": [{"code": "documents_verified", "message": "ok"}],
                    "reject": [{"code": "documents_invalid", "message": "no"}],
                },
            )
        if path == "/v1/review/claims/CLM-1":
            return httpx.Response(200, json=self.claim)
        if path == "/v1/review/claims/CLM-1/documents/D1":
            return httpx.Response(200, content=PNG_1PX, headers={"content-type": "image/png"})
        if path == "/v1/review/claims/CLM-1/documents/D2":
            return httpx.Response(200, content=b"%PDF-1.4\n%%EOF\n", headers={"content-type": "application/pdf"})
        if path == "/v1/review/claims/CLM-1/documents/D3":
            return httpx.Response(200, content=b"<script>", headers={"content-type": "text/html"})
        if path == "/v1/review/claims/CLM-1/decision" and method == "POST":
            self.claim["status"] = "APPROVED"
            return httpx.Response(
                200,
                json={
                    "claim_id": "CLM-1",
                    "status": "APPROVED",
                    "decision": body["decision"],
                    "reason_code": body["reason_code"],
                    "note": body["note"],
                    "decided_by": "officer-1",
                    "decided_at": NOW.isoformat(),
                    "repeated": False,
                },
            )
        if path == "/v1/officer/complaints":
            status = request.url.params.get("status")
            items = [self.complaint] if self.complaint["status"] == status else []
            return httpx.Response(200, json={"items": items, "page": 1, "page_size": 100, "total": len(items)})
        if path.endswith("/replies"):
            self.complaint["replies"].append(
                {"author": "officer", "text": body["text"], "at": NOW.isoformat(), "author_id": "officer-1"}
            )
            self.complaint["status"] = "answered"
            return httpx.Response(200, json=self.complaint)
        if path.endswith("/close"):
            self.complaint.update(status="closed", resolution=body["resolution"], closed_at=NOW.isoformat())
            return httpx.Response(200, json=self.complaint)
        if path == "/v1/risk/flags/F1/clear" and method == "POST":
            self.claim["risk_flags"][0].update(status="cleared", cleared_by="officer-1", note=body["note"])
            return httpx.Response(200, json={"flag_id": "F1", "repeated": False})
        if path == "/v1/reconciliations":
            return httpx.Response(200, json={"items": [RECON]})
        if path == "/v1/reconciliations/014-2026-12-06":
            return httpx.Response(200, json=RECON)
        return httpx.Response(404, json={"code": "not_found", "detail": path})

    def posted(self, suffix: str) -> list[dict[str, Any] | None]:
        return [body for method, path, body, _ in self.calls if method == "POST" and path.endswith(suffix)]


class Clock:
    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def settings_for(tmp: Path, **overrides: Any) -> BackofficeSettings:
    accounts, key_file = staff_files(tmp)
    values: dict[str, Any] = {
        "environment": "test",
        "staff_accounts_file": str(accounts),
        "staff_signing_key_file": str(key_file),
        "claims_url": "http://claims:8004",
        "helpdesk_url": "http://helpdesk:8006",
        "payout_url": "http://payout:8005",
        "risk_url": "http://risk:8008",
        "claims_metrics_urls": ["http://claims:8104/metrics"],
        "payout_metrics_urls": ["http://payout:8105/metrics"],
    }
    values.update(overrides)
    return BackofficeSettings(**values)


def app_on_fakes(settings: BackofficeSettings, fake: FakeServices, clock: Clock | None = None):
    clock = clock or Clock()

    def factory(s: BackofficeSettings):
        services = ServicesClient(
            Upstreams(
                s.claims_url,
                s.helpdesk_url,
                s.payout_url,
                tuple(s.claims_metrics_urls),
                tuple(s.payout_metrics_urls),
                s.risk_url,
            ),
            transport=httpx.MockTransport(fake.handler),
        )
        return build(s, clock, in_memory=True, services=services)

    return create_api(settings, clock, factory=factory)
