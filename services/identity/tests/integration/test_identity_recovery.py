"""Account recovery (lost phone or e-mail) through the HTTP API: NIK + birth date + a face match
against the KTP photo + a code to the new contact; ContactChanged (cause recovery) on the real topic."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from jmo_shared.events import ContactChanged
from jmo_shared.topics import IDENTITY_EVENTS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]

RECOVERY = "/v1/accounts/recovery"
NEW_PASSWORD = "nasi uduk Kamis 42"


def new_phone() -> str:
    return "+62813" + str(uuid.uuid4().int)[:8]


async def start(
    api,
    person,
    selfie: bytes,
    *,
    channel: str = "phone",
    contact: str | None = None,
    birth_date: str | None = None,
    nik: str | None = None,
):
    return await api.post(
        RECOVERY,
        data={
            "nik": nik or person.nik,
            "birth_date": birth_date or person.birth_date.isoformat(),
            "channel": channel,
            "contact": contact or new_phone(),
        },
        files={"selfie": ("selfie.jpg", selfie, "image/jpeg")},
    )


def reencoded(data: bytes, quality: int = 88) -> bytes:
    """The same capture as another file (what a second shot of the camera would be, byte-wise)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def settings_overrides() -> dict:
    # Every test here comes from the same (in-process) address; the address limit has its own tests.
    return {"client_recovery_max_attempts": 1000}


@pytest.fixture
async def member(enrol, ktp, photos):
    return await enrol(photo=ktp(photos["person_a_1"]))


async def test_a_member_who_lost_the_phone_recovers_the_account(api, member, photos, outbox, tap):
    events = await tap(IDENTITY_EVENTS)
    phone = new_phone()

    started = await start(api, member, photos["person_a_2"].read_bytes(), contact=phone)
    assert started.status_code == 202, started.text
    body = started.json()
    masked = body["sent_to"][0]
    assert body["channel"] == "phone" and masked.startswith(phone[:6]) and masked.endswith(phone[-4:])
    assert phone not in masked
    code = await outbox.code(phone, "account_recovery")

    confirm = f"{RECOVERY}/{body['recovery_id']}/confirm"
    wrong = await api.post(confirm, json={"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "code_invalid"
    done = await api.post(confirm, json={"code": code, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["member_id"] == member.member_id and result["phone"] == phone
    assert result["sessions_ended"] == 1
    until = datetime.fromisoformat(result["restricted_until"])
    assert timedelta(hours=71) < until - datetime.now(UTC) <= timedelta(hours=72)

    # The old login is over; the new password works; the new phone is the confirmed one.
    ended = await api.post("/v1/auth/refresh", json={"refresh_token": member.tokens["refresh_token"]})
    assert ended.status_code == 401 and ended.json()["code"] == "refresh_token_revoked"
    login = await api.post("/v1/auth/login", json={"email": member.email, "password": NEW_PASSWORD})
    assert login.status_code == 200
    me = (await api.get("/v1/accounts/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})).json()
    assert me["phone"] == phone and me["phone_confirmed"] is True
    assert me["restricted_until"] == result["restricted_until"]

    event = await events.find(lambda e: e.type == ContactChanged.event_type and e.subject == member.member_id)
    data = ContactChanged.model_validate(event.data)
    assert (data.cause, data.phone, data.email, data.nik) == ("recovery", phone, member.email, member.nik)
    assert data.restricted_until == until

    again = await api.post(confirm, json={"code": code})
    assert again.status_code == 422 and again.json()["code"] == "code_already_used"


async def test_a_new_email_can_replace_a_lost_one(api, member, photos, outbox):
    email = f"pulih{uuid.uuid4().hex[:8]}@example.id"
    started = await start(api, member, photos["person_a_3"].read_bytes(), channel="email", contact=email)
    assert started.status_code == 202, started.text
    code = await outbox.code(email, "account_recovery")
    done = await api.post(f"{RECOVERY}/{started.json()['recovery_id']}/confirm", json={"code": code})
    assert done.status_code == 200 and done.json()["email"] == email
    # No new password was asked for: the old one still opens the account, under the new e-mail.
    assert (await api.post("/v1/auth/login", json={"email": email, "password": member.password})).status_code == 200


async def test_a_wrong_birth_date_and_an_unknown_nik_answer_alike(api, member, photos, people):
    selfie = photos["person_a_2"].read_bytes()
    wrong_date = await start(api, member, selfie, birth_date=(member.birth_date - timedelta(days=366)).isoformat())
    stranger = people()
    unknown = await start(api, stranger, selfie, birth_date=member.birth_date.isoformat())
    assert wrong_date.status_code == 422 and wrong_date.json()["code"] == "recovery_identity_mismatch"
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["detail"]) == (
        422,
        "recovery_identity_mismatch",
        wrong_date.json()["detail"],
    )


async def test_another_face_does_not_recover_the_account(api, member, photos, outbox):
    phone = new_phone()
    resp = await start(api, member, photos["person_b_1"].read_bytes(), contact=phone)
    assert resp.status_code == 422 and resp.json()["code"] == "face_not_matched"
    assert resp.json()["fallback"] == "video_call" and "score" not in resp.json()
    assert not await outbox.messages(phone)


async def test_the_ktp_photo_itself_or_a_copy_of_it_is_not_a_selfie(api, member, ktp, photos):
    photo = ktp(photos["person_a_1"])
    same = await start(api, member, photo)
    assert same.status_code == 422 and same.json()["code"] == "selfie_is_reference_photo" and same.json()["hint"]

    from PIL import Image

    image = Image.open(io.BytesIO(photo))
    buf = io.BytesIO()
    image.resize((image.width * 2, image.height * 2)).save(buf, format="JPEG", quality=80)
    copy = await start(api, member, buf.getvalue())
    assert copy.status_code == 422 and copy.json()["code"] == "selfie_is_reference_photo"


async def test_a_recovery_selfie_cannot_be_replayed(api, member, photos, outbox):
    selfie = photos["person_a_2"].read_bytes()
    first = await start(api, member, selfie)
    assert first.status_code == 202
    replay = await start(api, member, selfie)
    assert replay.status_code == 422 and replay.json()["code"] == "selfie_replayed"
    # A new capture of the same face (other bytes) is fine.
    assert (await start(api, member, reencoded(selfie))).status_code == 202


async def test_an_unknown_recovery_id_is_refused(api):
    resp = await api.post(f"{RECOVERY}/{uuid.uuid4().hex}/confirm", json={"code": "123456"})
    assert resp.status_code == 404 and resp.json()["code"] == "no_code_pending"


async def test_bad_input_is_a_clear_422(api, member, photos):
    selfie = photos["person_a_2"].read_bytes()
    bad_nik = await start(api, member, selfie, nik="1234")
    assert bad_nik.status_code == 422 and bad_nik.json()["errors"][0]["code"] == "invalid_nik"
    bad_phone = await start(api, member, selfie, contact="12")
    assert bad_phone.status_code == 422 and bad_phone.json()["errors"][0]["code"] == "invalid_phone"
    not_image = await start(api, member, b"plain text, no photo")
    assert not_image.status_code == 422 and not_image.json()["code"] == "not_an_image"
