"""The back office in a real browser: Debian's chromium driven by Playwright, against the whole system.

A member's claim above the app's cap goes to manual review and the member complains about it;
the seeded officer signs in, opens the queue, opens the claim, looks at its documents, approves
it and watches it reach PAID; then answers and closes the complaint, and looks at the
reconciliation and dashboard pages. Every page is saved as a screenshot (1366x768, the office
screen) under the test's artifacts directory: `$JMO_ARTIFACTS_DIR/backoffice` when set, else
pytest's temporary directory (the path is printed).

Needs /usr/bin/chromium (scripts/install.sh installs Debian's package); Playwright's own browser
download is not used.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from jmo_local.demo import feed_events
from jmo_local.demo_loader import publish_events
from jmo_local.journey import Journey
from jmo_local.ports import free_ports
from jmo_local.proc import ChildProcess
from jmo_local.services import ROOT, backoffice_spec, process_env
from jmo_local.staff import PASSWORDS_FILE
from jmo_shared import httpclient
from jmo_shared.testing import eventually

from .test_claim_flow import resigned_member

# The stack, a member to a claim in review, a payout and a browser on 2 shared cores: more than the default 300 s.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.timeout(900),
    # Checked before the system is built: without a browser there is nothing to drive.
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="/usr/bin/chromium is missing: install Debian's chromium (scripts/install.sh does) "
        "to run the back office's browser test",
    ),
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OFFICE_SCREEN = {"width": 1366, "height": 768}
APP_CAP_IDR = 15_000_000


def member_above_the_cap(today: date):
    """A member whose resignation claim is above the app's Rp15.000.000 cap: it goes to an officer."""
    # 5.7% of Rp20.000.000 for 24 months: about Rp27 million, well above the cap.
    return resigned_member(today, wage_idr=20_000_000, employer=("EMP-0002", "PT Sejahtera Abadi"))


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("JMO_ARTIFACTS_DIR")
    path = Path(chosen) / "backoffice" if chosen else tmp_path_factory.mktemp("backoffice-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nback office screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def backoffice(system) -> Iterator[tuple[str, dict[str, str]]]:
    """The back office on a free port against the shared e2e system; (its URL, the seeded passwords)."""
    specs = list(system.specs.values())
    spec = backoffice_spec(specs, system.data_dir, port=free_ports(1)[0])
    env = {
        **os.environ,
        **process_env(
            spec,
            specs,
            system.kafka_bootstrap,
            system.mongo_uri,
            system.data_dir,
            {"BACKOFFICE_DB_NAME": f"e2e_backoffice_{system.suffix}", "PYTHONFAULTHANDLER": "1"},
        ),
    }
    child = ChildProcess(
        "backoffice", spec.command(), system.log_path("backoffice"), cwd=ROOT, env=env, death_signal=signal.SIGKILL
    )
    try:
        deadline = time.monotonic() + 60
        with httpclient.client(timeout=2) as probe:
            while True:
                if child.poll() is not None:
                    raise RuntimeError(f"backoffice exited with {child.poll()}:\n{system.log_tail('backoffice')}")
                try:
                    if probe.get(f"{spec.url}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"backoffice not ready:\n{system.log_tail('backoffice')}")
                time.sleep(0.2)
        passwords = json.loads((system.data_dir / PASSWORDS_FILE).read_text())
        yield spec.url, passwords
    finally:
        child.stop(timeout=20)


@pytest.fixture
async def browser_page(artifacts: Path) -> AsyncIterator:
    from playwright.async_api import async_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")  # a fresh user-data-dir every run
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport=OFFICE_SCREEN
        )
        page = context.pages[0] if context.pages else await context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            await context.close()


async def claim_in_review(system) -> tuple[Journey, str, str]:
    """A member's claim above the cap, in NEEDS_REVIEW, and a complaint the member filed about it."""
    today = date.today()
    member = member_above_the_cap(today)
    journey = Journey(system.urls, member)
    await journey.open_bank_account()
    await publish_events(system.kafka_bootstrap, feed_events(member, today), source="/test/upstream", progress=False)
    await journey.register()
    await journey.login()
    face = await journey.verify_face("profile_update")
    assert face["matched"] is True, face
    await journey.update_profile(face["verification_id"])
    kpj = member.cards[0].kpj
    contributions = sum(
        e.employer_idr + e.worker_idr
        for e in feed_events(member, today)
        if e.event_type.endswith("ContributionPosted.v1")
    )
    await journey.wait_balance(kpj, contributions)
    eligibility = await journey.wait_claim_ready(kpj, "resignation")
    assert eligibility["estimated"]["gross_idr"] > APP_CAP_IDR, eligibility
    documents = await journey.upload_documents(eligibility["required_documents"])
    claim_face = await journey.verify_face("claim")
    resp = await journey.submit_claim(kpj, "resignation", documents, claim_face["verification_id"])
    assert resp.status_code == 202, resp.text
    claim_id = resp.json()["claim_id"]
    claim = await journey.wait_claim(claim_id, "NEEDS_REVIEW")
    assert claim["reason_code"] == "above_app_cap", claim
    filed = await journey.client.post(
        f"{system.url('helpdesk-api')}/v1/complaints",
        headers={**journey.auth, "Idempotency-Key": uuid.uuid4().hex},
        json={
            "category": "claim",
            "text": "My JHT claim has been waiting for review; when will it be paid?",
            "claim_id": claim_id,
        },
    )
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]

    async def linked():  # claims links the complaint from helpdesk's ComplaintFiled event
        return ticket in [c["ticket"] for c in (await journey.claim(claim_id)).get("complaints", [])]

    await eventually(linked, timeout=60, message=f"complaint {ticket} linked to claim {claim_id}")
    return journey, claim_id, ticket


async def shot(page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


async def test_an_officer_works_a_claim_and_a_complaint_in_the_browser(
    system, backoffice, browser_page, artifacts: Path
) -> None:
    from playwright.async_api import expect

    url, passwords = backoffice
    page = browser_page
    journey, claim_id, ticket = await claim_in_review(system)
    try:
        # Sign in as the seeded officer (Indonesian by default).
        await page.goto(f"{url}/")
        await expect(page.get_by_role("heading", name="Masuk", exact=True)).to_be_visible()
        await shot(page, artifacts, "01-sign-in")
        await page.get_by_label("Nama pengguna").fill("officer-1")
        await page.get_by_label("Kata sandi").fill(passwords["officer-1"])
        await page.get_by_role("button", name="Masuk").click()

        # The review queue, earliest SLA first, with our claim and why it is there.
        await expect(page).to_have_url(f"{url}/queue")
        row = page.locator(f'tr[data-claim-id="{claim_id}"]')
        await expect(row).to_be_visible()
        await expect(row).to_contain_text(journey.member.full_name)
        await expect(row).to_contain_text("Di atas batas klaim aplikasi")
        await shot(page, artifacts, "02-review-queue")
        await page.get_by_label("Sebab klaim").select_option("resignation")
        await page.get_by_role("button", name="Terapkan").click()
        await expect(row).to_be_visible()

        # The claim: member data, checks, documents inline, timeline, the complaint about it.
        await row.get_by_role("link", name=claim_id).click()
        await expect(page.locator("#claim-status")).to_have_text("NEEDS_REVIEW")
        await expect(page.get_by_role("link", name=ticket).first).to_be_visible()
        documents = page.locator("figure.document")
        assert await documents.count() >= 3
        images = page.locator("figure.document img")
        for i in range(await images.count()):
            await images.nth(i).scroll_into_view_if_needed()
            await expect(images.nth(i)).to_have_js_property("complete", True)
            assert await images.nth(i).evaluate("img => img.naturalWidth") > 0, "an image document did not load"
        for i in range(await documents.count()):
            figure = documents.nth(i)
            document_id = await figure.get_attribute("data-document-id")
            answer = await page.request.get(f"{url}/claims/{claim_id}/documents/{document_id}")
            assert answer.status == 200, (document_id, answer.status)
            assert answer.headers["content-type"] == await figure.get_attribute("data-content-type")
        await shot(page, artifacts, "03-claim-in-review")
        first_image = page.locator("figure.document img").first
        await page.goto(await first_image.evaluate("img => img.src"))
        await shot(page, artifacts, "04-document")
        await page.go_back()

        # A risk flag the stream rules may have raised on this member blocks approval: check and clear it.
        while await page.locator("form.clear-flag").count():
            clear = page.locator("form.clear-flag").first
            await clear.get_by_role("textbox").fill("Checked with the member by video call.")
            await clear.get_by_role("button").click()
            await expect(page.locator(".flash-ok")).to_be_visible()

        # Approve with a reason code and a note; the decision's result is shown.
        approve = page.locator("form.decision-approve")
        await approve.get_by_label("Kode alasan").select_option("identity_confirmed")
        await approve.get_by_label("Catatan untuk peserta").fill("Identitas dan dokumen dikonfirmasi lewat video call.")
        await approve.get_by_role("button", name="Setujui").click()
        await expect(page.locator(".flash-ok")).to_contain_text("Keputusan tersimpan")
        await shot(page, artifacts, "05-claim-approved")

        # The claim goes on to payment: the page refreshes itself until PAID.
        await expect(page.locator("#claim-status")).to_have_text("PAID", timeout=120_000)
        await expect(page.locator("#decision-result")).to_contain_text("officer-1")
        await shot(page, artifacts, "06-claim-paid")
        assert (await journey.claim(claim_id))["status"] == "PAID"

        # The complaint: inbox by SLA, its thread, a reply, then closed.
        await page.get_by_role("link", name="Pengaduan", exact=True).click()
        complaint_row = page.locator(f'tr[data-ticket="{ticket}"]')
        await expect(complaint_row).to_be_visible()
        await shot(page, artifacts, "07-complaints-inbox")
        await complaint_row.get_by_role("link", name=ticket).click()
        await page.get_by_label("Balasan untuk peserta").fill("Klaim Anda sudah disetujui dan dibayarkan hari ini.")
        await page.get_by_role("button", name="Kirim balasan").click()
        await expect(page.locator(".flash-ok")).to_contain_text(ticket)
        await expect(page.locator("ol.thread")).to_contain_text("sudah disetujui dan dibayarkan")
        await shot(page, artifacts, "08-complaint-replied")
        await page.get_by_label("Penyelesaian").fill("Klaim dibayar; peserta sudah diberi tahu.")
        await page.get_by_role("button", name="Tutup pengaduan").click()
        await expect(page.locator("#complaint-status")).to_have_text("Ditutup")
        await expect(page.locator("#resolution")).to_contain_text("Klaim dibayar")
        await shot(page, artifacts, "09-complaint-closed")
        seen_by_member = (
            await journey.client.get(f"{system.url('helpdesk-api')}/v1/complaints/{ticket}", headers=journey.auth)
        ).json()
        assert seen_by_member["status"] == "closed" and len(seen_by_member["replies"]) == 1

        # Reconciliation and the dashboard, then the same page in English.
        await page.get_by_role("link", name="Rekonsiliasi", exact=True).click()
        await expect(page.get_by_role("heading", name="Rekonsiliasi pembayaran")).to_be_visible()
        await shot(page, artifacts, "10-reconciliation")
        await page.get_by_role("link", name="Dasbor", exact=True).click()
        await expect(page.locator("svg[role=img]")).to_have_count(3)
        await expect(page.locator("#chart-1 desc")).to_contain_text("PAID")
        await shot(page, artifacts, "11-dashboard")
        await page.get_by_role("link", name="English", exact=True).click()
        await expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await shot(page, artifacts, "12-dashboard-english")

        # Keyboard: the skip link comes first and leads to the content.
        await page.keyboard.press("Tab")
        await expect(page.locator("a.skip")).to_be_focused()

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
        await page.goto(f"{url}/queue")
        await expect(page).to_have_url(f"{url}/signin?next=/queue")
    finally:
        await journey.close()
