"""Complaints through the API: filing, the member's view, officers' answers, SLA breaches, ComplaintFiled."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from helpdesk_harness import HelpdeskTap, Member, helpdesk, officer_headers, settings_for

from jmo_helpdesk.domain.complaints import ticket_year
from jmo_shared.clock import FixedClock
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    settings = settings_for(infra, token_issuer, f"t_helpdesk_{uuid.uuid4().hex[:10]}")
    async with HelpdeskTap(infra.kafka_bootstrap) as tap, helpdesk(settings) as (api, worker):
        yield api, worker, tap, token_issuer


async def file(api, m: Member, issuer, key: str | None = None, **body):
    payload = {"category": "claim", "text": "Klaim saya belum dibayar sejak dua minggu."} | body
    headers = m.headers(issuer) | {"Idempotency-Key": key or uuid.uuid4().hex}
    return await api.post("/v1/complaints", json=payload, headers=headers)


async def test_lifecycle_from_filing_to_closing(env) -> None:
    api, worker, tap, issuer = env
    m = Member()
    before = datetime.now(UTC)
    filed = await file(api, m, issuer, claim_id="clm-123")
    assert filed.status_code == 201, filed.text
    answer = filed.json()
    assert re.fullmatch(rf"HD-{ticket_year(before)}-\d{{6}}", answer["ticket"])
    assert answer["status"] == "open"
    due = datetime.fromisoformat(answer["sla_due_at"])
    assert timedelta(hours=71, minutes=59) < due - before < timedelta(hours=72, minutes=1)
    ticket = answer["ticket"]

    mine = (await api.get("/v1/complaints", headers=m.headers(issuer))).json()["complaints"]
    assert [c["ticket"] for c in mine] == [ticket]
    officer = officer_headers(issuer)
    queue = (
        await api.get("/v1/officer/complaints", params={"status": "open", "page_size": 100}, headers=officer)
    ).json()
    assert ticket in [c["ticket"] for c in queue["items"]]
    assert next(c for c in queue["items"] if c["ticket"] == ticket)["member_id"] == m.member_id

    replied = await api.post(
        f"/v1/officer/complaints/{ticket}/replies", json={"text": "Sedang kami periksa."}, headers=officer
    )
    assert replied.status_code == 200 and replied.json()["status"] == "answered"
    seen = (await api.get(f"/v1/complaints/{ticket}", headers=m.headers(issuer))).json()
    assert seen["status"] == "answered"
    assert [(r["author"], r["text"]) for r in seen["replies"]] == [("officer", "Sedang kami periksa.")]
    assert "author_id" not in seen["replies"][0]

    closed = await api.post(
        f"/v1/officer/complaints/{ticket}/close", json={"resolution": "Dibayar 3 Maret."}, headers=officer
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = await api.post(f"/v1/officer/complaints/{ticket}/close", json={"resolution": "x"}, headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "complaint_closed"
    late_reply = await api.post(f"/v1/officer/complaints/{ticket}/replies", json={"text": "x"}, headers=officer)
    assert late_reply.status_code == 409
    final = (await api.get(f"/v1/complaints/{ticket}", headers=m.headers(issuer))).json()
    assert (final["status"], final["resolution"], final["sla_breached"]) == ("closed", "Dibayar 3 Maret.", False)

    # Every officer action is audited, reads included; the refused ones change nothing and leave no row.
    audit = worker.state.helpdesk.runtime.db["officer_audit"]
    actions = [a["action"] async for a in audit.find({"ticket": ticket}).sort("at", 1)]
    assert actions == ["reply", "close"]
    assert await audit.count_documents({"action": "list_complaints", "officer_id": "officer-7"}) >= 1

    # A complaint about a claim is published for the claims service, keyed and shaped as the contract says.
    event = await eventually(lambda: _first(tap.of_member(m.member_id)), timeout=30, message="ComplaintFiled")
    assert event.type == "jht.helpdesk.ComplaintFiled.v1"
    assert event.data | {"filed_at": None} == {
        "ticket": ticket,
        "member_id": m.member_id,
        "claim_id": "clm-123",
        "category": "claim",
        "filed_at": None,
    }


async def _first(items):
    return items[0] if items else None


async def test_tickets_are_unique_and_a_complaint_without_a_claim_emits_nothing(env) -> None:
    api, _worker, tap, issuer = env
    m = Member()
    tickets = []
    for _ in range(3):
        resp = await file(api, m, issuer, category="service")
        assert resp.status_code == 201
        tickets.append(resp.json()["ticket"])
    numbers = [int(t.rsplit("-", 1)[1]) for t in tickets]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    # Filed at the same moment, they contend for the year's counter: still one number each.
    together = await asyncio.gather(*(file(api, Member(), issuer, category="other") for _ in range(8)))
    assert [r.status_code for r in together] == [201] * 8
    assert len({r.json()["ticket"] for r in together} | set(tickets)) == 11
    flagged = await file(api, m, issuer, claim_id="clm-9")  # a later one with a claim, as a marker
    await eventually(lambda: _first(tap.of_member(m.member_id)), timeout=30, message="marker event")
    assert [e.data["ticket"] for e in tap.of_member(m.member_id)] == [flagged.json()["ticket"]]


async def test_filing_takes_an_idempotency_key_and_a_retry_files_nothing_new(env) -> None:
    api, _worker, _tap, issuer = env
    m = Member()
    body = {"category": "service", "text": "Antrean di kantor cabang terlalu lama."}
    keyless = await api.post("/v1/complaints", json=body, headers=m.headers(issuer))
    assert keyless.status_code == 400 and keyless.json()["code"] == "idempotency_key_required"

    first = await file(api, m, issuer, key="retry-1", **body)
    again = await file(api, m, issuer, key="retry-1", **body)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    mine = (await api.get("/v1/complaints", headers=m.headers(issuer))).json()["complaints"]
    assert [c["ticket"] for c in mine] == [first.json()["ticket"]]

    # The key with another complaint is a mistake, not a replay; another member's key is their own.
    other = await file(api, m, issuer, key="retry-1", category="other", text="Sesuatu yang lain sama sekali.")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    stranger = await file(api, Member(), issuer, key="retry-1", **body)
    assert stranger.status_code == 201 and stranger.json()["ticket"] != first.json()["ticket"]
    # A refused filing gives its key back: corrected, the same key files.
    refused = await file(api, m, issuer, key="retry-2", category="weather", text=body["text"])
    assert refused.status_code == 422 and refused.json()["code"] == "validation_failed"
    corrected = await file(api, m, issuer, key="retry-2", **body)
    assert corrected.status_code == 201 and corrected.json()["ticket"] != first.json()["ticket"]


async def test_members_see_only_their_own(env) -> None:
    api, _worker, _tap, issuer = env
    owner, stranger = Member(), Member()
    ticket = (await file(api, owner, issuer)).json()["ticket"]
    hidden = await api.get(f"/v1/complaints/{ticket}", headers=stranger.headers(issuer))
    assert hidden.status_code == 404 and hidden.json()["code"] == "complaint_not_found"
    assert (await api.get("/v1/complaints", headers=stranger.headers(issuer))).json() == {
        "items": [],
        "page": 1,
        "page_size": 20,
        "total": 0,
        "complaints": [],
    }


COMPLAINT_KEYS = {
    "ticket",
    "status",
    "category",
    "text",
    "claim_id",
    "filed_at",
    "sla_due_at",
    "sla_breached",
    "resolution",
    "closed_at",
    "replies",
}


async def test_the_members_complaints_come_in_pages_newest_first(env) -> None:
    api, _worker, _tap, issuer = env
    m = Member()
    tickets = [(await file(api, m, issuer, category=c)).json()["ticket"] for c in ("claim", "payout", "other")]
    officer = officer_headers(issuer)
    await api.post(f"/v1/officer/complaints/{tickets[2]}/replies", json={"text": "Kami bantu."}, headers=officer)
    headers = m.headers(issuer)
    first = (await api.get("/v1/complaints", params={"page_size": 2}, headers=headers)).json()
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 3)
    assert [c["ticket"] for c in first["items"]] == tickets[:0:-1]
    # The old key carries the same page for clients that still read it.
    assert first["complaints"] == first["items"]
    newest = first["items"][0]
    assert set(newest) == COMPLAINT_KEYS and [set(r) for r in newest["replies"]] == [{"author", "text", "at"}]
    assert newest == (await api.get(f"/v1/complaints/{tickets[2]}", headers=headers)).json()
    second = (await api.get("/v1/complaints", params={"page": 2, "page_size": 2}, headers=headers)).json()
    assert [c["ticket"] for c in second["items"]] == [tickets[0]] and second["total"] == 3
    past_the_end = (await api.get("/v1/complaints", params={"page": 5, "page_size": 2}, headers=headers)).json()
    assert past_the_end["items"] == past_the_end["complaints"] == [] and past_the_end["total"] == 3
    too_big = await api.get("/v1/complaints", params={"page_size": 101}, headers=headers)
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "page_size"

    queue = (await api.get("/v1/officer/complaints", params={"page_size": 1}, headers=officer)).json()
    assert set(queue) == {"items", "page", "page_size", "total"} and queue["page_size"] == 1
    assert len(queue["items"]) == 1 and queue["total"] >= 2
    assert set(queue["items"][0]) == COMPLAINT_KEYS | {"member_id"}
    answered = (await api.get("/v1/officer/complaints", params={"status": "answered"}, headers=officer)).json()
    mine = next(c for c in answered["items"] if c["ticket"] == tickets[2])
    assert answered["page_size"] == 20 and [set(r) for r in mine["replies"]] == [{"author", "author_id", "text", "at"}]


async def test_roles_are_enforced(env) -> None:
    api, _worker, _tap, issuer = env
    m = Member()
    ticket = (await file(api, m, issuer)).json()["ticket"]
    member_on_officer = await api.get("/v1/officer/complaints", headers=m.headers(issuer))
    assert member_on_officer.status_code == 403 and member_on_officer.json()["code"] == "forbidden"
    member_closing = await api.post(
        f"/v1/officer/complaints/{ticket}/close", json={"resolution": "mine"}, headers=m.headers(issuer)
    )
    assert member_closing.status_code == 403
    assert (await api.get("/v1/complaints")).status_code == 401
    # An officer token is not a member: it cannot file in someone's name.
    officer_filing = await api.post(
        "/v1/complaints", json={"category": "claim", "text": "0123456789 abc"}, headers=officer_headers(issuer)
    )
    assert officer_filing.status_code == 403
    missing = await api.post(
        "/v1/officer/complaints/HD-1999-000001/replies", json={"text": "hello"}, headers=officer_headers(issuer)
    )
    assert missing.status_code == 404 and missing.json()["code"] == "complaint_not_found"
    bad_status = await api.get("/v1/officer/complaints", params={"status": "lost"}, headers=officer_headers(issuer))
    assert bad_status.status_code == 422


@pytest.mark.parametrize(
    "body,field,code",
    [
        ({"category": "weather"}, "category", "unknown_category"),
        ({"text": "short"}, "text", "too_short"),
        ({"text": None}, "text", "string_type"),
        ({"extra": 1}, "extra", "extra_forbidden"),
    ],
)
async def test_bad_complaints_are_422_with_a_code(env, body, field, code) -> None:
    api, _worker, _tap, issuer = env
    resp = await file(api, Member(), issuer, **body)
    assert resp.status_code == 422, resp.text
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in resp.json()["errors"]]


async def test_the_worker_flags_a_breached_sla_once(infra, token_issuer) -> None:
    """The API files at T; the worker's clock reads T + 100 h, past the 72 h of a claim complaint."""
    settings = settings_for(infra, token_issuer, f"t_helpdesk_{uuid.uuid4().hex[:10]}", sla_sweep_seconds=0.2)
    filed_at = datetime.now(UTC)
    api_clock, worker_clock = FixedClock(filed_at), FixedClock(filed_at + timedelta(hours=100))
    m = Member()
    async with helpdesk(settings, api_clock=api_clock, worker_clock=worker_clock) as (api, worker):
        late = (await file(api, m, token_issuer)).json()["ticket"]
        on_time = (await file(api, m, token_issuer, category="service")).json()["ticket"]  # 120 h

        async def breached():
            body = (await api.get(f"/v1/complaints/{late}", headers=m.headers(token_issuer))).json()
            return body if body["sla_breached"] else None

        await eventually(breached, timeout=20, message="sla breach flagged")
        ok = (await api.get(f"/v1/complaints/{on_time}", headers=m.headers(token_issuer))).json()
        assert ok["sla_breached"] is False
        metrics = (await api.get("/metrics")).text
        assert 'helpdesk_sla_breaches_total{category="claim"}' in metrics
        # Closing a breached complaint later does not count it a second time.
        before = _breaches(metrics)
        api_clock.advance(timedelta(hours=200))
        closed = await api.post(
            f"/v1/officer/complaints/{late}/close", json={"resolution": "done"}, headers=officer_headers(token_issuer)
        )
        assert closed.json()["sla_breached"] is True
        assert _breaches((await api.get("/metrics")).text) == before


def _breaches(metrics: str) -> float:
    line = next(ln for ln in metrics.splitlines() if ln.startswith('helpdesk_sla_breaches_total{category="claim"}'))
    return float(line.rsplit(" ", 1)[1])
