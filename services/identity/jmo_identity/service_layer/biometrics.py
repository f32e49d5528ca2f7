"""Face verification: a selfie compared with the member's KTP photo from the population registry."""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass

from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.events import FaceMatchRefused, FaceVerified
from jmo_shared.face_assertion import FaceAssertion
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.biometric_store import Reference, Verification
from ..domain.biometrics import ACCOUNT_RECOVERY
from ..metrics import FACE_SECONDS, FACE_VERIFICATIONS
from .context import IdentityContext
from .ports import CaptureRefused

log = get_logger(__name__)


def capture_refused(exc: CaptureRefused) -> DomainError:
    """A bad capture: the member retakes the photo; it is not a mismatch."""
    return DomainError(
        exc.code,
        exc.hint,
        ErrorKind.INVALID,
        [FieldError("selfie", exc.code, exc.hint)],
        extra={"hint": exc.hint, "hint_id": exc.hint_id, "quality": exc.quality},
    )


def _replay_refused(code: str, message: str) -> DomainError:
    """A selfie that is not a new capture: refused, and not counted as a failed match."""
    return DomainError(
        code,
        message,
        ErrorKind.INVALID,
        [FieldError("selfie", code, message)],
        extra={"hint": message, "hint_id": _HINTS_ID[code]},
    )


_HINTS = {
    "selfie_replayed": "this exact photo was already sent; take a new selfie with the camera now",
    "selfie_is_reference_photo": "this is your KTP photo, not a selfie; take a new photo of your face with the camera",
}
_HINTS_ID = {
    "selfie_replayed": "foto ini sudah pernah dikirim; ambil swafoto baru dengan kamera sekarang",
    "selfie_is_reference_photo": "ini foto KTP Anda, bukan swafoto; ambil foto wajah baru dengan kamera",
}


@dataclass(frozen=True)
class Answer:
    verification: Verification
    # What the member passes to profile, balance and claims: for a match, the signed assertion of it
    # (usable at once, jmo_shared.face_assertion); otherwise the plain id, which nobody accepts.
    verification_id: str


async def verify_face(
    ctx: IdentityContext, *, member_id: str, nik: str, purpose: str, selfie: bytes, client: str | None = None
) -> Answer:
    """A member's face match for a purpose; a match emits FaceVerified and is answered as a signed assertion.

    A non-match or a copy refused emits FaceMatchRefused: bursts of them are a fraud pattern (risk service).
    """
    v = await compare(ctx, member_id=member_id, nik=nik, purpose=purpose, selfie=selfie, emit=True, client=client)
    if not v.matched:
        return Answer(v, v.verification_id)
    assertion = FaceAssertion(
        verification_id=v.verification_id,
        member_id=v.member_id,
        nik=v.nik,
        purpose=v.purpose,
        score=v.score,
        model_version=v.model_version,
        verified_at=v.created_at,
        expires_at=v.expires_at,
    )
    return Answer(v, ctx.face_assertions.sign(assertion))


async def compare(
    ctx: IdentityContext,
    *,
    member_id: str,
    nik: str,
    purpose: str,
    selfie: bytes,
    emit: bool,
    client: str | None = None,
) -> Verification:
    """Compare a selfie with the member's KTP photo and store the verification (matched or not)."""
    face = ctx.face
    if face is None or not face.ready:
        raise DomainError(
            "face_engine_unavailable",
            "face verification is unavailable right now; try again later",
            ErrorKind.UNAVAILABLE,
        )
    policy = ctx.face_policy
    now = ctx.clock.now()
    day = policy.budget_day(now)
    recovery = purpose == ACCOUNT_RECOVERY
    if policy.budget_exhausted(await ctx.biometrics.non_matches_on(member_id, day, recovery=recovery)):
        FACE_VERIFICATIONS.labels(purpose, "needs_video_call").inc()
        resets = policy.budget_resets_in(now)
        raise DomainError(
            "needs_video_call",
            f"your face did not match {policy.daily_non_match_budget} times today. Verify with a video call "
            "(Video Call BPJAMSOSTEK in the app) or try again tomorrow; your account is not locked.",
            ErrorKind.CONFLICT,
            extra={"fallback": "video_call", "retry_after": math.ceil(resets.total_seconds())},
        )

    selfie_sha = hashlib.sha256(selfie).hexdigest()
    try:
        await _refuse_known_bytes(ctx, member_id, nik, purpose, selfie_sha)
    except DomainError as exc:
        if emit:
            await _emit_refused(ctx, member_id, nik, purpose, exc.code, client)
        raise
    reference = await _reference(ctx, nik)
    try:
        with FACE_SECONDS.time():
            selfie_face = await face.analyze_selfie(selfie)
    except CaptureRefused as exc:
        FACE_VERIFICATIONS.labels(purpose, exc.code).inc()
        raise capture_refused(exc) from exc

    score = round(face.similarity(selfie_face.embedding, reference.embedding), 4)
    shared = (
        face.matched_keypoints(selfie_face.face_keypoints, reference.face_keypoints)
        if reference.face_keypoints
        else None
    )
    if policy.is_copy_of_reference(score, shared):
        FACE_VERIFICATIONS.labels(purpose, "selfie_is_reference_photo").inc()
        log.warning(
            "selfie_is_reference_photo", member_id=member_id, purpose=purpose, score=score, matched_keypoints=shared
        )
        if emit:
            await _emit_refused(ctx, member_id, nik, purpose, "selfie_is_reference_photo", client)
        raise _replay_refused("selfie_is_reference_photo", _HINTS["selfie_is_reference_photo"])

    threshold = policy.threshold(purpose)
    verification = Verification(
        verification_id=uuid.uuid4().hex,
        member_id=member_id,
        nik=nik,
        purpose=purpose,
        matched=policy.matched(score, purpose),
        score=score,
        threshold=threshold,
        quality=selfie_face.quality,
        model_version=face.model_version,
        selfie_sha256=selfie_sha,
        created_at=now,
        expires_at=now + policy.validity,
        budget_day=day,
    )

    async def work(tx: Tx) -> None:
        await ctx.biometrics.add(verification, tx.session)
        if verification.matched and emit:
            tx.emit(
                FaceVerified(
                    verification_id=verification.verification_id,
                    member_id=member_id,
                    nik=nik,
                    purpose=purpose,
                    score=score,
                    threshold=threshold,
                    model_version=verification.model_version,
                    verified_at=now,
                    expires_at=verification.expires_at,
                ),
                subject=member_id,
            )
        elif emit:
            tx.emit(
                FaceMatchRefused(
                    member_id=member_id,
                    nik=nik,
                    purpose=purpose,
                    outcome="not_matched",
                    client_address=client,
                    refused_at=now,
                ),
                subject=member_id,
            )

    await ctx.db.transaction(work)
    FACE_VERIFICATIONS.labels(purpose, "matched" if verification.matched else "not_matched").inc()
    log.info("face_verification", member_id=member_id, purpose=purpose, matched=verification.matched, score=score)
    return verification


async def _emit_refused(
    ctx: IdentityContext, member_id: str, nik: str, purpose: str, outcome: str, client: str | None
) -> None:
    """Publish a copy refused (through the outbox, in a transaction of its own: nothing else is stored)."""

    async def work(tx: Tx) -> None:
        tx.emit(
            FaceMatchRefused(
                member_id=member_id,
                nik=nik,
                purpose=purpose,
                outcome=outcome,
                client_address=client,
                refused_at=ctx.clock.now(),
            ),
            subject=member_id,
        )

    await ctx.db.transaction(work)


async def _refuse_known_bytes(ctx: IdentityContext, member_id: str, nik: str, purpose: str, selfie_sha: str) -> None:
    """The KTP photo itself, or a selfie this member already sent, byte for byte."""
    if selfie_sha == await ctx.registry.ktp_photo_sha256(nik):
        FACE_VERIFICATIONS.labels(purpose, "selfie_is_reference_photo").inc()
        raise _replay_refused("selfie_is_reference_photo", _HINTS["selfie_is_reference_photo"])
    if ctx.refuse_replayed_selfies and await ctx.biometrics.selfie_seen(member_id, selfie_sha):
        FACE_VERIFICATIONS.labels(purpose, "selfie_replayed").inc()
        log.warning("selfie_replayed", member_id=member_id, purpose=purpose)
        raise _replay_refused("selfie_replayed", _HINTS["selfie_replayed"])


async def _reference(ctx: IdentityContext, nik: str) -> Reference:
    """The KTP photo's embedding: computed once per photo and model, then reused."""
    face = ctx.face
    assert face is not None
    photo_sha = await ctx.registry.ktp_photo_sha256(nik)
    if photo_sha is None:
        raise _no_reference()
    stored = await ctx.biometrics.reference(nik)
    if (
        stored is not None
        and stored.photo_sha256 == photo_sha
        and stored.model_version == face.model_version
        and stored.face_keypoints
    ):
        return stored
    photo = await ctx.registry.ktp_photo(nik)
    if photo is None:
        raise _no_reference()
    try:
        analysis = await face.analyze_reference(photo.photo)
    except CaptureRefused as exc:
        log.warning("ktp_photo_unusable", code=exc.code)
        raise DomainError(
            "reference_photo_unusable",
            "the KTP photo in the population registry cannot be used for face matching; "
            "verify with a video call or at a branch office",
            ErrorKind.CONFLICT,
            extra={"fallback": "video_call"},
        ) from exc
    reference = Reference(
        nik=nik,
        photo_sha256=photo.sha256,
        model_version=face.model_version,
        embedding=analysis.embedding,
        face_hash=analysis.face_hash,
        face_keypoints=analysis.face_keypoints,
    )
    await ctx.biometrics.save_reference(reference, ctx.clock.now())
    return reference


def _no_reference() -> DomainError:
    return DomainError(
        "no_reference_photo",
        "the population registry has no KTP photo for your NIK yet, so your face cannot be matched; "
        "verify with a video call or at a branch office",
        ErrorKind.CONFLICT,
        extra={"fallback": "video_call"},
    )
