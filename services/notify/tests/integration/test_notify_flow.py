"""Events to inbox entries and e-mails, on the real broker, database and an SMTP server (aiosmtpd).

A claim to PAID leaves exactly one "paid" inbox entry and one e-mail; the same event again changes
nothing; an SMTP outage delays the e-mail but does not lose it; after every attempt it is a dead
letter that an operator replays.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import pytest_asyncio
from notify_harness import Member, Publisher, notify, now, ops_headers, settings_for

from jmo_local.ports import free_ports
from jmo_local.smtp import MailServer
from jmo_notify.adapters.collections import DELIVERIES, RECORDED_PUSH
from jmo_shared.events import ClaimStatusChanged, ContactChanged, PayoutFailed
from jmo_shared.events.helpdesk import ComplaintAnswered
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer, tmp_path_factory):
    port = free_ports(1)[0]
    mail = MailServer(tmp_path_factory.mktemp("mail"), port).start()
    settings = settings_for(infra, token_issuer, f"t_notify_{uuid.uuid4().hex[:10]}", port)
    try:
        async with Publisher(infra.kafka_bootstrap) as pub, notify(settings) as (api, worker):
            yield api, worker.state.notify.runtime.db, pub, mail, token_issuer
    finally:
        mail.stop()


def mails_to(mail: MailServer, address: str, kind: str | None = None) -> list:
    return [m for m in mail.messages() if m["To"] == address and (kind is None or m["X-JMO-Kind"] == kind)]


async def inbox(api, member: Member, issuer, **params) -> dict:
    resp = await api.get("/v1/notifications", headers=member.headers(issuer), params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def confirmed_member(pub: Publisher, db) -> Member:
    """Registered, then contacts confirmed in a data update, as notify has projected them: the events
    of a member's claim come minutes later in life, and another topic is not ordered with profile's."""
    m = Member()
    await pub.send(m.registered(now() - timedelta(minutes=10)))
    await pub.send(m.data_updated(now() - timedelta(minutes=5)))
    await eventually(lambda: _contact_confirmed(db, m), timeout=20, message="the confirmed contact")
    return m


async def test_a_paid_claim_is_one_inbox_entry_and_one_email_even_when_the_event_comes_again(env) -> None:
    api, db, pub, mail, issuer = env
    m = await confirmed_member(pub, db)
    claim_id = f"CLM-{uuid.uuid4().hex[:8]}"
    await pub.send(m.claim_submitted(claim_id, now()))
    await pub.send(m.claim_approved(claim_id, 62_500_000, now()))
    # The bank settles minutes after the approval; claims.events is not ordered with payout.events.
    await eventually(
        lambda: db["claims"].find_one({"_id": claim_id, "account_masked": {"$exists": True}}),
        timeout=20,
        message="the approved claim",
    )
    settled = m.payout_settled(claim_id, 62_500_000, 625_000, now())
    event = await pub.send(settled)

    [paid_mail] = await eventually(
        lambda: _async(mails_to(mail, m.email, "claim_paid")), timeout=20, message="the paid e-mail"
    )
    body = paid_mail.get_content()
    assert paid_mail["Subject"] == "Klaim JHT Anda sudah dibayar"
    assert "Rp 61.875.000" in body and "bruto Rp 62.500.000" in body and "BCA ****" + m.account_number[-4:] in body
    assert paid_mail["Message-ID"].strip() == f"<{event.id}.email@jmo.bpjsketenagakerjaan.go.id>"
    assert len(mails_to(mail, m.email, "claim_submitted")) == 1

    # The same event again (a redelivery), then a later one of the member on the same partition:
    # once the later one is in the inbox, the duplicate has been seen and dropped.
    await pub.again(settled, event)
    await pub.send(
        PayoutFailed(payout_id="po-x", claim_id="CLM-other", member_id=m.member_id, reason_code="AC04", failed_at=now())
    )
    await eventually(lambda: _kinds(api, m, issuer, "payout_failed"), timeout=20, message="the later event")
    await eventually(lambda: _async(mails_to(mail, m.email, "payout_failed")), timeout=20)
    page = await inbox(api, m, issuer)
    assert [n["kind"] for n in page["items"]].count("claim_paid") == 1
    assert len(mails_to(mail, m.email, "claim_paid")) == 1
    assert await db[DELIVERIES].count_documents({"notification_id": event.id, "channel": "email"}) == 1
    await eventually(lambda: db[RECORDED_PUSH].find_one({"_id": f"{event.id}:push"}), timeout=10)
    # SMS only for what is urgent by default (a failed payout), and only to a confirmed phone.
    [sms] = await eventually(lambda: db["recorded_sms"].find({"member_id": m.member_id}).to_list(), timeout=10)
    assert sms["kind"] == "payout_failed" and sms["to"] == m.phone


async def test_an_smtp_outage_delays_the_email_without_losing_or_doubling_it(env) -> None:
    api, db, pub, mail, issuer = env
    m = await confirmed_member(pub, db)
    mail.stop()
    try:
        claim_id = f"CLM-{uuid.uuid4().hex[:8]}"
        event = await pub.send(m.claim_submitted(claim_id, now()))
        failing = await eventually(
            lambda: db[DELIVERIES].find_one({"_id": f"{event.id}:email", "attempts": {"$gte": 2}}),
            timeout=20,
            message="failed attempts",
        )
        assert failing["status"] == "pending" and "Connection refused" in failing["last_error"]
        assert mails_to(mail, m.email) == []
    finally:
        mail.start()
    [one] = await eventually(
        lambda: _async(mails_to(mail, m.email, "claim_submitted")), timeout=20, message="the e-mail after the outage"
    )
    assert one["Subject"] == "Klaim JHT Anda kami terima"
    done = await eventually(
        lambda: db[DELIVERIES].find_one({"_id": f"{event.id}:email", "status": "sent"}),
        timeout=10,
        message="the delivery marked sent",
    )
    assert done["attempts"] >= 3
    assert len((await inbox(api, m, issuer))["items"]) == 1


async def test_a_delivery_that_fails_every_attempt_is_a_dead_letter_an_operator_replays(env) -> None:
    api, db, pub, mail, issuer = env
    m = await confirmed_member(pub, db)
    mail.stop()
    try:
        event = await pub.send(
            ComplaintAnswered(ticket="HD-2026-000042", member_id=m.member_id, category="claim", answered_at=now())
        )
        delivery_id = f"{event.id}:email"
        await eventually(
            lambda: db[DELIVERIES].find_one({"_id": delivery_id, "status": "dead"}),
            timeout=20,
            message="the dead letter",
        )
        listed = await api.get("/v1/ops/notifications/dead-letters", headers=ops_headers(issuer))
        assert listed.status_code == 200, listed.text
        assert set(listed.json()) == {"items", "page", "page_size", "total"} and listed.json()["page_size"] == 20
        mine = [d for d in listed.json()["items"] if d["delivery_id"] == delivery_id]
        assert mine and set(mine[0]) == {
            "delivery_id",
            "notification_id",
            "member_id",
            "kind",
            "channel",
            "destination",
            "attempts",
            "last_error",
            "created_at",
            "dead_at",
            "replays",
        }
        one = await api.get(
            "/v1/ops/notifications/dead-letters", headers=ops_headers(issuer), params={"page_size": 1, "page": 1}
        )
        assert len(one.json()["items"]) == 1 and one.json()["total"] == listed.json()["total"]
        assert mine and mine[0]["attempts"] == 5 and mine[0]["destination"].startswith(m.email[0] + "***@")
        refused = await api.get("/v1/ops/notifications/dead-letters", headers=m.headers(issuer))
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    finally:
        mail.start()
    replayed = await api.post(f"/v1/ops/notifications/dead-letters/{delivery_id}/replay", headers=ops_headers(issuer))
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending", replayed.text
    [answered] = await eventually(lambda: _async(mails_to(mail, m.email, "complaint_answered")), timeout=20)
    assert "HD-2026-000042" in answered.get_content()
    again = await api.post(f"/v1/ops/notifications/dead-letters/{delivery_id}/replay", headers=ops_headers(issuer))
    assert again.status_code == 404 and again.json()["code"] == "dead_letter_not_found"


async def test_unconfirmed_contacts_get_nothing_but_security_notices_reach_old_and_new(env) -> None:
    api, db, pub, mail, issuer = env
    m = Member()
    await pub.send(m.registered(now() - timedelta(minutes=10)))  # contacts not confirmed
    await pub.send(m.claim_submitted(f"CLM-{uuid.uuid4().hex[:8]}", now()))
    await eventually(lambda: _kinds(api, m, issuer, "claim_submitted"), timeout=20)
    new_email = f"new-{m.email}"
    changed = await pub.send(
        ContactChanged(
            member_id=m.member_id,
            nik=m.nik,
            email=new_email,
            phone=m.phone,
            cause="recovery",
            changed_at=now(),
            restricted_until=now() + timedelta(days=3),
        )
    )
    await eventually(lambda: _async(mails_to(mail, new_email, "security_contact_changed")), timeout=20)
    [old] = await eventually(lambda: _async(mails_to(mail, m.email, "security_contact_changed")), timeout=20)
    assert old["Subject"] == "Pemberitahuan keamanan: data kontak Anda berubah"
    assert "rekening bank tidak dapat diubah" in old.get_content()
    assert mails_to(mail, m.email, "claim_submitted") == []
    assert await db[DELIVERIES].count_documents({"notification_id": changed.id}) == 3  # old, new, push
    # The new address is confirmed (identity only replaces a contact after its code): it gets what follows.
    await pub.send(ClaimStatusChanged(claim_id="CLM-r", member_id=m.member_id, status="NEEDS_REVIEW", at=now()))
    await eventually(lambda: _async(mails_to(mail, new_email, "claim_needs_review")), timeout=20)


async def test_two_contact_changes_sent_together_each_tell_the_address_before_them(env) -> None:
    api, db, pub, mail, issuer = env
    m = Member()
    await pub.send(m.registered(now() - timedelta(minutes=10)))
    await eventually(lambda: db["contacts"].find_one({"_id": m.member_id}), timeout=20, message="the contacts")
    second, third = f"second-{m.email}", f"third-{m.email}"

    def change(email: str) -> ContactChanged:
        return ContactChanged(
            member_id=m.member_id, nik=m.nik, email=email, phone=m.phone, cause="recovery", changed_at=now()
        )

    # One member's events: one partition, usually one batch, whose contacts are read ahead once.
    await pub.send_together(change(second), change(third))
    await eventually(lambda: _async(mails_to(mail, third, "security_contact_changed")), timeout=20)
    # The second change's notice goes to the address the first one set, not the one before the batch.
    await eventually(lambda: _async(len(mails_to(mail, second, "security_contact_changed")) == 2), timeout=20)
    assert len(mails_to(mail, m.email, "security_contact_changed")) == 1
    assert (await db["contacts"].find_one({"_id": m.member_id}))["email"]["address"] == third


async def test_the_inbox_is_the_members_own_newest_first_and_read_once(env) -> None:
    api, db, pub, mail, issuer = env
    m, other = await confirmed_member(pub, db), Member()
    first = await pub.send(m.claim_submitted("CLM-a", now() - timedelta(minutes=2)))
    await pub.send(ClaimStatusChanged(claim_id="CLM-a", member_id=m.member_id, status="VERIFYING", at=now()))
    await pub.send(ClaimStatusChanged(claim_id="CLM-a", member_id=m.member_id, status="NEEDS_REVIEW", at=now()))
    page = await eventually(lambda: _page_with(api, m, issuer, 2), timeout=20, message="two notifications")
    assert [n["kind"] for n in page["items"]] == ["claim_needs_review", "claim_submitted"]
    assert page["unread"] == 2 and page["total"] == 2
    assert page["items"][1]["claim_id"] == "CLM-a" and page["items"][1]["read"] is False
    second_page = await inbox(api, m, issuer, page=2, page_size=1)
    assert [n["notification_id"] for n in second_page["items"]] == [first.id]
    assert set(second_page) == {"items", "page", "page_size", "total", "unread"}
    assert (second_page["page"], second_page["page_size"], second_page["total"]) == (2, 1, 2)
    # A claim's notice names the claim and nothing else it is not about.
    assert set(second_page["items"][0]) == {
        "notification_id",
        "kind",
        "title",
        "body",
        "lang",
        "claim_id",
        "created_at",
        "read",
        "read_at",
    }
    past_the_end = await inbox(api, m, issuer, page=3, page_size=1)
    assert past_the_end["items"] == [] and (past_the_end["total"], past_the_end["unread"]) == (2, 2)

    read = await api.post(f"/v1/notifications/{first.id}/read", headers=m.headers(issuer))
    assert read.status_code == 200 and read.json()["read"] is True
    read_at = read.json()["read_at"]
    again = await api.post(f"/v1/notifications/{first.id}/read", headers=m.headers(issuer))
    assert again.json()["read_at"] == read_at
    assert (await inbox(api, m, issuer))["unread"] == 1
    theirs = await api.post(f"/v1/notifications/{first.id}/read", headers=other.headers(issuer))
    assert theirs.status_code == 404 and theirs.json()["code"] == "notification_not_found"
    assert theirs.headers["content-type"] == "application/problem+json"
    assert (await inbox(api, other, issuer))["items"] == []
    assert (await api.get("/v1/notifications")).json()["code"] == "missing_token"
    too_big = await api.get("/v1/notifications", headers=m.headers(issuer), params={"page_size": 1000})
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["code"] == "too_large"


async def test_preferences_language_channels_and_quiet_hours(env) -> None:
    api, db, pub, mail, issuer = env
    m = await confirmed_member(pub, db)
    got = (await api.get("/v1/notifications/preferences", headers=m.headers(issuer))).json()
    assert got["language"] == "id" and got["channels"]["claim_paid"] == ["email", "push"]
    assert got["quiet_hours"] is None and got["kinds"]["payout_failed"]["urgent"] is True

    refused = await api.put(
        "/v1/notifications/preferences",
        headers=m.headers(issuer),
        json={
            "language": "fr",
            "channels": {"security_contact_changed": [], "claim_paid": ["fax"]},
            "quiet_hours": {"start": "21:00", "end": "7"},
        },
    )
    assert refused.status_code == 422
    assert {(e["field"], e["code"]) for e in refused.json()["errors"]} == {
        ("language", "unsupported_language"),
        ("channels.security_contact_changed", "not_configurable"),
        ("channels.claim_paid", "unknown_channel"),
        ("quiet_hours", "invalid_time"),
    }

    put = await api.put(
        "/v1/notifications/preferences",
        headers=m.headers(issuer),
        json={"language": "en", "channels": {"claim_submitted": ["push"]}},
    )
    assert put.status_code == 200 and put.json()["channels"]["claim_submitted"] == ["push"]
    event = await pub.send(m.claim_submitted("CLM-en", now()))
    page = await eventually(lambda: _page_with(api, m, issuer, 1), timeout=20)
    assert page["items"][0]["title"] == "Your JHT claim was received" and page["items"][0]["lang"] == "en"
    deliveries = await eventually(lambda: db[DELIVERIES].find({"notification_id": event.id}).to_list(), timeout=10)
    assert [d["channel"] for d in deliveries] == ["push"]

    # Quiet around the clock but for one minute: a non-urgent message waits, an urgent one does not.
    hour = now() + timedelta(hours=7)
    quiet = {"start": f"{(hour - timedelta(minutes=1)):%H:%M}", "end": f"{(hour - timedelta(minutes=2)):%H:%M}"}
    assert (
        await api.put("/v1/notifications/preferences", headers=m.headers(issuer), json={"quiet_hours": quiet})
    ).status_code == 200
    held = await pub.send(m.claim_submitted("CLM-q", now()))
    urgent = await pub.send(
        PayoutFailed(payout_id="po-q", claim_id="CLM-q", member_id=m.member_id, reason_code="AC01", failed_at=now())
    )
    await eventually(lambda: _async(mails_to(mail, m.email, "payout_failed")), timeout=20)
    waiting = await db[DELIVERIES].find_one({"notification_id": held.id, "channel": "push"})
    assert waiting["status"] == "pending" and waiting["next_attempt_at"] > now() + timedelta(hours=23)
    await eventually(lambda: db[DELIVERIES].find_one({"_id": f"{urgent.id}:email", "status": "sent"}), timeout=10)


async def test_old_news_goes_in_the_inbox_but_is_not_sent_out(env) -> None:
    api, db, pub, mail, issuer = env
    m = await confirmed_member(pub, db)
    data = m.claim_submitted("CLM-old", now() - timedelta(days=4))
    event = data.to_event("/test/upstream").model_copy(update={"time": now() - timedelta(days=4)})
    await pub.again(data, event)
    [entry] = (await eventually(lambda: _page_with(api, m, issuer, 1), timeout=20))["items"]
    assert entry["notification_id"] == event.id and entry["kind"] == "claim_submitted"
    assert await db[DELIVERIES].count_documents({"notification_id": event.id}) == 0


async def _async(value):
    return value


async def _kinds(api, m: Member, issuer, kind: str) -> bool:
    return any(n["kind"] == kind for n in (await inbox(api, m, issuer))["items"])


async def _page_with(api, m: Member, issuer, count: int) -> dict | None:
    page = await inbox(api, m, issuer)
    return page if len(page["items"]) >= count else None


async def _contact_confirmed(db, m: Member) -> bool:
    doc = await db["contacts"].find_one({"_id": m.member_id})
    return bool(doc and doc.get("email") and doc["email"]["confirmed"])
