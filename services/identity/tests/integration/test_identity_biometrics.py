"""Face verification with real photos: the KTP photo arrives on population.records, selfies over HTTP."""

from __future__ import annotations

import io

import jwt
import pytest

from jmo_shared.events import FaceVerified
from jmo_shared.topics import IDENTITY_EVENTS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning"),
]

PATH = "/v1/biometrics/verifications"


@pytest.fixture(scope="module")
def settings_overrides() -> dict:
    # A small budget so the video-call fallback is reachable in a test.
    return {"face_daily_retry_budget": 2}


async def enrol(api, feed, people, register_when_known, photo: bytes) -> dict[str, str]:
    """A registered, logged-in member whose population record carries `photo` as the KTP photo."""
    person = people()
    await feed(*person.card_events(), person.person_event(photo=photo))
    resp = await register_when_known(person.registration())
    assert resp.status_code == 201, resp.text
    login = await api.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    token = login.json()["access_token"]
    return {"Authorization": f"Bearer {token}", "member_id": resp.json()["member_id"], "nik": person.nik}


def auth(member: dict[str, str]) -> dict[str, str]:
    return {"Authorization": member["Authorization"]}


async def verify(api, member, image: bytes, purpose: str = "claim", name: str = "selfie.jpg"):
    return await api.post(
        PATH, headers=auth(member), files={"selfie": (name, image, "image/jpeg")}, data={"purpose": purpose}
    )


def blank_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 640), (235, 235, 235)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def person_a(api, feed, people, register_when_known, photos, ktp):
    return await enrol(api, feed, people, register_when_known, ktp(photos["person_a_1"]))


async def test_the_same_person_matches_and_faceverified_is_emitted(api, person_a, photos, tap):
    events = await tap(IDENTITY_EVENTS)

    resp = await verify(api, person_a, photos["person_a_2"].read_bytes())

    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["matched"] is True and body["score"] >= body["threshold"] == 0.5
    assert body["model_version"] and body["quality"]
    # The verification_id is the match signed with identity's published key, for the other services.
    assertion = await signed_assertion(api, body["verification_id"])
    assert (assertion["sub"], assertion["nik"], assertion["purpose"]) == (
        person_a["member_id"],
        person_a["nik"],
        "claim",
    )
    assert assertion["score"] == body["score"] and assertion["model"] == body["model_version"]
    assert assertion["exp"] - assertion["iat"] in (599, 600, 601)
    event = await events.find(
        lambda e: e.type == FaceVerified.event_type and e.data["verification_id"] == assertion["jti"]
    )
    data = FaceVerified.model_validate(event.data)
    assert (data.member_id, data.nik, data.purpose) == (person_a["member_id"], person_a["nik"], "claim")
    assert data.score == body["score"] and data.expires_at.isoformat().startswith(body["expires_at"][:16])
    assert (data.expires_at - data.verified_at).total_seconds() == 600


async def signed_assertion(api, token: str) -> dict:
    jwks = (await api.get("/.well-known/jwks.json")).json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="jmo-face-verification")
    assert claims["typ"] == "face_verification"
    return claims


async def test_a_changed_bank_account_asks_for_a_closer_match(api, person_a, photos):
    resp = await verify(api, person_a, photos["person_a_3"].read_bytes(), purpose="bank_account_change")
    assert resp.status_code == 201, resp.text
    assert resp.json()["threshold"] == 0.6


async def test_another_person_does_not_match_and_emits_only_the_refusal(api, person_a, photos, tap):
    events = await tap(IDENTITY_EVENTS)

    resp = await verify(api, person_a, photos["person_b_1"].read_bytes())

    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["matched"] is False and body["score"] < body["threshold"]
    # No FaceVerified; a FaceMatchRefused for the risk service's burst rules (no verification id in it).
    refused = await events.find(
        lambda e: e.type == "jht.identity.FaceMatchRefused.v1" and e.data["nik"] == person_a["nik"]
    )
    assert refused.data["outcome"] == "not_matched" and refused.data["client_address"]
    await events.absent(lambda e: e.data.get("verification_id") == body["verification_id"], seconds=3)


async def test_bad_captures_answer_422_with_a_hint_and_do_not_use_the_budget(api, person_a, photos):
    blank = await verify(api, person_a, blank_png(), name="blank.png")
    assert blank.status_code == 422
    assert blank.json()["code"] == "no_face" and blank.json()["hint"]
    assert blank.json()["errors"][0]["field"] == "selfie"

    text = await verify(api, person_a, b"this is not a photo at all", name="notes.txt")
    assert text.status_code == 422 and text.json()["code"] == "not_an_image"

    # Four refused captures later, the member still has the whole budget of 2 non-matches.
    for _ in range(2):
        assert (await verify(api, person_a, blank_png())).json()["code"] == "no_face"
    # Two other people (two different photos: the same bytes twice would be refused as a replay).
    for other in ("person_b_1", "astronaut"):
        assert (await verify(api, person_a, photos[other].read_bytes())).json()["matched"] is False

    # Budget spent: the video call, not a lock.
    fallback = await verify(api, person_a, photos["person_a_2"].read_bytes())
    assert fallback.status_code == 409
    assert fallback.json()["code"] == "needs_video_call" and "video call" in fallback.json()["detail"].lower()
    assert fallback.json()["retry_after"] > 0


async def test_a_member_without_a_ktp_photo_gets_no_reference_photo(api, feed, people, register_when_known, photos):
    member = await enrol(api, feed, people, register_when_known, photo=b"")
    resp = await verify(api, member, photos["person_a_2"].read_bytes())
    assert resp.status_code == 409 and resp.json()["code"] == "no_reference_photo"


async def test_an_oversized_upload_is_refused_before_it_is_read(api, person_a):
    big = b"\xff\xd8" + b"\0" * (10 * 1024 * 1024 + 100_000)
    resp = await verify(api, person_a, big)
    assert resp.status_code == 422 and resp.json()["code"] == "image_too_large"


async def test_the_token_decides_whose_face_is_checked(api, person_a, photos, feed, people, register_when_known, ktp):
    # A's face, sent with B's token, is compared with B's KTP photo (not A's, which it would match).
    # (There is one photo of B only, and a copy of the KTP photo is refused as such.)
    person_b = await enrol(api, feed, people, register_when_known, ktp(photos["person_b_1"], width=600))
    as_b = await verify(api, person_b, photos["person_a_2"].read_bytes())
    assert as_b.status_code == 201 and as_b.json()["matched"] is False
    as_a = await verify(api, person_a, photos["person_a_2"].read_bytes())
    assert as_a.status_code == 201 and as_a.json()["matched"] is True


async def test_verification_needs_a_member_token_and_a_known_purpose(api, person_a, photos):
    selfie = photos["person_a_2"].read_bytes()
    anonymous = await api.post(PATH, files={"selfie": ("s.jpg", selfie, "image/jpeg")}, data={"purpose": "claim"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_token"
    odd = await verify(api, person_a, selfie, purpose="dating")
    assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "purpose"
    missing = await api.post(PATH, headers=auth(person_a), data={"purpose": "claim"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "selfie"


async def test_the_same_selfie_sent_again_is_refused_and_not_counted(api, person_a, photos):
    selfie = photos["person_a_2"].read_bytes()
    assert (await verify(api, person_a, selfie)).json()["matched"] is True
    other = photos["person_b_1"].read_bytes()
    assert (await verify(api, person_a, other)).json()["matched"] is False

    for replay in (selfie, other):  # matched or not, the bytes were seen
        resp = await verify(api, person_a, replay, purpose="profile_update")
        assert resp.status_code == 422
        assert resp.json()["code"] == "selfie_replayed" and resp.json()["hint"] and resp.json()["hint_id"]
        assert resp.json()["errors"][0]["field"] == "selfie"
    # Neither replay used the budget of 2 non-matches: one is left.
    assert (await verify(api, person_a, photos["astronaut"].read_bytes())).json()["matched"] is False
    assert (await verify(api, person_a, photos["person_a_3"].read_bytes())).status_code == 409


async def test_the_ktp_photo_or_a_copy_of_it_is_not_a_selfie(api, person_a, photos, ktp):
    from PIL import Image, ImageEnhance

    photo = ktp(photos["person_a_1"])
    same = await verify(api, person_a, photo)
    assert same.status_code == 422 and same.json()["code"] == "selfie_is_reference_photo"

    image = Image.open(io.BytesIO(photo))
    copies = {
        "resized": image.resize((image.width * 2, image.height * 2)),
        "brighter": ImageEnhance.Brightness(image.resize((image.width * 2, image.height * 2))).enhance(1.25),
        "cropped": image.crop((30, 20, image.width - 30, image.height - 20)).resize(
            (image.width * 2, image.height * 2)
        ),
    }
    for name, copy in copies.items():
        buf = io.BytesIO()
        copy.save(buf, format="JPEG", quality=75)
        resp = await verify(api, person_a, buf.getvalue())
        assert resp.status_code == 422 and resp.json()["code"] == "selfie_is_reference_photo", name

    # The original, independent photo of the same face is a match as usual.
    assert (await verify(api, person_a, photos["person_a_3"].read_bytes())).json()["matched"] is True


@pytest.fixture(scope="module")
def people_set() -> dict:
    """Several independent photos per person (jmo_identity.face.sample_photos.people_photos, fetched offline)."""
    from jmo_identity.face.sample_photos import people_photos

    return people_photos()


async def test_another_photo_of_the_person_is_no_copy_even_when_it_looks_alike(
    api, feed, people, register_when_known, people_set, ktp
):
    # Two independent photos of one man, both frontal, tightly framed, same expression: the
    # difference hash of their face crops is 2 bits apart, which used to refuse the second as
    # a copy of the first. Few of their crops' corners match (11), so it is a new capture.
    photos = {p.name: p for p in people_set["john_schneider"]}
    member = await enrol(api, feed, people, register_when_known, ktp(photos["000307_00925823.jpg"]))

    resp = await verify(api, member, photos["000331_00926012.jpg"].read_bytes())

    assert resp.status_code == 201, resp.text
    assert resp.json()["matched"] is True


async def test_recaptures_of_the_ktp_photo_are_refused_as_copies(
    api, feed, people, register_when_known, people_set, ktp
):
    from PIL import Image, ImageEnhance

    photos = {p.name: p for p in people_set["john_schneider"]}
    reference = ktp(photos["000307_00925823.jpg"])
    member = await enrol(api, feed, people, register_when_known, reference)
    image = Image.open(io.BytesIO(reference)).convert("RGB")
    big = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    recaptures = {
        "greyscale": big.convert("L"),
        "rotated 4 degrees": big.rotate(4, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128)),
        "darkened": ImageEnhance.Brightness(big).enhance(0.6),
        "re-encoded": image,
    }
    for name, copy in recaptures.items():
        buf = io.BytesIO()
        copy.save(buf, format="JPEG", quality=40 if name == "re-encoded" else 85)
        resp = await verify(api, member, buf.getvalue())
        assert resp.status_code == 422, (name, resp.text)
        assert resp.json()["code"] == "selfie_is_reference_photo", name

    # Refused copies use none of the budget of two non-matches: the member still matches.
    assert (await verify(api, member, photos["000331_00926012.jpg"].read_bytes())).json()["matched"] is True
