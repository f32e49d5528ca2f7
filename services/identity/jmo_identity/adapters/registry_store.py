"""The registry projection: per NIK, the KPJ cards and the population record (with the KTP photo)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bson import Binary
from pymongo.asynchronous.client_session import AsyncClientSession

from jmo_shared.mongo import Database

from ..domain.registry import Card, Person, RegistryEntry

REGISTRY = "registry"
KTP_PHOTOS = "ktp_photos"


@dataclass(frozen=True)
class KtpPhoto:
    nik: str
    photo: bytes
    sha256: str


class RegistryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_card(
        self,
        *,
        nik: str,
        kpj: str,
        full_name: str,
        birth_date: date,
        employer_id: str,
        employer_name: str,
        registered_on: date,
        at: datetime,
        session: AsyncClientSession,
    ) -> None:
        # One field per KPJ: a redelivered or repeated card overwrites itself, never duplicates.
        card = {
            "kpj": kpj,
            "full_name": full_name,
            "birth_date": birth_date.isoformat(),
            "employer_id": employer_id,
            "employer_name": employer_name,
            "registered_on": registered_on.isoformat(),
        }
        await self._db[REGISTRY].update_one(
            {"_id": nik}, {"$set": {f"cards.{kpj}": card, "updated_at": at}}, upsert=True, session=session
        )

    async def record_person(
        self,
        *,
        nik: str,
        person: dict[str, Any],
        photo_b64: str,
        at: datetime,
        session: AsyncClientSession,
    ) -> bool:
        """Store the population record; returns False when its photo could not be decoded (kept the old one)."""
        await self._db[REGISTRY].update_one(
            {"_id": nik},
            {"$set": {"person": {**person, "recorded_at": at}, "updated_at": at}},
            upsert=True,
            session=session,
        )
        if not photo_b64:
            # A record without a photo says nothing about the photo: keep the one we have.
            return True
        try:
            photo = base64.b64decode(photo_b64, validate=True)
        except (binascii.Error, ValueError):
            return False
        await self._db[KTP_PHOTOS].replace_one(
            {"_id": nik},
            {"_id": nik, "photo": Binary(photo), "sha256": hashlib.sha256(photo).hexdigest(), "updated_at": at},
            upsert=True,
            session=session,
        )
        return True

    async def entry(self, nik: str) -> RegistryEntry | None:
        doc = await self._db[REGISTRY].find_one({"_id": nik})
        if doc is None:
            return None
        cards = tuple(
            Card(kpj=c["kpj"], full_name=c["full_name"], birth_date=date.fromisoformat(c["birth_date"]))
            for c in (doc.get("cards") or {}).values()
        )
        p = doc.get("person")
        person = (
            Person(full_name=p["full_name"], birth_date=date.fromisoformat(p["birth_date"]), sex=p["sex"])
            if p
            else None
        )
        return RegistryEntry(nik=nik, cards=cards, person=person)

    async def ktp_photo_sha256(self, nik: str) -> str | None:
        doc = await self._db[KTP_PHOTOS].find_one({"_id": nik}, {"sha256": 1})
        return doc["sha256"] if doc else None

    async def ktp_photo(self, nik: str) -> KtpPhoto | None:
        doc = await self._db[KTP_PHOTOS].find_one({"_id": nik})
        if doc is None or not doc.get("photo"):
            return None
        return KtpPhoto(nik=nik, photo=bytes(doc["photo"]), sha256=doc["sha256"])
