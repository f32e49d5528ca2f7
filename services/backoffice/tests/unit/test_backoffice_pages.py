"""The back office's pages on fakes: they render, forms need their CSRF token, cookies are locked down."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from backoffice_fakes import PASSWORD, Clock, FakeServices, app_on_fakes, settings_for
from fastapi.testclient import TestClient

from jmo_backoffice.entrypoints.i18n import TEXTS

TEMPLATES = Path(__file__).resolve().parents[2] / "jmo_backoffice" / "templates"


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


def client_for(tmp_path: Path, fake: FakeServices, clock: Clock | None = None, **overrides) -> TestClient:
    settings = settings_for(tmp_path, **overrides)
    base = "https://backoffice.test" if settings.cookie_secure else "http://backoffice.test"
    return TestClient(app_on_fakes(settings, fake, clock), base_url=base, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client: TestClient, user: str = "officer-1", password: str = PASSWORD):
    form = client.get("/signin")
    assert form.status_code == 200
    return client.post(
        "/signin", data={"username": user, "password": password, "csrf_token": csrf_of(form.text), "next": "/"}
    )


def test_signing_in_sets_a_secure_httponly_samesite_session_cookie(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        resp = sign_in(client)
        assert resp.status_code == 303 and resp.headers["location"] == "/queue"
        cookie = next(c for c in resp.headers.get_list("set-cookie") if c.startswith("__Host-bo_session="))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite", "path"} <= attributes
        assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower() and "domain" not in attributes
        page = client.get("/queue")
        assert page.status_code == 200 and "Siti Aminah" in page.text


def test_for_local_http_the_cookie_is_not_marked_secure(tmp_path, fake) -> None:
    with client_for(tmp_path, fake, cookie_secure=False) as client:
        resp = sign_in(client)
        cookie = next(c for c in resp.headers.get_list("set-cookie") if c.startswith("bo_session="))
        assert "secure" not in cookie.lower() and "httponly" in cookie.lower()


def test_pages_send_security_headers(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        resp = client.get("/signin")
        assert "frame-ancestors 'self'" in resp.headers["content-security-policy"]
        assert resp.headers["x-frame-options"] == "DENY" and resp.headers["cache-control"] == "no-store"


def test_a_wrong_password_is_refused_and_the_sixth_try_is_locked(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        for _ in range(5):
            assert sign_in(client, password="wrong").status_code == 401
        locked = sign_in(client)  # even the right password, while locked
        assert locked.status_code == 429
        assert not any(c.startswith("__Host-bo_session=") for c in locked.headers.get_list("set-cookie"))


def test_sign_in_without_its_csrf_token_is_refused(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        client.get("/signin")
        resp = client.post("/signin", data={"username": "officer-1", "password": PASSWORD})
        assert resp.status_code == 403
        assert not any("bo_session" in c for c in resp.headers.get_list("set-cookie"))


def test_a_form_without_the_sessions_csrf_token_changes_nothing(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        for data in ({}, {"csrf_token": "forged"}):
            resp = client.post(
                "/claims/CLM-1/decision", data={"decision": "approve", "reason_code": "documents_verified", **data}
            )
            assert resp.status_code == 403
            reply = client.post("/complaints/HD-2026-000001/reply", data={"text": "hello", **data})
            assert reply.status_code == 403
        assert fake.posted("/decision") == [] and fake.posted("/replies") == []
        # Signing out is a form too.
        assert client.post("/signout").status_code == 403
        assert client.get("/queue").status_code == 200


def test_pages_need_a_session(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        resp = client.get("/claims/CLM-1")
        assert resp.status_code == 303 and resp.headers["location"] == "/signin?next=/claims/CLM-1"
        assert fake.calls == []


def test_queue_claim_and_decision_go_through_the_claims_api_with_the_officers_token(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        queue = client.get("/queue?reason=resignation&escalated=no")
        assert "CLM-1" in queue.text and "Rp27.360.000" in queue.text
        assert "Di atas batas klaim aplikasi" in queue.text  # Indonesian by default
        page = client.get("/claims/CLM-1")
        assert page.status_code == 200
        for shown in (
            "SITI AMINAH",
            "birth_date",
            "/claims/CLM-1/documents/D1",
            "/claims/CLM-1/documents/D2",
            "HD-2026-000001",
            "NEEDS_REVIEW",
            'value="documents_verified"',
        ):
            assert shown in page.text, shown
        decided = client.post(
            "/claims/CLM-1/decision",
            data={
                "decision": "approve",
                "reason_code": "documents_verified",
                "note": "Checked by video call.",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert decided.status_code == 303 and decided.headers["location"] == "/claims/CLM-1"
        assert fake.posted("/decision") == [
            {"decision": "approve", "reason_code": "documents_verified", "note": "Checked by video call."}
        ]
        after = client.get("/claims/CLM-1")
        assert "Keputusan tersimpan" in after.text and "APPROVED" in after.text
        tokens = {auth for _, path, _, auth in fake.calls if path.startswith("/v1/review")}
        assert len(tokens) == 1 and next(iter(tokens)).startswith("Bearer ey")


def test_an_open_risk_flag_is_shown_and_cleared_through_the_risk_service(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        page = client.get("/claims/CLM-1")
        assert "shared_bank_account" in page.text and "Bersihkan tanda" in page.text
        cleared = client.post(
            "/claims/CLM-1/risk-flags/F1/clear",
            data={"note": "Same family, checked.", "csrf_token": csrf_of(page.text)},
        )
        assert cleared.status_code == 303 and fake.posted("/v1/risk/flags/F1/clear") == [
            {"note": "Same family, checked."}
        ]
        assert "Tanda risiko F1 dibersihkan" in client.get("/claims/CLM-1").text


def test_documents_are_relayed_inline_and_other_types_are_not(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        image = client.get("/claims/CLM-1/documents/D1")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.headers["content-disposition"] == "inline" and image.content.startswith(b"\x89PNG")
        assert image.headers["x-frame-options"] == "SAMEORIGIN"
        pdf = client.get("/claims/CLM-1/documents/D2")
        assert pdf.headers["content-type"] == "application/pdf"
        assert client.get("/claims/CLM-1/documents/D3").status_code == 415
        assert client.get("/claims/CLM-1/documents/..%2F..%2Fadmin").status_code == 404


def test_complaint_reply_and_close(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        inbox = client.get("/complaints")
        assert "HD-2026-000001" in inbox.text
        page = client.get("/complaints/HD-2026-000001")
        token = csrf_of(page.text)
        client.post("/complaints/HD-2026-000001/reply", data={"text": "We are on it.", "csrf_token": token})
        client.post("/complaints/HD-2026-000001/close", data={"resolution": "Paid.", "csrf_token": token})
        closed = client.get("/complaints/HD-2026-000001")
        assert "We are on it." in closed.text and "Paid." in closed.text and 'id="resolution"' in closed.text


def test_reconciliation_and_dashboard_render(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client, "ops-1")
        listing = client.get("/reconciliations")
        assert "014" in listing.text and "sent_not_on_statement" in listing.text
        report = client.get("/reconciliations/014-2026-12-06")
        assert "CLM-9" in report.text and "Rp1.000.000" in report.text
        dashboard = client.get("/dashboard")
        assert dashboard.status_code == 200 and dashboard.text.count("<svg") == 3
        assert "BI_FAST 10" in dashboard.text and "PAID 12" in dashboard.text and "resignation 2" in dashboard.text
        # ops has no officer role: the claims pages are not theirs.
        assert client.get("/queue").status_code == 403


def test_the_language_switch_turns_the_pages_english(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        switched = client.get("/lang/en?next=/queue")
        assert switched.status_code == 303 and switched.headers["location"] == "/queue"
        page = client.get("/queue")
        assert 'lang="en"' in page.text and "Claims review queue" in page.text and "Above the app" in page.text
        assert client.get("/lang/en?next=//evil.example").headers["location"] == "/"


def test_sign_out_ends_the_session(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        page = client.get("/queue")
        out = client.post("/signout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/signin"
        assert client.get("/queue").status_code == 303


def test_an_idle_session_expires(tmp_path, fake) -> None:
    clock = Clock()
    with client_for(tmp_path, fake, clock) as client:
        sign_in(client)
        clock.advance(1801)
        assert client.get("/queue").status_code == 303


def test_every_word_a_template_asks_for_is_translated() -> None:
    asked = set()
    for template in TEMPLATES.glob("*.html"):
        asked |= set(re.findall(r"""t\(["']([a-z_]+)["']""", template.read_text()))
    prefixes = {key for key in asked if key.endswith("_")}
    missing = sorted(key for key in asked - prefixes if key not in TEXTS)
    assert missing == []


def test_signing_in_again_ends_the_previous_session(tmp_path, fake) -> None:
    with client_for(tmp_path, fake) as client:
        sign_in(client)
        first = client.cookies.get("__Host-bo_session")
        sign_in(client)
        second = client.cookies.get("__Host-bo_session")
        assert first and second and first != second
        client.cookies.clear()
        client.cookies.set("__Host-bo_session", first)
        assert client.get("/queue").status_code == 303
        client.cookies.clear()
        client.cookies.set("__Host-bo_session", second)
        assert client.get("/queue").status_code == 200
