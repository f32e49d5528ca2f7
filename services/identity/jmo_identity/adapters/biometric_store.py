"""Face verifications and the reference embedding of each member's KTP photo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_shared.mongo import Database

from ..domain.biometrics import ACCOUNT_RECOVERY

VERIFICATIONS = "face_verifications"
REFERENCES = "reference_faces"


@dataclass(frozen=True)
class Reference:
    nik: str
    photo_sha256: str
    model_version: str
    embedding: list[float]
    face_hash: str | None  # None: stored before copies were checked
    # Corners of the face crop (face/fingerprint.py); None: stored before they were, recomputed on next use.
    face_keypoints: str | None = None


@dataclass(frozen=True)
class Verification:
    verification_id: str
    member_id: str
    nik: str
    purpose: str
    matched: bool
    score: float
    threshold: float
    quality: dict[str, Any]
    model_version: str
    selfie_sha256: str
    created_at: datetime
    expires_at: datetime
    budget_day: date


class BiometricStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def reference(self, nik: str) -> Reference | None:
        doc = await self._db[REFERENCES].find_one({"_id": nik})
        if doc is None:
            return None
        return Reference(
            nik,
            doc["photo_sha256"],
            doc["model_version"],
            list(doc["embedding"]),
            doc.get("face_hash"),
            doc.get("face_keypoints"),
        )

    async def save_reference(self, ref: Reference, at: datetime) -> None:
        await self._db[REFERENCES].replace_one(
            {"_id": ref.nik},
            {
                "_id": ref.nik,
                "photo_sha256": ref.photo_sha256,
                "model_version": ref.model_version,
                "embedding": ref.embedding,
                "face_hash": ref.face_hash,
                "face_keypoints": ref.face_keypoints,
                "created_at": at,
            },
            upsert=True,
        )

    async def non_matches_on(self, member_id: str, day: date, recovery: bool = False) -> int:
        """Non-matches of the member that day: of account recoveries, or of everything else.

        Counted apart so that a stranger failing to recover someone's account
        cannot spend that member's own budget for the day.
        """
        purpose = ACCOUNT_RECOVERY if recovery else {"$ne": ACCOUNT_RECOVERY}
        return await self._db[VERIFICATIONS].count_documents(
            {"member_id": member_id, "budget_day": day.isoformat(), "matched": False, "purpose": purpose}
        )

    async def selfie_seen(self, member_id: str, selfie_sha256: str) -> bool:
        found = await self._db[VERIFICATIONS].find_one(
            {"member_id": member_id, "selfie_sha256": selfie_sha256}, {"_id": 1}
        )
        return found is not None

    async def add(self, v: Verification, session: AsyncClientSession) -> None:
        await self._db[VERIFICATIONS].insert_one(
            {
                "_id": v.verification_id,
                "member_id": v.member_id,
                "nik": v.nik,
                "purpose": v.purpose,
                "matched": v.matched,
                "score": v.score,
                "threshold": v.threshold,
                "quality": v.quality,
                "model_version": v.model_version,
                "selfie_sha256": v.selfie_sha256,
                "created_at": v.created_at,
                "expires_at": v.expires_at,
                "budget_day": v.budget_day.isoformat(),
            },
            session=session,
        )
